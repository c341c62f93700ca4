"""PDF reports over HTTP: bureau roles get the PDF; figures and head hash match the ledger."""

import io

from pypdf import PdfReader

from ledger.core.accounts import open_account
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, head, post_entry

LEDGER = "LN-CXQ-2025"


def _ledger(sessions) -> str:
    with transaction(sessions) as s:
        open_account(s, f"{LEDGER}:funding", LEDGER)
        open_account(s, f"{LEDGER}:budget", LEDGER, credits_must_not_exceed_debits=True)
        post_entry(s, EntryRequest((Move(f"{LEDGER}:budget", f"{LEDGER}:funding", 123_456_789),),
                                   flow="appropriate"))
    with transaction(sessions) as s:  # the entry is sealed once its transaction commits
        return head(s)[1]


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_auditor_gets_the_certificate_with_the_ledger_head(client, world, sessions):
    head_hash = _ledger(sessions)
    response = client.get(f"/api/v1/reports/certificate.pdf?program={LEDGER}",
                          headers=world.auth("auditor"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    text = _text(response.content)
    assert "完整性证明" in text
    assert head_hash in text.replace("\n", "")
    # The signed-in user made it: named by display name and sign-in, in the footer and the
    # signature block.
    auditor = world.users["auditor"]
    maker = f"{auditor.display_name}（demo-auditor）"
    assert auditor.display_name != "demo-auditor"
    assert f"生成人：{maker}" in text and f"编制人\n{maker}" in text


def test_operator_gets_the_trial_balance_to_the_fen(client, world, sessions):
    _ledger(sessions)
    response = client.get(f"/api/v1/reports/trial-balance.pdf?program={LEDGER}",
                          headers=world.auth("operator"))
    assert response.status_code == 200
    text = _text(response.content)
    assert "试算平衡表" in text
    assert "1,234,567.89" in text


def test_firm_and_provider_may_not_read_bureau_reports(client, world, sessions):
    _ledger(sessions)
    for who in ("firm", "provider"):
        response = client.get(f"/api/v1/reports/certificate.pdf?program={LEDGER}",
                              headers=world.auth(who))
        assert response.status_code == 403


def test_unknown_kind_and_programme_are_404(client, world, sessions):
    _ledger(sessions)
    auditor = world.auth("auditor")
    unknown = client.get(f"/api/v1/reports/balance-sheet.pdf?program={LEDGER}", headers=auditor)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "kinds: certificate, trial-balance" in unknown.json()["detail"]
    missing = client.get("/api/v1/reports/certificate.pdf?program=NOPE", headers=auditor)
    assert missing.status_code == 404


def test_bad_dates_are_422(client, world, sessions):
    _ledger(sessions)
    auditor = world.auth("auditor")
    base = f"/api/v1/reports/trial-balance.pdf?program={LEDGER}"
    for query in ("&as_of=2025-13-01", "&from=yesterday", "&from=2025-05-01&to=2025-02-01",
                  "&as_of=2025-05-01&from=2025-01-01"):
        response = client.get(base + query, headers=auditor)
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("application/problem+json")


def _year(sessions) -> str:
    from tests.reports.programme_year import CODE, build_year

    build_year(sessions)
    return CODE


def test_every_kind_renders_for_the_bureau(client, world, sessions):
    code = _year(sessions)
    auditor = world.auth("auditor")
    for kind, extra, heading in (("audit", "", "项目审计报告"), ("exceptions", "", "异常报告"),
                                 ("firm-statement", "&firm_id=2", "企业对账单"),
                                 ("provider-statement", "&provider_id=1", "服务机构对账单")):
        response = client.get(f"/api/v1/reports/{kind}.pdf?program={code}&from=2025-01-01{extra}",
                              headers=auditor)
        assert response.status_code == 200, kind
        assert heading in _text(response.content)
    no_party = client.get(f"/api/v1/reports/firm-statement.pdf?program={code}", headers=auditor)
    assert no_party.status_code == 422 and no_party.json()["code"] == "invalid_input"


def test_a_firm_reads_its_own_statement_only(client, world, sessions):
    code = _year(sessions)
    base = f"/api/v1/reports/firm-statement.pdf?program={code}&from=2025-01-01"
    own = client.get(base, headers=world.auth("firm"))  # firm_id defaults to the caller's
    assert own.status_code == 200
    text = _text(own.content)
    assert "沈阳新松智联机器人科技有限公司" in text and "50,000.00" in text
    assert "filename=\"firm-statement-LN-CXQ-2026-1-" in own.headers["content-disposition"]
    assert client.get(base + "&firm_id=1", headers=world.auth("firm")).status_code == 200
    for who, query in (("firm", "&firm_id=2"), ("firm2", "&firm_id=1"),
                       ("firm", "&provider_id=1")):
        other = client.get(base + query, headers=world.auth(who))
        assert other.status_code == 404, (who, query)
        assert other.headers["content-type"].startswith("application/problem+json")
    for kind in ("audit", "exceptions", "provider-statement", "trial-balance"):
        response = client.get(f"/api/v1/reports/{kind}.pdf?program={code}",
                              headers=world.auth("firm"))
        assert response.status_code == 403, kind


def test_a_provider_reads_its_own_statement_only(client, world, sessions):
    code = _year(sessions)
    base = f"/api/v1/reports/provider-statement.pdf?program={code}&from=2025-01-01"
    own = client.get(base + "&provider_id=1", headers=world.auth("provider"))
    assert own.status_code == 200 and "辽宁省检验检测认证中心" in _text(own.content)
    assert client.get(base + "&provider_id=1", headers=world.auth("provider2")).status_code == 404
    assert client.get(base.replace("provider-statement", "firm-statement") + "&firm_id=1",
                      headers=world.auth("provider")).status_code == 403


def test_new_kinds_refuse_bad_dates_with_422(client, world, sessions):
    code = _year(sessions)
    for kind, who in (("audit", "auditor"), ("exceptions", "auditor"),
                      ("firm-statement", "firm")):
        base = f"/api/v1/reports/{kind}.pdf?program={code}&firm_id=1"
        for query in ("&from=2025-02-30", "&to=soon", "&from=2025-05-01&to=2025-02-01"):
            response = client.get(base + query, headers=world.auth(who))
            assert response.status_code == 422, (kind, query)
    bad_id = client.get(f"/api/v1/reports/firm-statement.pdf?program={code}&firm_id=0",
                        headers=world.auth("auditor"))
    assert bad_id.status_code == 422


def test_the_audit_is_as_of_the_day_the_query_names(client, world, sessions):
    import datetime as dt

    from ledger.core.acting import today

    code = _year(sessions)  # posted today, by the services
    auditor = world.auth("auditor")
    yesterday, day = today() - dt.timedelta(days=1), today().isoformat()
    for query, end, appropriated in ((f"&as_of={yesterday}", yesterday.isoformat(), "0.00"),
                                     (f"&from=2025-01-01&to={day}", day, "1,000,000.00")):
        response = client.get(f"/api/v1/reports/audit.pdf?program={code}{query}",
                              headers=auditor)
        assert response.status_code == 200, query
        text = _text(response.content)
        assert f"一、预算概况（截至 {end} 日终）" in text, query
        assert f"拨入预算\n{appropriated}" in text, query
