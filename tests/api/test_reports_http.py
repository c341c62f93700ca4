"""PDF reports over HTTP: bureau roles get the PDF; figures and head hash match the ledger."""

import io

from pypdf import PdfReader

from ledger.accounts import open_account
from ledger.db import transaction
from ledger.journal import EntryRequest, Move, head, post_entry

LEDGER = "LN-CXQ-2025"


def _ledger(sessions) -> str:
    with transaction(sessions) as s:
        open_account(s, f"{LEDGER}:funding", LEDGER)
        open_account(s, f"{LEDGER}:budget", LEDGER, credits_must_not_exceed_debits=True)
        post_entry(s, EntryRequest((Move(f"{LEDGER}:budget", f"{LEDGER}:funding", 123_456_789),),
                                   flow="appropriate"))
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
    assert "demo-auditor" in text


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
