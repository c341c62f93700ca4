"""Posting, holds, partial posts, voids, reversals, batches and idempotency."""

from datetime import UTC, datetime, timedelta

import pytest

from ledger.core.accounts import balance
from ledger.core.db import transaction
from ledger.core.errors import (
    Conflict,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
)
from ledger.core.journal import (
    EntryRequest,
    Move,
    PostPending,
    create_hold,
    get_entry,
    head,
    post_entries,
    post_entry,
    post_hold,
    reverse_entry,
    void_hold,
)
from ledger.core.verify import verify
from tests.core.scenario import open_chart

pytestmark = pytest.mark.usefixtures("posting_path")


def test_entries_chain_and_balance(chart):
    with transaction(chart) as s:
        first, second = get_entry(s, 1), get_entry(s, 2)
        assert first.prev_hash == "0" * 64
        assert second.prev_hash == first.hash
        assert head(s) == (2, second.hash)
        assert balance(s, "P:budget").debit_balance == 0
        assert balance(s, "P:voucher:V1").available == 1000
        assert verify(s).ok


def test_multi_transfer_entry_posts_all_or_nothing(chart):
    bad = EntryRequest(
        (Move("P:provider:S1", "P:voucher:V1", 600), Move("P:provider:S1", "P:voucher:V1", 600)),
        flow="manual",
    )
    with pytest.raises(InsufficientBalance), transaction(chart) as s:
        post_entry(s, bad)
    with transaction(chart) as s:
        assert balance(s, "P:voucher:V1").credits_posted == 0
        assert head(s)[0] == 2


def test_hold_counts_against_the_limit_then_posts_in_part(chart):
    with transaction(chart) as s:
        hold = create_hold(s, "P:provider:S1", "P:voucher:V1", 700, flow="book")
        hold_id = hold.transfers[0].id
        assert hold.transfers[0].kind == "pending"
        assert balance(s, "P:voucher:V1").available == 300
    with pytest.raises(InsufficientBalance) as refused, transaction(chart) as s:
        create_hold(s, "P:provider:S1", "P:voucher:V1", 301, flow="book")
    assert refused.value.detail["available"] == 300
    with transaction(chart) as s:
        posted = post_hold(s, hold_id, 500, flow="complete")
        assert posted.transfers[0].kind == "post_pending"
        assert posted.transfers[0].pending_id == hold_id
        voucher = balance(s, "P:voucher:V1")
        assert (voucher.credits_pending, voucher.credits_posted, voucher.available) == (0, 500, 500)
        assert balance(s, "P:provider:S1").debits_posted == 500
        assert verify(s).ok


def test_hold_is_resolved_at_most_once(chart):
    with transaction(chart) as s:
        hold_id = create_hold(s, "P:provider:S1", "P:voucher:V1", 400).transfers[0].id
        void_hold(s, hold_id, flow="cancel")
        assert balance(s, "P:voucher:V1").available == 1000
    for attempt in (lambda s: post_hold(s, hold_id), lambda s: void_hold(s, hold_id)):
        with pytest.raises(Conflict), transaction(chart) as s:
            attempt(s)


def test_partial_post_above_the_hold_is_refused(chart):
    with transaction(chart) as s:
        hold_id = create_hold(s, "P:provider:S1", "P:voucher:V1", 400).transfers[0].id
    with pytest.raises(InvalidInput, match="holds 400"), transaction(chart) as s:
        post_hold(s, hold_id, 401)
    with transaction(chart) as s:
        assert balance(s, "P:voucher:V1").credits_pending == 400


def test_post_of_an_unknown_or_posted_transfer_is_refused(chart):
    with pytest.raises(NotFound), transaction(chart) as s:
        post_hold(s, 9999)
    with pytest.raises(NotFound), transaction(chart) as s:
        post_hold(s, 1)  # transfer 1 is a normal transfer, not a hold


def test_reversal_undoes_an_entry_once(chart):
    with transaction(chart) as s:
        spent = post_entry(
            s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 250),), flow="redeem")
        )
        reversal = reverse_entry(s, spent.id, actor="approver:7", memo="fraud")
        assert reversal.reverses_entry_id == spent.id
        assert [(t.debit, t.credit, t.amount) for t in reversal.transfers] == [
            ("P:voucher:V1", "P:provider:S1", 250)
        ]
        assert balance(s, "P:voucher:V1").available == 1000
    with pytest.raises(Conflict, match="already reversed"), transaction(chart) as s:
        reverse_entry(s, spent.id)
    with pytest.raises(Conflict, match="itself a reversal"), transaction(chart) as s:
        reverse_entry(s, reversal.id)
    with transaction(chart) as s:
        assert verify(s).ok


def test_reversal_of_a_hold_is_refused(chart):
    with transaction(chart) as s:
        hold = create_hold(s, "P:provider:S1", "P:voucher:V1", 100)
    with pytest.raises(Conflict, match="void the hold"), transaction(chart) as s:
        reverse_entry(s, hold.id)


def test_reversal_that_would_break_a_limit_is_refused(chart):
    # Once the provider has been paid, reversing the redemption would overdraw its account.
    with transaction(chart) as s:
        spent = post_entry(
            s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 250),), flow="redeem")
        )
        post_entry(s, EntryRequest((Move("P:paid", "P:provider:S1", 250),), flow="pay"))
    with pytest.raises(InsufficientBalance), transaction(chart) as s:
        reverse_entry(s, spent.id)


def test_idempotent_replay_and_conflict(chart):
    request = EntryRequest(
        (Move("P:provider:S1", "P:voucher:V1", 100),), flow="redeem", idempotency_key="order-1"
    )
    with transaction(chart) as s:
        first = post_entry(s, request)
    with transaction(chart) as s:
        again = post_entry(s, request)
        # The first result came back before its seal; the replay reads the sealed entry.
        assert first.hash is None and again.hash is not None
        assert again.replayed and again.id == first.id and again.hash == get_entry(s, 3).hash
        assert balance(s, "P:voucher:V1").credits_posted == 100
        assert head(s)[0] == first.id
    other = EntryRequest(
        (Move("P:provider:S1", "P:voucher:V1", 101),), flow="redeem", idempotency_key="order-1"
    )
    with pytest.raises(IdempotencyConflict), transaction(chart) as s:
        post_entry(s, other)


def test_idempotent_reversal_replays(chart):
    with transaction(chart) as s:
        spent = post_entry(
            s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 5),), flow="redeem")
        )
        first = reverse_entry(s, spent.id, idempotency_key="claw-1")
    with transaction(chart) as s:
        again = reverse_entry(s, spent.id, idempotency_key="claw-1")
    assert again.replayed and again.id == first.id


def test_batch_is_all_or_nothing(chart):
    good = [EntryRequest((Move("P:provider:S1", "P:voucher:V1", 100),), flow="redeem")] * 9
    with pytest.raises(InsufficientBalance), transaction(chart) as s:
        post_entries(
            s, [*good, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 101),), flow="redeem")]
        )
    with transaction(chart) as s:
        assert head(s)[0] == 2
        assert balance(s, "P:voucher:V1").credits_posted == 0
        posted = post_entries(
            s, [*good, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 100),), flow="redeem")]
        )
        assert [e.id for e in posted] == list(range(3, 13))
        assert balance(s, "P:voucher:V1").available == 0
        assert verify(s).ok


def test_batch_can_hold_and_post_within_itself(chart):
    with transaction(chart) as s:
        entries = post_entries(
            s,
            [
                EntryRequest(
                    (Move("P:provider:S1", "P:voucher:V1", 300, pending=True),), flow="book"
                ),
                EntryRequest((PostPending(3, 200),), flow="complete"),
            ],
        )
        assert entries[0].transfers[0].id == 3
        assert balance(s, "P:voucher:V1").credits_posted == 200
        assert balance(s, "P:voucher:V1").credits_pending == 0
        assert verify(s).ok


def test_batch_keys_replay_within_and_across_batches(chart):
    request = EntryRequest(
        (Move("P:provider:S1", "P:voucher:V1", 10),), flow="redeem", idempotency_key="k"
    )
    with transaction(chart) as s:
        first, twin = post_entries(s, [request, request])
        assert twin.replayed and twin.id == first.id
        assert balance(s, "P:voucher:V1").credits_posted == 10
    clash = EntryRequest(
        (Move("P:provider:S1", "P:voucher:V1", 11),), flow="redeem", idempotency_key="j"
    )
    with pytest.raises(IdempotencyConflict), transaction(chart) as s:
        post_entries(
            s,
            [
                EntryRequest(clash.transfers[:1], flow="redeem", idempotency_key="j"),
                EntryRequest(
                    (Move("P:provider:S1", "P:voucher:V1", 12),), flow="redeem", idempotency_key="j"
                ),
            ],
        )


@pytest.mark.parametrize(
    "request_",
    [
        EntryRequest((), flow="x"),
        EntryRequest((Move("P:budget", "P:budget", 1),), flow="x"),
        EntryRequest((Move("P:budget", "P:funding", 0),), flow="x"),
        EntryRequest((Move("P:budget", "P:funding", -5),), flow="x"),
        EntryRequest((Move("P:budget", "P:funding", 1.5),), flow="x"),  # type: ignore[arg-type]
        EntryRequest((Move("P:budget", "P:funding", True),), flow="x"),  # type: ignore[arg-type]
        EntryRequest((Move("P:budget", "P:funding", 1),), flow=""),
        EntryRequest((Move("P:budget", "P:funding", 1),), flow="x", memo="line\nbreak"),
        EntryRequest(
            (Move("P:budget", "P:funding", 1),), flow="x", posted_at=datetime(2025, 1, 1)
        ),  # naive
        EntryRequest(
            (Move("P:budget", "P:funding", 1),),
            flow="x",
            posted_at=datetime.now(UTC) + timedelta(days=1),
        ),
        EntryRequest(
            (Move("P:budget", "P:funding", 1),),
            flow="x",
            posted_at=datetime(2000, 1, 1, tzinfo=UTC),
        ),  # before the head
    ],
)
def test_malformed_requests_are_refused(chart, request_):
    with pytest.raises(InvalidInput), transaction(chart) as s:
        post_entry(s, request_)
    with transaction(chart) as s:
        assert head(s)[0] == 2


def test_accounts_of_different_ledgers_cannot_meet(chart):
    with transaction(chart) as s:
        open_chart(s, ledger="Q")
    with pytest.raises(InvalidInput, match="different ledgers"), transaction(chart) as s:
        post_entry(s, EntryRequest((Move("Q:budget", "P:funding", 1),), flow="x"))


def test_unknown_account_is_refused(chart):
    with pytest.raises(NotFound, match="P:nowhere"), transaction(chart) as s:
        post_entry(s, EntryRequest((Move("P:nowhere", "P:funding", 1),), flow="x"))


def test_refusals_read_the_same_on_every_path_and_leave_the_transaction_usable(chart):
    """Each refusal's class, message and detail, word for word (the PostgreSQL function
    must raise what the Python path raises); the caller may go on in the same transaction."""
    from sqlalchemy import func, select

    from ledger.core.accounts import open_account
    from ledger.core.models import JournalEntry

    with transaction(chart) as s:
        open_account(s, "P:owed", "P", debits_must_not_exceed_credits=True)
        open_chart(s, ledger="Q")
        hold_id = create_hold(s, "P:provider:S1", "P:voucher:V1", 400).transfers[0].id
        done_id = create_hold(s, "P:provider:S1", "P:voucher:V1", 10).transfers[0].id
        void_hold(s, done_id)
        spent = post_entry(s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 5),), flow="x"))
        reversal = reverse_entry(s, spent.id)
        post_entry(s, EntryRequest((Move("P:budget", "P:funding", 1),), flow="x",
                                   idempotency_key="k"))
        last = get_entry(s, reversal.id).posted_at
    old = datetime(2000, 1, 1, tzinfo=UTC)
    future = datetime.now(UTC) + timedelta(days=1)
    move = Move("P:provider:S1", "P:voucher:V1", 1)
    cases = [
        (lambda s: post_entry(s, EntryRequest((Move("P:zz", "P:aa", 1),), flow="x")),
         NotFound, "no account P:aa", {"code_value": "P:aa"}),
        (lambda s: post_entry(s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 601),),
                                              flow="x")),
         InsufficientBalance, "account P:voucher:V1 cannot give 601 fen: 600 available after holds",
         {"account": "P:voucher:V1", "requested": 601, "available": 600}),
        (lambda s: post_entry(s, EntryRequest((Move("P:owed", "P:funding", 7),), flow="x")),
         InsufficientBalance, "account P:owed cannot take 7 fen: 0 available after holds",
         {"account": "P:owed", "requested": 7, "available": 0}),
        (lambda s: post_entry(s, EntryRequest((Move("Q:budget", "P:funding", 1),), flow="x")),
         InvalidInput, "accounts Q:budget and P:funding belong to different ledgers (Q, P)", {}),
        (lambda s: post_hold(s, 9999), NotFound, "no pending transfer 9999", {}),
        (lambda s: void_hold(s, done_id), Conflict,
         f"pending transfer {done_id} was already posted or voided", {}),
        (lambda s: post_hold(s, hold_id, 401), InvalidInput,
         f"cannot post 401 fen of pending transfer {hold_id}, which holds 400",
         {"field": "amount"}),
        (lambda s: reverse_entry(s, spent.id), Conflict,
         f"entry {spent.id} was already reversed by entry {reversal.id}",
         {"reversed_by": reversal.id}),
        (lambda s: post_entry(s, EntryRequest((move,), flow="x", posted_at=future)),
         InvalidInput, f"posted_at {future.isoformat()} lies in the future",
         {"field": "posted_at"}),
        (lambda s: post_entry(s, EntryRequest((move,), flow="x", posted_at=old)),
         InvalidInput,
         f"posted_at {old.isoformat()} precedes the last posting on account P:provider:S1 "
         f"({last.isoformat()}); imported history must come in time order",
         {"field": "posted_at"}),
        (lambda s: post_entry(s, EntryRequest((Move("P:budget", "P:funding", 2),), flow="x",
                                              idempotency_key="k")),
         IdempotencyConflict, "idempotency key 'k' was used before with different content",
         {"key": "k"}),
    ]
    for attempt, error, message, detail in cases:
        with transaction(chart) as s:
            written = s.scalar(select(func.count()).select_from(JournalEntry))
            with pytest.raises(error) as refused:
                attempt(s)
            assert (type(refused.value), refused.value.message) == (error, message)
            assert refused.value.detail == detail
            # Nothing was written and the transaction goes on.
            assert s.scalar(select(func.count()).select_from(JournalEntry)) == written
            post_entry(s, EntryRequest((Move("P:budget", "P:funding", 1),), flow="after"))
    with transaction(chart) as s:
        assert balance(s, "P:budget").debits_posted == 1000 + 1 + len(cases)
        assert verify(s).ok


def test_a_posting_sees_an_account_the_session_has_not_written_yet(sessions):
    # The SQLite path reads with the driver's own statements: what the ORM holds unflushed
    # must be written first, as autoflush does for the ORM's reads.
    from ledger.core.models import Account

    with transaction(sessions) as s:
        open_chart(s)
        s.add(Account(code="P:voucher:V2", ledger="P", credits_must_not_exceed_debits=True,
                      debits_pending=0, debits_posted=0, credits_pending=0, credits_posted=0,
                      opened_at=datetime.now(UTC)))
        post_entry(s, EntryRequest((Move("P:voucher:V2", "P:funding", 10),), flow="manual"))
    with transaction(sessions) as s:
        assert balance(s, "P:voucher:V2").debits_posted == 10
        assert verify(s).ok
