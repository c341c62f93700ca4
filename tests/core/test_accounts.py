"""Opening accounts, balances now and as of a past moment."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger.core.accounts import Balance, balance, balance_as_of, get_account, open_account
from ledger.core.db import transaction
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.core.journal import EntryRequest, Move, post_entry

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
