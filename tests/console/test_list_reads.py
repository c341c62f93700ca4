"""Lists read their page in fewer statements: the same figures as one read per row."""

from __future__ import annotations

import re

from console_helpers import CODE, sign_in
from sqlalchemy import event

from ledger.core.accounts import balance, ensure_account
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.programmes.programme import account, create_programme
from ledger.registry.users import find_user


def _statements(engine, run) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [s for s in seen if s.lstrip().upper().startswith("SELECT")]


def test_money_page_reads_every_programme_in_one_query(client, engine, sessions, world):
    """Owed back (a receivable after a clawback) shows as a positive amount, from one read."""
    with transaction(sessions) as s:
        user = find_user(s, "demo-provider")
        assert user is not None and user.provider_id is not None
        provider = account(CODE, "provider", user.provider_id)
        receivable = account(CODE, "receivable", user.provider_id)
        for code in (provider, receivable):
            ensure_account(s, code, CODE, limited=False)
        create_programme(s, code="LN-AWARD-2026", name="奖励2026", fiscal_year=2026,
                         policy="LN-AWARD", by=By(1, "demo-operator"))
        # What a clawback of a paid claim posts first: the provider's account is refilled
        # from its receivable, whose credit balance is what it owes back (the reversal of
        # the completion, which needs a redemption, is left out here).
        post_entry(s, EntryRequest((Move(provider, receivable, 123_456),), flow="test.clawback",
                                   ref="test", actor="test"))
        assert balance(s, receivable).credits_posted == 123_456
    sign_in(client, "demo-provider")
    pages: list[str] = []
    selects = _statements(engine, lambda: pages.append(client.get("/provider/money").text))
    row = re.search(rf"<td class=\"text\">\s*{CODE}\s*</td>(.*?)</tr>", pages[0], re.S)
    assert row is not None, pages[0]
    cells = re.findall(r'<td class="yuan">\s*([^<]*?)\s*</td>', row.group(1))
    # booked, owed, in payment, paid, owed back
    assert cells == ["0.00", "1,234.56", "0.00", "0.00", "1,234.56"]
    # Award programmes pay firms, not providers: they are not listed.
    assert "LN-AWARD-" not in pages[0]
    # The user, the provider's name, the programmes (count, page) and one balance read.
    assert len([s for s in selects if "FROM accounts" in s]) == 1, selects


def test_voucher_list_reads_programme_codes_in_its_own_transaction(client, engine, world):
    """The operator's voucher list: its programme picker and its rows in one transaction."""
    sign_in(client, "demo-operator")
    begins: list[int] = []

    def began(conn) -> None:  # type: ignore[no-untyped-def]
        begins.append(1)

    event.listen(engine, "begin", began)
    try:
        page = client.get(f"/operator/vouchers?programme={CODE}").text
    finally:
        event.remove(engine, "begin", began)
    assert f'<option value="{CODE}" selected' in page
    # The signed-in user's transaction, then the page's own.
    assert len(begins) == 2
