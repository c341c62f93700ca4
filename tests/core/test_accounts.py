"""Opening accounts, balances now and as of a past moment."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from ledger.core.accounts import Balance, balance, balance_as_of, get_account, open_account
from ledger.core.db import transaction
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.core.journal import EntryRequest, Move, post_entries, post_entry

pytestmark = pytest.mark.usefixtures("posting_path")


def test_open_account_starts_at_zero_and_keeps_its_flags(sessions):
    with transaction(sessions) as s:
        opened = open_account(s, "P:budget", "P", credits_must_not_exceed_debits=True)
    with transaction(sessions) as s:
        account = get_account(s, "P:budget")
    assert account == opened
    assert account.credits_must_not_exceed_debits and not account.debits_must_not_exceed_credits
    assert account.balance == Balance(0, 0, 0, 0)


def test_open_account_twice_is_refused(sessions):
    with transaction(sessions) as s:
        open_account(s, "P:funding", "P")
    with pytest.raises(AlreadyExists), transaction(sessions) as s:
        open_account(s, "P:funding", "P")


@pytest.mark.parametrize(
    ("code", "ledger", "flags"),
    [
        ("", "P", {}),
        ("has space", "P", {}),
        ("P:x", "", {}),
        (
            "P:x",
            "P",
            {"credits_must_not_exceed_debits": True, "debits_must_not_exceed_credits": True},
        ),
    ],
)
def test_bad_accounts_are_refused(sessions, code, ledger, flags):
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        open_account(s, code, ledger, **flags)


def test_unknown_account_is_not_found(sessions):
    with pytest.raises(NotFound), transaction(sessions) as s:
        balance(s, "P:nobody")


def test_balance_as_of_reads_the_history(sessions):
    with transaction(sessions) as s:
        open_account(s, "P:funding", "P")
        open_account(s, "P:budget", "P", credits_must_not_exceed_debits=True)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with transaction(sessions) as s:
        for day in range(3):
            post_entry(
                s,
                EntryRequest(
                    (Move("P:budget", "P:funding", 100 * (day + 1)),),
                    flow="appropriate",
                    posted_at=start + timedelta(days=day),
                ),
            )
    with transaction(sessions) as s:
        assert balance_as_of(s, "P:budget", start - timedelta(seconds=1)) == Balance()
        assert balance_as_of(s, "P:budget", start).debits_posted == 100
        assert balance_as_of(s, "P:budget", start + timedelta(days=1, hours=1)).debits_posted == 300
        assert balance_as_of(s, "P:budget", datetime.now(UTC)) == balance(s, "P:budget")
        assert balance(s, "P:budget").debit_balance == 600
        assert balance(s, "P:funding").credits_posted == 600


def _history(session, code):  # type: ignore[no-untyped-def]
    """(entry_id, debits_posted, credits_posted) of the account's history rows, oldest first."""
    return session.execute(text(
        "SELECT h.entry_id, h.debits_posted, h.credits_posted FROM account_history h "
        "JOIN accounts a ON a.id = h.account_id WHERE a.code = :code ORDER BY h.entry_id"
    ), {"code": code}).all()


def test_a_batch_at_one_time_keeps_one_history_row_per_account_its_last_entrys(sessions):
    with transaction(sessions) as s:
        open_account(s, "P:funding", "P")
        open_account(s, "P:budget", "P", credits_must_not_exceed_debits=True)
        open_account(s, "P:voucher", "P", credits_must_not_exceed_debits=True)
    with transaction(sessions) as s:
        posted = post_entries(s, [
            EntryRequest((Move("P:budget", "P:funding", 500),), flow="appropriate"),
            EntryRequest((Move("P:voucher", "P:budget", 200),), flow="issue"),
            EntryRequest((Move("P:voucher", "P:budget", 100),), flow="issue"),
            EntryRequest((Move("P:budget", "P:funding", 7),), flow="appropriate"),
        ])
    with transaction(sessions) as s:
        assert _history(s, "P:funding") == [(posted[3].id, 0, 507)]
        assert _history(s, "P:budget") == [(posted[3].id, 507, 300)]
        assert _history(s, "P:voucher") == [(posted[2].id, 300, 0)]
        assert balance_as_of(s, "P:budget", datetime.now(UTC)) == balance(s, "P:budget")


def test_a_batch_with_requested_times_keeps_a_history_row_per_account_and_time(sessions):
    with transaction(sessions) as s:
        open_account(s, "P:funding", "P")
        open_account(s, "P:budget", "P", credits_must_not_exceed_debits=True)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    day = timedelta(days=1)
    with transaction(sessions) as s:
        posted = post_entries(s, [
            EntryRequest((Move("P:budget", "P:funding", 100),), flow="a", posted_at=start),
            EntryRequest((Move("P:budget", "P:funding", 20),), flow="a", posted_at=start),
            EntryRequest((Move("P:budget", "P:funding", 3),), flow="a", posted_at=start + day),
            EntryRequest((Move("P:budget", "P:funding", 4),), flow="a"),  # now
        ])
    with transaction(sessions) as s:
        assert _history(s, "P:budget") == [
            (posted[1].id, 120, 0), (posted[2].id, 123, 0), (posted[3].id, 127, 0)
        ]
        assert balance_as_of(s, "P:budget", start + day / 2).debits_posted == 120
        assert balance_as_of(s, "P:budget", start + day).debits_posted == 123
