"""Ledger queries for reports: trial balance as of a moment, totals, kinds, journal summary."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger.core.accounts import balance, balance_as_of, open_account
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.reading.ledger_queries import (
    KindBalance,
    TrialBalanceRow,
    balances_by_kind,
    journal_summary,
    ledger_exists,
    trial_balance_rows,
    trial_balance_totals,
)

END_2025 = datetime(2025, 12, 31, 16, tzinfo=UTC)  # 2026-01-01 00:00 in Beijing

# Every account of the known year at the end of 2025, before today's clawback (fen), in the
# chart's order: funding, budget, vouchers, providers, …, paid.
ROWS_END_2025 = [
    TrialBalanceRow("LN-CXQ-2025:funding", 0, 123_456_789, 0, 0),
    TrialBalanceRow("LN-CXQ-2025:budget", 123_456_789, 16_000_050, 0, 0),
    TrialBalanceRow("LN-CXQ-2025:voucher:V001", 10_000_000, 2_500_025, 0, 500_000),
    TrialBalanceRow("LN-CXQ-2025:voucher:V002", 6_000_050, 0, 0, 0),
    TrialBalanceRow("LN-CXQ-2025:provider:S01", 2_500_025, 2_500_025, 500_000, 0),
    TrialBalanceRow("LN-CXQ-2025:paid", 2_500_025, 0, 0, 0),
]


def test_trial_balance_rows_as_of_the_end_of_2025(sessions, year):
    with transaction(sessions) as s:
        assert list(trial_balance_rows(s, year.ledger, END_2025)) == ROWS_END_2025


def test_rows_agree_with_balance_as_of_for_every_account_and_moment(sessions, year):
    moments = [datetime(2025, m, 15, tzinfo=UTC) for m in range(1, 13)] + [datetime.now(UTC)]
    with transaction(sessions) as s:
        for moment in moments:
            for row in trial_balance_rows(s, year.ledger, moment):
                expected = balance_as_of(s, row.code, moment)
                assert (
                    row.debits_posted, row.credits_posted, row.debits_pending, row.credits_pending
                ) == (
                    expected.debits_posted, expected.credits_posted,
                    expected.debits_pending, expected.credits_pending,
                ), (row.code, moment)


def test_today_the_rows_equal_the_stored_balances(sessions, year):
    with transaction(sessions) as s:
        rows = list(trial_balance_rows(s, year.ledger, datetime.now(UTC) + timedelta(days=1)))
        for row in rows:
            assert row.balance == balance(s, row.code).debit_balance
    by_code = {r.code: r for r in rows}
    # Today's clawback reversed the second issue to V002.
    assert by_code["LN-CXQ-2025:voucher:V002"].balance == 5_000_050
    assert by_code["LN-CXQ-2025:budget"].balance == 108_456_739


def test_an_account_before_its_first_entry_reads_zero(sessions, year):
    with transaction(sessions) as s:
        rows = list(trial_balance_rows(s, year.ledger, datetime(2025, 1, 31, tzinfo=UTC)))
    assert [(r.code, r.balance) for r in rows] == [
        ("LN-CXQ-2025:funding", -123_456_789),
        ("LN-CXQ-2025:budget", 123_456_789),
        ("LN-CXQ-2025:voucher:V001", 0),
        ("LN-CXQ-2025:voucher:V002", 0),
        ("LN-CXQ-2025:provider:S01", 0),
        ("LN-CXQ-2025:paid", 0),
    ]


def test_rows_stream_in_small_chunks_the_same(sessions, year):
    with transaction(sessions) as s:
        assert list(trial_balance_rows(s, year.ledger, END_2025, chunk=2)) == ROWS_END_2025


def test_held_only_keeps_accounts_with_an_open_hold(sessions, year):
    with transaction(sessions) as s:
        held = list(trial_balance_rows(s, year.ledger, END_2025, held_only=True))
        # On 4 April the cancelled booking still held 10,000.00 on V002.
        april = list(
            trial_balance_rows(s, year.ledger, datetime(2025, 4, 5, tzinfo=UTC), held_only=True)
        )
    assert [r.code for r in held] == ["LN-CXQ-2025:voucher:V001", "LN-CXQ-2025:provider:S01"]
    assert [(r.code, r.debits_pending, r.credits_pending) for r in april] == [
        ("LN-CXQ-2025:voucher:V002", 0, 1_000_000),
        ("LN-CXQ-2025:provider:S01", 1_000_000, 0),
    ]


def test_totals_are_the_sums_of_the_rows_and_balance(sessions, year):
    with transaction(sessions) as s:
        totals = trial_balance_totals(s, year.ledger, END_2025)
    assert totals.accounts == 6
    assert totals.debits_posted == sum(r.debits_posted for r in ROWS_END_2025) == 144_456_889
    assert totals.credits_posted == sum(r.credits_posted for r in ROWS_END_2025) == 144_456_889
    assert totals.debit_balances == totals.credit_balances == 123_456_789
    assert totals.debits_pending == totals.credits_pending == 500_000
    assert totals.balanced


def test_other_ledgers_stay_out(sessions, year):
    with transaction(sessions) as s:
        other = list(trial_balance_rows(s, "OTHER", END_2025))
        assert trial_balance_totals(s, "OTHER", END_2025).debits_posted == 999_999
        assert trial_balance_totals(s, "NOPE", END_2025).accounts == 0
        assert ledger_exists(s, "OTHER") and not ledger_exists(s, "NOPE")
    assert [r.code for r in other] == ["OTHER:funding", "OTHER:budget"]


def test_numbered_accounts_list_in_natural_order(sessions):
    codes = ["N:provider:11", "N:paid", "N:provider:2", "N:receivable:firm-3", "N:award:10",
             "N:receivable:12", "N:provider:1", "N:award:9", "N:budget", "N:funding"]
    with transaction(sessions) as s:
        for code in codes:
            open_account(s, code, "N")
    with transaction(sessions) as s:
        listed = [r.code for r in trial_balance_rows(s, "N", datetime.now(UTC))]
    assert listed == ["N:funding", "N:budget", "N:provider:1", "N:provider:2", "N:provider:11",
                      "N:award:9", "N:award:10", "N:receivable:12", "N:receivable:firm-3",
                      "N:paid"]


def test_balances_by_kind(sessions, year):
    with transaction(sessions) as s:
        kinds = balances_by_kind(s, year.ledger, END_2025)
    assert kinds == [
        KindBalance("budget", 1, 123_456_789, 16_000_050),
        KindBalance("funding", 1, 0, 123_456_789),
        KindBalance("paid", 1, 2_500_025, 0),
        KindBalance("provider", 1, 2_500_025, 2_500_025),
        KindBalance("voucher", 2, 16_000_050, 2_500_025),
    ]
    assert sum(k.balance for k in kinds) == 0


def test_journal_summary(sessions, year):
    with transaction(sessions) as s:
        summary = journal_summary(s)
    assert summary.entries == year.entries == 11
    assert summary.head_hash == year.head_hash
    assert summary.first_hash is not None and len(summary.first_hash) == 64
    assert summary.first_posted_at == datetime(2025, 1, 10, 12, tzinfo=UTC)


def test_an_empty_journal_has_no_first_hash(sessions):
    with transaction(sessions) as s:
        summary = journal_summary(s)
    assert (summary.entries, summary.first_hash, summary.head_hash) == (0, None, "0" * 64)


def test_a_moment_without_time_zone_is_refused(sessions, year):
    with pytest.raises(InvalidInput), transaction(sessions) as s:
        list(trial_balance_rows(s, year.ledger, datetime(2025, 12, 31)))


def test_a_transfer_between_two_of_a_partys_accounts_moves_both(sessions):
    # A clawback of a paid claim moves money from the provider's receivable to its payable:
    # its statement lists both sides, so the running balance ends at the closing balance.
    from sqlalchemy import select

    from ledger.core.journal import EntryRequest, Move, post_entry
    from ledger.core.models import Account
    from ledger.reading import audit_queries as aq

    with transaction(sessions) as s:
        for code in ("Q:funding", "Q:provider:1", "Q:receivable:1"):
            open_account(s, code, "Q")
        post_entry(s, EntryRequest((Move("Q:provider:1", "Q:funding", 500),), flow="complete"))
        post_entry(s, EntryRequest((Move("Q:provider:1", "Q:receivable:1", 200),),
                                   flow="clawback.receivable"))
    window = aq.Window(datetime(2000, 1, 1).date(), datetime(2999, 1, 1).date(),
                       datetime(2000, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC))
    with transaction(sessions) as s:
        ids = [s.scalar(select(Account.id).where(Account.code == code))
               for code in ("Q:provider:1", "Q:receivable:1")]
        moves = list(aq.movements(s, ids, window))
        totals = aq.movement_totals(s, ids, window)
    net = sum(m.amount if m.debit else -m.amount for m in moves)
    assert [(m.account, m.debit, m.amount) for m in moves] == [
        ("Q:provider:1", True, 500), ("Q:provider:1", True, 200),
        ("Q:receivable:1", False, 200)]
    assert (totals.debits, totals.credits, totals.count) == (700, 200, 3)
    assert net == totals.debits - totals.credits == 500
