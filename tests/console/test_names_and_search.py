"""Names where ids were, and the `q` search box on every searchable list (issue 17, item 1)."""

from __future__ import annotations

import html
import re

from console_helpers import sign_in
from review_helpers import applied_award, filed_claim
from sqlalchemy import select

from ledger.core.db import transaction
from ledger.core.models import Account, Transfer
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.voucher import Voucher

_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
_TAG = re.compile(r"<[^>]+>")


def column(page: str, header: str) -> list[str]:
    """The text of every body cell under `header` in the page's list table."""
    table = page[page.index('<table class="list">'):]
    table = table[: table.index("</table>")]
    rows = [[html.unescape(_TAG.sub("", c)).strip() for c in _CELL.findall(r)]
            for r in _ROW.findall(table)]
    at = rows[0].index(header)
    return [r[at] for r in rows[1:] if len(r) == len(rows[0])]  # not "Nothing to show."


def names(sessions, model, *ids: int) -> list[str]:
    with transaction(sessions) as s:
        found = dict(s.execute(select(model.id, model.name).where(model.id.in_(ids))).all())
    return [found[i] for i in ids]


def code_of(sessions, model, party_id: int) -> str:
    with transaction(sessions) as s:
        return s.scalar(select(model.credit_code).where(model.id == party_id))


def serial_of(sessions, voucher_id: int) -> str:
    with transaction(sessions) as s:
        return s.scalar(select(Voucher.serial).where(Voucher.id == voucher_id))


def test_operator_vouchers_name_the_firm_and_search_by_name_code_and_serial(
        client, sessions, world):
    first, second = names(sessions, Firm, 1, 2)
    sign_in(client, "demo-operator")
    page = client.get("/operator/vouchers").text
    assert sorted(column(page, "企业")) == sorted([first, second])
    assert not any(cell.isdigit() for cell in column(page, "企业"))
    assert column(client.get(f"/operator/vouchers?q={first[:3]}").text, "企业") == [first]
    serial = serial_of(sessions, world.other_voucher)
    assert column(client.get(f"/operator/vouchers?q={serial}").text, "创新券") == [serial]
    code = code_of(sessions, Firm, 2)
    by_code = client.get(f"/operator/vouchers?q={code[:10].lower()}").text
    assert column(by_code, "企业") == [second]
    assert column(client.get("/operator/vouchers?q=无此企业").text, "企业") == []
    detail = client.get(f"/operator/vouchers/{world.voucher}").text
    assert f'<dd id="firm">{first}</dd>' in detail


def test_the_firm_sees_its_company_name_and_searches_its_vouchers(client, sessions, world):
    (mine,) = names(sessions, Firm, 1)
    sign_in(client, "demo-firm")
    page = client.get("/firm").text
    assert f'<span class="party" id="party-name">{mine}</span>' in page
    serial = serial_of(sessions, world.voucher)
    assert column(client.get(f"/firm?q={serial}").text, "创新券") == [serial]
    # Another firm's serial finds nothing: the search stays inside the firm's own vouchers.
    other = serial_of(sessions, world.other_voucher)
    assert column(client.get(f"/firm?q={other}").text, "创新券") == []


def test_bookings_and_claims_name_the_parties_and_the_voucher(client, sessions, world):
    claim = filed_claim(sessions, world.voucher)
    firm, = names(sessions, Firm, 1)
    provider, = names(sessions, Provider, 1)
    serial = serial_of(sessions, world.voucher)

    sign_in(client, "demo-firm")
    services = client.get("/firm/confirmations").text
    assert column(services, "服务机构") == [provider]
    assert column(services, "创新券") == [serial]
    assert column(client.get(f"/firm/confirmations?q={provider[:2]}").text,
                  "服务机构") == [provider]
    assert column(client.get("/firm/confirmations?q=无此机构").text, "服务机构") == []
    booking = client.get(f"/firm/redemptions/{claim.redemption_id}").text
    assert f'<dd id="provider">{provider}</dd>' in booking and serial in booking

    client.cookies.clear()
    sign_in(client, "demo-provider")
    bookings = client.get("/provider").text
    assert column(bookings, "企业") == [firm] and column(bookings, "创新券") == [serial]
    assert column(client.get(f"/provider?q={serial}").text, "企业") == [firm]
    assert column(client.get("/provider?q=V999").text, "企业") == []
    claims = client.get(f"/provider/claims?q={firm[:2]}").text
    assert column(claims, "企业") == [firm]
    assert column(client.get("/provider/claims?q=无此企业").text, "企业") == []
    assert f'<dd id="firm">{firm}</dd>' in client.get(f"/provider/claims/{claim.id}").text
    assert f'<dd id="firm">{firm}</dd>' in client.get(
        f"/provider/bookings/{claim.redemption_id}").text

    client.cookies.clear()
    sign_in(client, "demo-approver")
    queue = client.get("/approver").text
    assert column(queue, "服务机构") == [provider] and column(queue, "企业") == [firm]
    code = code_of(sessions, Provider, 1)
    assert column(client.get(f"/approver?q={code[:9]}").text, "服务机构") == [provider]
    assert column(client.get(f"/approver?q={serial}").text, "服务机构") == [provider]
    assert column(client.get("/approver?q=无此机构").text, "服务机构") == []
    detail = client.get(f"/approver/claims/{claim.id}").text
    assert f'<dd id="provider">{provider}</dd>' in detail and f'<dd id="firm">{firm}</dd>' in detail


def test_award_queue_names_the_firm_and_searches_it(client, sessions, world):
    applied_award(sessions)
    firm, = names(sessions, Firm, 1)
    sign_in(client, "demo-approver")
    queue = client.get("/approver/awards").text
    assert column(queue, "企业") == [firm]
    # The level is a word, as on the detail page, not its code.
    assert column(queue, "级别") in (["省级"], ["国家级"]), column(queue, "级别")
    assert column(client.get(f"/approver/awards?q={firm[:2]}").text, "企业") == [firm]
    assert column(client.get("/approver/awards?q=无此企业").text, "企业") == []
    award_id = re.search(r'href="/approver/awards/(\d+)"', queue).group(1)
    detail = client.get(f"/approver/awards/{award_id}").text
    assert f'<dd id="firm">{firm}</dd>' in detail
    assert "王敏" in detail and "user:" not in detail


def test_party_lists_search_by_name_or_credit_code(client, sessions, world):
    firm, = names(sessions, Firm, 1)
    provider, = names(sessions, Provider, 2)
    sign_in(client, "demo-operator")
    found = column(client.get(f"/operator/firms?q={firm}").text, "名称")
    assert found == [firm]
    code = code_of(sessions, Provider, 2)
    assert column(client.get(f"/operator/providers?q={code}").text, "名称") == [provider]
    assert column(client.get("/operator/providers?q=无此机构").text, "名称") == []


def test_the_journal_names_the_person(client, sessions, world):
    sign_in(client, "demo-auditor")
    page = client.get("/auditor").text
    assert set(column(page, "操作人")) == {"王敏"}
    entry = re.search(r'href="/auditor/entries/(\d+)"', page).group(1)
    assert ">王敏</dd>" in client.get(f"/auditor/entries/{entry}").text


def test_too_long_a_search_is_refused(client, world):
    sign_in(client, "demo-operator")
    assert client.get("/operator/vouchers?q=" + "x" * 65).status_code == 422


def test_applications_search_by_firm_and_voucher_serial(client, sessions, world):
    import datetime as dt

    from review_helpers import user_by

    from ledger.registry.evidence import Upload
    from ledger.vouchers import applications as apps

    docs = [Upload("business_licence", "licence.pdf", b"%PDF-1.7\n" + b"x" * 60),
            Upload("plan", "plan.pdf", b"%PDF-1.7\n" + b"y" * 60)]
    on = dt.date(2026, 9, 15)  # in the shipped window 2026-2
    firm, firm2, approver = (user_by(sessions, u) for u in ("demo-firm", "demo-firm2",
                                                            "demo-approver"))
    with transaction(sessions) as s:
        mine = apps.apply_for_voucher(s, "LN-CXQ-2026", firm_id=1, amount_fen=10_000_000,
                                      documents=docs, by=firm, on=on)
        apps.apply_for_voucher(s, "LN-CXQ-2026", firm_id=2, amount_fen=10_000_000,
                               documents=docs, by=firm2, on=on)
        serial = apps.approve_application(s, mine.id, by=approver, on=on).voucher_serial
    first, second = names(sessions, Firm, 1, 2)
    sign_in(client, "demo-approver")
    assert sorted(column(client.get("/approver/applications?status=").text, "企业")) == sorted(
        [first, second])
    assert column(client.get(f"/approver/applications?status=&q={second[:3]}").text,
                  "企业") == [second]
    assert column(client.get(f"/approver/applications?status=&q={serial}").text,
                  "企业") == [first]
    code = code_of(sessions, Firm, 1).lower()
    assert column(client.get(f"/approver/applications?status=&q={code}").text,
                  "企业") == [first]
    client.cookies.clear()
    sign_in(client, "demo-firm")
    assert column(client.get(f"/firm/applications?q={serial}").text, "创新券") == [serial]
    assert column(client.get(f"/firm/applications?q={second[:3]}").text, "创新券") == []


def test_an_entry_names_the_parties_behind_its_accounts(client, sessions, world):
    filed_claim(sessions, world.voucher)
    with transaction(sessions) as s:
        moved = s.execute(select(Transfer.entry_id)
                          .join(Account, (Account.id == Transfer.credit_account_id)
                                | (Account.id == Transfer.debit_account_id))
                          .where(Account.code.like("%:provider:%"))).first()
    assert moved is not None
    sign_in(client, "demo-auditor")
    page = html.unescape(client.get(f"/auditor/entries/{moved.entry_id}").text)
    provider = names(sessions, Provider, 1)[0]
    serial = serial_of(sessions, world.voucher)
    firm = names(sessions, Firm, 1)[0]
    # The provider's payable by name (not its number), the voucher by serial and its firm.
    assert f"服务机构应付 · {provider}<" in page
    assert f"· {serial} · {firm}<" in page
    assert not re.search(r"服务机构应付 · \d+<", page)
