"""The operator's pages through HTTP: the dashboard equals the budget to the fen, every change
goes through the services and the operation log, refusals show by their field with the code."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from console_helpers import CODE, PDF, csrf_of, sign_in
from sqlalchemy import func, select

from api.console.i18n import LANG_COOKIE
from api.console.web import yuan
from ledger.awards.award import Award
from ledger.budget import budget
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.core.oplog import Operation
from ledger.payments import batches as payments
from ledger.programmes.programme import create_programme
from ledger.reading.dashboard import by_city
from ledger.registry.credit_code import check_character
from ledger.registry.evidence import KINDS, Upload
from ledger.registry.firms import Certification, Firm, add_certification
from ledger.vouchers import claims, redemptions
from ledger.vouchers.voucher import Voucher, get_voucher, issue_voucher
from tests.authorised import authorised_book

OPERATOR, PROVIDER = By(1, "demo-operator"), By(2, "demo-provider")
HEADER = ("credit_code,name,city,district,size_class,legal_rep,shareholders,status,bank_name,"
          "bank_account,certifications\n")


def _code(n: int) -> str:
    body = f"91210200MB{n:07d}"
    return body + check_character(body)


def _post(client, url: str, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/operator/vouchers/issue").text)
    return client.post(url, data={"csrf_token": token, **data}, files=files,
                       follow_redirects=False)


def _console_ops(sessions, action: str) -> list[Operation]:  # type: ignore[no-untyped-def]
    with transaction(sessions) as s:
        return list(s.scalars(select(Operation).where(Operation.action == action,
                                                      Operation.channel == "console")))


def test_the_dashboard_shows_the_budget_to_the_fen(client, sessions, world):
    with transaction(sessions) as s:
        authorised_book(s, voucher_id=world.voucher, provider_id=1, category="testing",
                        cost_fen=1_234_567, description="检测", by=PROVIDER)
        b = budget(s, CODE)
    assert b.held == 617_283 and b.balanced
    sign_in(client, "demo-operator")
    page = client.get("/operator").text
    for key in ("appropriated", "issued", "unspent", "held", "redeemed", "awarded", "expired",
                "in_payment", "paid", "receivable", "free"):
        assert f'id="budget-{key}">{yuan(getattr(b, key))}<' in page, key
    assert '<svg id="budget-chart"' in page and f'data-fen="{b.held}"' in page
    city = re.search(r'id="by-city">.*?</table>', page, re.S)
    assert city
    with transaction(sessions) as s:
        lines = by_city(s, CODE)
    assert sum(c.issued_fen for c in lines) == b.issued == 8_000_000
    for line in lines:
        assert (f"<td>{line.city}</td><td class=\"int\">{line.vouchers}</td>"
                f"<td class=\"yuan\">{yuan(line.issued_fen)}</td>") in city.group(0)
    category = re.search(r'id="by-category">.*?</table>', page, re.S)
    assert category and "检测" in category.group(0) and yuan(617_283) in category.group(0)
    assert client.get("/operator?programme=NOPE").status_code == 404


def test_the_operator_lands_on_the_dashboard(client, world):
    assert sign_in(client, "demo-operator").status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/operator"


def test_appropriate_from_the_dashboard(client, sessions, world):
    sign_in(client, "demo-operator")
    done = _post(client, "/operator/appropriate", {"programme": CODE, "amount": "1234.56",
                                                   "memo": "追加"})
    assert done.status_code == 303 and done.headers["location"] == f"/operator?programme={CODE}"
    with transaction(sessions) as s:
        assert budget(s, CODE).appropriated == 100_000_000 + 123_456
    assert 'id="budget-appropriated">1,001,234.56<' in client.get(done.headers["location"]).text
    assert len(_console_ops(sessions, "programs.appropriate")) == 1
    bad = _post(client, "/operator/appropriate", {"programme": CODE, "amount": "12.345"})
    assert bad.status_code == 422 and 'data-code="invalid_input"' in bad.text
    assert 'value="12.345"' in bad.text
    with transaction(sessions) as s:
        assert budget(s, CODE).appropriated == 100_000_000 + 123_456


def test_an_import_says_what_is_wrong_with_each_row_in_the_pages_language(client, world):
    sign_in(client, "demo-operator")
    wrong_check = _code(903)[:-1] + ("0" if _code(903)[-1] != "0" else "1")
    rows = (f"{_code(904)},锦州新能源有限公司,锦州市,太和区,small,赵三,赵三,active,工商银行,12ab,\n"
            f"{wrong_check},营口港机有限公司,营口市,站前区,small,钱四,钱四,active,,,\n"
            f"{_code(905)[:10]},丹东光电有限公司,丹东市,振兴区,small,孙五,孙五,active,,,\n"
            f"{_code(906)},本溪制药有限公司,本溪市,平山区,huge,周六,周六,active,,,\n"
            f"{_code(907)},盘锦石化有限公司,盘锦市\n")
    refused = _post(client, "/operator/firms/import", {}, files={
        "file": ("firms.csv", (HEADER + rows).encode(), "text/csv")})
    assert refused.status_code == 422
    table = re.search(r'id="row-errors">.*?</table>', refused.text, re.S)
    assert table
    words = table.group(0)
    assert "银行账号为 8–32 位数字。" in words
    assert "校验码为" in words and "请核对是否录入有误" in words
    assert "统一社会信用代码为 18 位，不是 10 位。" in words
    assert "须为以下之一：微型（micro）、小型（small）、中型（medium）、大型（large）。" in words
    assert "本行 3 列，表头为 11 列。" in words
    # The check's own words stay at hand (the cell's title) for whoever supports the clerk.
    assert 'title="must be 8–32 digits"' in words
    twice = (f"{_code(908)},鞍山钢构有限公司,鞍山市,铁东区,small,吴七,吴七,active,,,"
             "gazelle@2026-13-01\n")
    refused = _post(client, "/operator/firms/import", {}, files={
        "file": ("firms.csv", (HEADER + twice + twice).encode(), "text/csv")})
    words = re.search(r'id="row-errors">.*?</table>', refused.text, re.S).group(0)
    assert "2026-13-01 不是日期，请按 2026-06-30 的格式填写。" in words
    assert "与第 2 行重复。" in words
    extra = _post(client, "/operator/firms/import", {}, files={
        "file": ("firms.csv", (HEADER.strip() + ",foo\n").encode(), "text/csv")})
    assert "未知的列；可用的列为：" in extra.text
    client.cookies.set(LANG_COOKIE, "en")
    english = _post(client, "/operator/firms/import", {}, files={
        "file": ("firms.csv", (HEADER + rows).encode(), "text/csv")})
    assert "A bank account is 8 to 32 digits." in english.text
    not_csv = _post(client, "/operator/firms/import", {}, files={
        "file": ("firms.csv", "credit_code\n".encode("utf-16"), "text/csv")})
    assert "The file is neither UTF-8 nor GB18030 text" in not_csv.text


@pytest.mark.parametrize("typed", ["12,345.67", "12345.67", "１２３４５.６７",
                                   "１２，３４５．６７"])
def test_an_amount_is_typed_as_the_console_shows_it(client, sessions, world, typed):
    sign_in(client, "demo-operator")
    done = _post(client, "/operator/appropriate", {"programme": CODE, "amount": typed})
    assert done.status_code == 303, done.text
    with transaction(sessions) as s:
        assert budget(s, CODE).appropriated == 100_000_000 + 1_234_567
    bad = _post(client, "/operator/appropriate", {"programme": CODE, "amount": "1,2345.67"})
    assert bad.status_code == 422 and "misplaced thousands separator" in bad.text


def test_a_bad_firm_file_shows_every_bad_row_and_writes_nothing(client, sessions, world):
    sign_in(client, "demo-operator")
    with transaction(sessions) as s:
        before = s.scalar(select(func.count()).select_from(Firm))
    good = f"{_code(901)},大连新材料有限公司,大连市,高新园区,small,王一,王一,active,,,\n"
    bad = f"{_code(902)},沈阳软件有限公司,北京市,和平区,small,李二,李二,active,,,\n"
    refused = _post(client, "/operator/firms/import", {}, files={
        "file": ("firms.csv", (HEADER + good + bad).encode(), "text/csv")})
    assert refused.status_code == 422 and 'data-code="import_rejected"' in refused.text
    rows = re.search(r'id="row-errors">.*?</table>', refused.text, re.S)
    assert rows and "<td class=\"int\">3</td><td><code>city</code></td>" in rows.group(0)
    assert "北京市" in rows.group(0)
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Firm)) == before
    fine = (HEADER + good).encode()
    added = _post(client, "/operator/firms/import", {}, files={"file": ("f.csv", fine, "text/csv")})
    assert added.status_code == 200 and "新增 1 条，未变 0 条" in added.text
    again = _post(client, "/operator/firms/import", {}, files={"file": ("f.csv", fine, "text/csv")})
    assert "新增 0 条，未变 1 条" in again.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Firm)) == before + 1
    listed = client.get("/operator/firms?city=大连市&limit=100").text
    assert "大连新材料有限公司" in listed
    assert client.get("/operator/firms?format=xlsx").status_code == 200
    assert len(_console_ops(sessions, "firms.import")) == 3  # the refusal is logged too


def test_register_a_firm_and_a_provider_by_form(client, sessions, world):
    sign_in(client, "demo-operator")
    form = {"credit_code": "bad", "name": "锦州测试有限公司", "city": "锦州市",
            "district": "古塔区", "size_class": "micro", "legal_rep": "赵三",
            "shareholders": "赵三；钱四",
            "bank_name": "", "bank_account": "123", "cert_kind": "tech_sme",
            "cert_date": "2026-02-01"}
    refused = _post(client, "/operator/firms", form)
    assert refused.status_code == 422
    assert 'class="field has-error">\n  <label for="f-credit_code">' in refused.text
    assert 'class="field has-error">\n  <label for="f-bank_account">' in refused.text
    assert 'value="锦州测试有限公司"' in refused.text
    later = _post(client, "/operator/firms", {**form, "credit_code": _code(903),
                                              "bank_account": "", "cert_date": "2099-01-01"})
    assert later.status_code == 422
    assert 'class="field has-error">\n  <label for="f-cert_date">' in later.text
    assert "日期不能晚于今天。" in later.text
    created = _post(client, "/operator/firms", {**form, "credit_code": _code(903),
                                                "bank_account": ""})
    assert created.status_code == 200 and "锦州测试有限公司" in created.text
    provider = _post(client, "/operator/providers", {
        "credit_code": _code(904), "name": "营口检测中心", "city": "营口", "district": "站前区",
        "size_class": "small", "legal_rep": "周五", "categories": "testing"})
    assert provider.status_code == 200 and 'id="created"' in provider.text
    assert "营口检测中心" in client.get("/operator/providers?city=营口市").text
    assert "营口检测中心" not in client.get("/operator/providers?city=大连市").text


def test_issue_a_voucher_and_see_an_over_cap_refusal_with_its_trace(client, sessions, world):
    sign_in(client, "demo-operator")
    unchosen = _post(client, "/operator/vouchers/import", {"programme": ""}, files={
        "file": ("v.csv", b"credit_code,amount\n", "text/csv")})
    assert unchosen.status_code == 422 and "请选择项目。" in unchosen.text
    assert "<code>credit_code,amount / 统一社会信用代码,金额</code>" in unchosen.text
    issued = _post(client, "/operator/vouchers/issue",
                   {"programme": CODE, "firm": "3", "amount": "12345.67"})
    assert issued.status_code == 303
    page = client.get(issued.headers["location"]).text
    voucher_id = int(issued.headers["location"].rsplit("/", 1)[1])
    with transaction(sessions) as s:
        view = get_voucher(s, voucher_id)
    assert view.amount_fen == 1_234_567 and view.firm_id == 3
    assert 'id="amount">12,345.67<' in page
    over = _post(client, "/operator/vouchers/issue",
                 {"programme": CODE, "firm": "3", "amount": "9999999"})
    assert over.status_code == 422 and 'data-code="cap_exceeded"' in over.text
    assert 'class="field has-error">\n  <label for="f-amount">' in over.text
    assert "issue.per_voucher_cap" in over.text and 'value="9999999"' in over.text
    missing = _post(client, "/operator/vouchers/issue",
                    {"programme": CODE, "firm": "999999", "amount": "100"})
    assert 'class="field has-error">\n  <label for="f-firm">' in missing.text
    listed = client.get(f"/operator/vouchers?programme={CODE}&status=active").text
    assert "12,345.67" in listed
    assert len(_console_ops(sessions, "vouchers.issue")) == 3


def test_issue_vouchers_from_a_csv_file(client, sessions, world):
    sign_in(client, "demo-operator")
    with transaction(sessions) as s:
        codes = [s.get(Firm, 3).credit_code, s.get(Firm, 4).credit_code]  # type: ignore[union-attr]
        count = s.scalar(select(func.count()).select_from(Voucher))
    bad = f"credit_code,amount\n{codes[0]},100.00\n{codes[1]},1.234\n".encode()
    refused = _post(client, "/operator/vouchers/import", {"programme": CODE},
                    files={"file": ("v.csv", bad, "text/csv")})
    assert refused.status_code == 422 and "<code>amount</code>" in refused.text
    good = f"credit_code,amount\n{codes[0]},100.00\n{codes[1]},200.50\n".encode()
    done = _post(client, "/operator/vouchers/import", {"programme": CODE},
                 files={"file": ("v.csv", good, "text/csv")})
    assert done.status_code == 200 and 'id="issued-count"' in done.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Voucher)) == count + 2


def test_expiry_preview_changes_nothing_and_confirm_expires(client, sessions, world):
    with transaction(sessions) as s:
        add_certification(s, 3, Certification("tech_sme", 2025, dt.date(2025, 3, 1)))
        old = issue_voucher(s, CODE, 3, 1_000_000, by=OPERATOR, issued_on=dt.date(2025, 6, 1))
        before = budget(s, CODE)
    sign_in(client, "demo-operator")
    form = {"programme": CODE, "as_of": dt.date.today().isoformat()}
    preview = _post(client, "/operator/expiry", {**form, "action": "preview"})
    assert preview.status_code == 200
    assert 'id="expiry-total">10,000.00<' in preview.text and old.serial in preview.text
    assert 'id="confirm-expiry"' in preview.text
    with transaction(sessions) as s:
        assert budget(s, CODE) == before
        assert get_voucher(s, old.id).status == "active"
    assert _console_ops(sessions, "programs.expire") == []
    done = _post(client, "/operator/expiry", {**form, "action": "confirm"})
    assert done.status_code == 200 and 'id="expiry-count">1<' in done.text
    with transaction(sessions) as s:
        after = budget(s, CODE)
        assert get_voucher(s, old.id).status == "expired"
    assert after.expired == before.expired + 1_000_000 and after.free == before.free + 1_000_000
    assert len(_console_ops(sessions, "programs.expire")) == 1
    again = _post(client, "/operator/expiry", {**form, "action": "preview"})
    assert 'id="expiry-count">0<' in again.text
    future = _post(client, "/operator/expiry", {"programme": CODE, "as_of": "2999-01-01",
                                                "action": "preview"})
    assert future.status_code == 422
    assert 'class="field has-error">\n  <label for="f-as_of">' in future.text


def _approved_claim(sessions, world) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as s:
        done = authorised_book(s, voucher_id=world.voucher, provider_id=1, category="testing",
                               cost_fen=1_000_001, description="检测", by=PROVIDER)
        redemptions.complete(s, done.id, provider_id=1, by=PROVIDER)
        redemptions.confirm(s, done.id, firm_id=1, by=By(4, "demo-firm"))
        claim = claims.file_claim(s, done.id, provider_id=1, by=PROVIDER, files=[
            Upload(kind, f"{kind}.pdf", PDF + kind.encode()) for kind in KINDS])
        claims.approve(s, claim.id, by=By(3, "demo-approver"))
        return claim.amount_fen


def test_chosen_lines_released_paid_returned_and_paid_again(client, sessions, world):
    sign_in(client, "demo-operator")
    nothing = _post(client, "/operator/batches/new", {"programme": CODE})
    assert nothing.status_code == 422 and 'data-code="invalid_input"' in nothing.text
    amount = _approved_claim(sessions, world)
    with transaction(sessions) as s:
        claim_id = payments.list_payable(s, CODE, payments.PayableFilter(), limit=5).items[0].id
    chooser = client.get(f"/operator/batches/new?programme={CODE}&kind=claim").text
    assert f'value="claim:{claim_id}" data-fen="{amount}"' in chooser
    assert 'id="select-page"' in chooser
    # The payee is found by the start of its registered name or credit code, not its number;
    # the category is chosen by its name.
    found = client.get(f"/operator/batches/new?programme={CODE}&payee=辽宁省检验").text
    assert f'value="claim:{claim_id}"' in found and "辽宁省检验检测认证中心" in found
    by_code = client.get(f"/operator/batches/new?programme={CODE}&payee=12210000").text
    assert f'value="claim:{claim_id}"' in by_code
    other = client.get(f"/operator/batches/new?programme={CODE}&payee=沈阳知行").text
    assert f'value="claim:{claim_id}"' not in other
    assert '<option value="testing">检验检测</option>' in chooser
    assert '<option value="little_giant">专精特新“小巨人”</option>' in chooser
    created = _post(client, "/operator/batches/new", {"programme": CODE,
                                                       "line": f"claim:{claim_id}"})
    assert created.status_code == 303
    url = created.headers["location"]
    batch_id = int(url.rsplit("/", 1)[1])
    page = client.get(url).text
    assert f'id="batch-total">{yuan(amount)}<' in page and 'id="awaiting-release"' in page
    # Each line names its payee by registered name and credit code, with the bank account.
    assert "<td>辽宁省检验检测认证中心</td><td>12210000455812673E</td>" in page
    assert 'id="mark-paid"' not in page
    assert client.get(f"{url}/bank.csv").status_code == 409
    # The approver releases it (the operator may not reach the approver's pages).
    assert client.get(f"/approver/batches/{batch_id}").status_code == 403
    client.cookies.clear()
    sign_in(client, "demo-approver")
    assert f"/approver/batches/{batch_id}" in client.get("/approver/batches").text
    released = _post(client, f"/approver/batches/{batch_id}/release", {})
    assert released.status_code == 303
    again = _post(client, f"/approver/batches/{batch_id}/release", {})
    assert again.status_code == 409 and 'data-code="already_released"' in again.text
    client.cookies.clear()
    sign_in(client, "demo-operator")
    bank = client.get(f"{url}/bank.csv")
    assert bank.status_code == 200 and bank.headers["content-type"] == "text/csv; charset=utf-8"
    assert bank.content.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    lines = bank.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("batch,line,claim") and len(lines) == 2
    assert f",{amount // 100}.{amount % 100:02d}," in lines[1]
    assert "创新券兑付" in lines[1] and "claim" not in lines[1]
    gb = client.get(f"{url}/bank.csv?encoding=gb18030")
    assert gb.content.decode("gb18030").strip().splitlines() == lines
    assert client.get(f"{url}/bank.csv?encoding=ebcdic").status_code == 422
    xlsx = client.get(f"{url}/bank.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    page = client.get(url).text
    assert "bank.csv?encoding=gb18030" in page and 'id="bank-file-xlsx"' in page
    # Marking paid asks once more; only the second post records it.
    bad = _post(client, f"{url}/paid", {"reference": "", "value_date": "2026-06-01"})
    assert bad.status_code == 422
    ask = _post(client, f"{url}/paid", {"reference": "CMB0001", "value_date": "2026-06-01"})
    assert ask.status_code == 200 and 'id="confirm-mark-paid"' in ask.text
    with transaction(sessions) as s:
        assert payments.get_batch(s, batch_id).status == "released"
    paid = _post(client, f"{url}/paid", {"reference": "CMB0001", "value_date": "2026-06-01",
                                         "confirm": "yes"})
    assert paid.status_code == 303
    assert 'id="batch-status">已支付<' in client.get(url).text
    twice = _post(client, f"{url}/paid", {"reference": "CMB0002", "value_date": "2026-06-01",
                                          "confirm": "yes"})
    assert twice.status_code == 409 and 'data-code="already_paid"' in twice.text
    # The bank returns it: owed again; paid again once the provider's bank is corrected.
    big = _post(client, f"{url}/returns", {"line": "1", "amount": "999999", "reason": "销户"})
    assert big.status_code == 409 and 'data-code="return_exceeds_line"' in big.text
    yuan_text = f"{amount // 100}.{amount % 100:02d}"
    back = _post(client, f"{url}/returns", {"line": "1", "amount": yuan_text, "reason": "销户"})
    assert back.status_code == 303
    page = client.get(url).text
    assert f'id="still-owed">{yuan(amount)}<' in page and "已退票" in page
    assert 'id="payee-bank-1"' in page and "批次记录与总账一致" in page
    refused = _post(client, "/operator/batches/new", {"programme": CODE,
                                                      "line": f"claim:{claim_id}"})
    assert 'data-code="bank_details_not_corrected"' in refused.text
    fixed = _post(client, f"{url}/payee-bank", {"payee_kind": "provider", "payee_id": "1",
                                                "bank_name": "中国银行沈阳分行",
                                                "bank_account": "6222000011112222"})
    assert fixed.status_code == 303
    second = _post(client, "/operator/batches/new", {"programme": CODE,
                                                     "line": f"claim:{claim_id}"})
    assert second.status_code == 303
    with transaction(sessions) as s:
        assert budget(s, CODE).paid == 0
        assert payments.get_batch(s, batch_id).lines[0].status == "returned"
    assert "batch" in client.get("/operator/batches").text


def test_award_import_shows_bad_rows(client, sessions, world):
    sign_in(client, "demo-operator")
    data = ("credit_code,tier,level,document_no,certified_on,requested\n"
            f"{_code(905)},gazelle,provincial,辽科发〔2026〕1号,2026-06-01,\n").encode()
    wrong = _post(client, "/operator/awards/import", {"programme": CODE},
                  files={"file": ("a.csv", data, "text/csv")})
    assert wrong.status_code == 422 and 'data-code="wrong_programme_kind"' in wrong.text
    with transaction(sessions) as s:
        create_programme(s, code="LN-AWARD-2026", name="奖励2026", fiscal_year=2026,
                         policy="LN-AWARD", by=OPERATOR)
    # Each form offers only the programmes it takes.
    options = re.compile(r'<option value="(LN-[A-Z]+-\d+)"')
    assert options.findall(client.get("/operator/awards/import").text) == ["LN-AWARD-2026"]
    for url in ("/operator/vouchers/issue", "/operator/expiry"):
        assert "LN-AWARD-2026" not in options.findall(client.get(url).text), url
        assert CODE in options.findall(client.get(url).text), url
    unknown = _post(client, "/operator/awards/import", {"programme": "LN-AWARD-2026"},
                    files={"file": ("a.csv", data, "text/csv")})
    assert unknown.status_code == 422 and 'data-code="import_rejected"' in unknown.text
    assert '<td class="int">2</td><td><code>credit_code</code></td>' in unknown.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Award)) == 0


def test_the_dashboard_opens_on_a_voucher_programme_and_shows_awards_on_theirs(
        client, sessions, world):
    with transaction(sessions) as s:
        # "LN-AWARD-…" sorts before "LN-CXQ-…": the voucher programme must still come first.
        create_programme(s, code="LN-AWARD-2026", name="奖励2026", fiscal_year=2026,
                         policy="LN-AWARD", by=OPERATOR)
    sign_in(client, "demo-operator")
    assert f"{CODE} · 2026" in client.get("/operator").text
    award_page = client.get("/operator?programme=LN-AWARD-2026").text
    assert 'id="budget-awarded">0.00<' in award_page


def test_the_banks_confirmation_file_is_shown_then_confirmed(client, sessions, world):
    amount = _approved_claim(sessions, world)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR)
        payments.release_batch(s, batch.id, by=By(3, "demo-approver"))
    sign_in(client, "demo-operator")
    url = f"/operator/batches/{batch.id}"
    yuan_text = f"{amount // 100}.{amount % 100:02d}"
    wrong = f"line,amount_yuan,reference,value_date\n1,{amount // 100 + 1},R1,2026-06-01\n"
    # The file is checked against the batch when read, and again when confirmed.
    shown = _post(client, f"{url}/confirmation", {},
                  files={"file": ("bank.csv", wrong.encode(), "text/csv")})
    assert shown.status_code == 409
    assert 'data-code="confirmation_total_mismatch"' in shown.text
    mismatch = _post(client, f"{url}/confirmation", {
        "confirm": "yes", "row_line": "1", "row_amount": f"{amount // 100 + 1}",
        "row_reference": "R1", "row_value_date": "2026-06-01"})
    assert mismatch.status_code == 409
    assert 'data-code="confirmation_total_mismatch"' in mismatch.text
    bad = _post(client, f"{url}/confirmation", {},
                files={"file": ("bank.csv", b"line,amount_yuan\n1,1\n", "text/csv")})
    assert bad.status_code == 422 and 'data-code="import_rejected"' in bad.text
    # Each refused line is listed with its reason, in the page's language.
    bad_amount = ("line,amount_yuan,reference,value_date\n1,abc,R1,2026-06-01\n"
                  "x,1.00,R 2,2026-13-01\n")
    listed = _post(client, f"{url}/confirmation", {},
                   files={"file": ("bank.csv", bad_amount.encode(), "text/csv")})
    assert listed.status_code == 422 and 'id="row-errors"' in listed.text
    assert "<td class=\"int\">2</td><td><code>amount_yuan</code>" in listed.text
    assert "请用数字填写序号。" in listed.text
    # The lines come back through the browser: tampered ones are refused, not a 500.
    for tampered in ({"row_line": "abc", "row_amount": yuan_text, "row_reference": "R1",
                      "row_value_date": "2026-06-02"},
                     {"row_line": ["1", "2"], "row_amount": yuan_text, "row_reference": "R1",
                      "row_value_date": "2026-06-02"}):
        refused = _post(client, f"{url}/confirmation", {"confirm": "yes", **tampered})
        assert refused.status_code == 422 and 'data-code="invalid_input"' in refused.text
    good = f"序号,金额,银行流水号,入账日期\n1,{yuan_text},ICBC001,2026-06-02\n"
    ask = _post(client, f"{url}/confirmation", {},
                files={"file": ("bank.csv", good.encode("gb18030"), "text/csv")})
    assert ask.status_code == 200 and "ICBC001" in ask.text
    with transaction(sessions) as s:
        assert payments.get_batch(s, batch.id).status == "released"
    done = _post(client, f"{url}/confirmation", {
        "confirm": "yes", "row_line": "1", "row_amount": yuan_text, "row_reference": "ICBC001",
        "row_value_date": "2026-06-02"})
    assert done.status_code == 303
    with transaction(sessions) as s:
        line = payments.get_batch(s, batch.id).lines[0]
    assert (line.status, line.reference, line.value_date) == (
        "paid", "ICBC001", dt.date(2026, 6, 2))


def test_the_same_voucher_file_twice_adds_nothing_and_the_page_says_so(client, sessions, world):
    sign_in(client, "demo-operator")
    with transaction(sessions) as s:
        code = s.get(Firm, 3).credit_code  # type: ignore[union-attr]
        count = s.scalar(select(func.count()).select_from(Voucher))
    data = f"credit_code,amount\n{code},100.00\n".encode()
    for _ in range(2):
        done = _post(client, "/operator/vouchers/import", {"programme": CODE},
                     files={"file": ("v.csv", data, "text/csv")})
    assert done.status_code == 200 and "此前已导入" in done.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Voucher)) == count + 1
