"""Posting to the journal, with TigerBeetle's transfer semantics.

A journal entry groups transfers that post together or not at all. A transfer is `normal`
(posted at once), `pending` (a hold: counted in the pending totals and against limits),
`post_pending` (posts all or part of a hold; the rest is released) or `void_pending`
(releases a hold). Limits count pending holds and are checked transfer by transfer inside
the posting transaction, after the accounts it touches have been locked (in id order, so
postings never deadlock and postings on other accounts never wait), so two concurrent
postings can never spend the same fen. The entry is queued for the seal step, which chains it
by hash after commit (ledger.core.seal; on SQLite, just before its unit of work commits).
Posted rows are never changed: a correction is a reversing entry that names the entry it
reverses, at most once. See docs/ledger.md.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, or_, select, text
from sqlalchemy.orm import Session, aliased

from ledger.core import acting
from ledger.core.accounts import check_account_code
from ledger.core.chain import check_text, encode_entry, stored_moment, timestamp_us
from ledger.core.db import after_commit, driver_many, driver_rows
from ledger.core.errors import (
    Conflict,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
)
from ledger.core.idempotency import content_hash, recall, remember
from ledger.core.models import (
    Account,
    AccountHistory,
    JournalEntry,
    JournalSeal,
    LedgerHead,
    Transfer,
    UnsealedEntry,
)
from ledger.core.money import MAX_FEN
from ledger.core.pg_posting import (
    EntryFields,
    ServerTransfers,
    ledger_post,
    on_server,
)
from ledger.core.seal import seal_after_commit, seal_before_commit, seal_committed

IDEMPOTENCY_SCOPE = "ledger.post"
_CHUNK = 5000


@dataclass(frozen=True)
class Move:
    """Debit `debit` and credit `credit` by `amount` fen; `pending=True` makes it a hold."""

    debit: str
    credit: str
    amount: int
    pending: bool = False


@dataclass(frozen=True)
class PostPending:
    """Post hold `pending_id` in full, or `amount` of it (the rest is released)."""

    pending_id: int
    amount: int | None = None


@dataclass(frozen=True)
class VoidPending:
    """Release hold `pending_id` entirely."""

    pending_id: int


TransferRequest = Move | PostPending | VoidPending


@dataclass(frozen=True)
class EntryRequest:
    """What to post: transfers plus who (actor), why (flow, ref, memo) and an optional key.

    `posted_at` is for importing history: it may not precede the last posting on any account
    it touches nor lie in the future. Left out, the entry is stamped with the time of posting.
    """

    transfers: tuple[TransferRequest, ...]
    flow: str = "manual"
    ref: str = ""
    actor: str = "system"
    memo: str = ""
    idempotency_key: str | None = None
    posted_at: datetime | None = None
    # Set only by reverse_entry(), which checks that the transfers undo that entry.
    reverses_entry_id: int | None = None


class PostedTransfer(NamedTuple):
    """A transfer as written to the journal (immutable; a NamedTuple because a batch builds
    one per transfer, and a frozen dataclass's constructor costs three times as much)."""

    id: int
    debit: str
    credit: str
    amount: int
    kind: str
    pending_id: int | None = None


class PostedEntry(NamedTuple):
    """An entry as written; `replayed` is True when an idempotency key returned it again.

    `prev_hash` and `hash` are its seal's, None until the seal step has chained it.
    """

    id: int
    posted_at: datetime
    flow: str
    ref: str
    actor: str
    memo: str
    reverses_entry_id: int | None
    prev_hash: str | None
    hash: str | None
    transfers: tuple[PostedTransfer, ...]
    replayed: bool = False


@dataclass(eq=False)  # identity comparison: `in touched` must not compare totals
class _AccountState:
    id: int
    code: str
    ledger: str
    limit_credits: bool
    limit_debits: bool
    totals: list[int]  # debits_pending, debits_posted, credits_pending, credits_posted
    last_at: datetime | None = None
    changed: bool = False


@dataclass
class _Hold:
    id: int
    debit_id: int
    credit_id: int
    amount: int
    resolved: bool


@dataclass
class _Batch:
    accounts: dict[int, _AccountState] = field(default_factory=dict)
    by_code: dict[str, _AccountState] = field(default_factory=dict)
    holds: dict[int, _Hold] = field(default_factory=dict)
    # SQLite: the session's connection, looked up once per posting (the ORM's lookup costs).
    connection: Connection | None = None

    def add(self, state: _AccountState) -> None:
        """Keep a locked account, by id and by code."""
        self.accounts[state.id] = state
        self.by_code[state.code] = state

    def complete(self, codes: set[str], holds: list[tuple[int, int, int, int]],
                 resolved: set[int]) -> None:
        """Refuse an account code not loaded; keep the holds, each open unless `resolved`."""
        missing = sorted(codes - self.by_code.keys())
        if missing:
            raise NotFound(f"no account {missing[0]}", code_value=missing[0])
        for tid, debit_id, credit_id, amount in holds:
            self.holds[tid] = _Hold(tid, debit_id, credit_id, amount, tid in resolved)

    def snapshot(self) -> Callable[[], None]:
        """A function that puts every total, time and hold back as they are now."""
        states = [(s, list(s.totals), s.last_at, s.changed) for s in self.accounts.values()]
        holds = {k: (h, h.resolved) for k, h in self.holds.items()}

        def restore() -> None:
            for state, totals, last_at, changed in states:
                state.totals, state.last_at, state.changed = totals, last_at, changed
            self.holds = {}
            for k, (hold, resolved) in holds.items():
                hold.resolved = resolved
                self.holds[k] = hold

        return restore


# ---------------------------------------------------------------------------- public API


def post_entry(session: Session, request: EntryRequest) -> PostedEntry:
    """Post one entry (all its transfers or none) and return it as written."""
    if on_server(session):
        _check_request(request)
        if request.reverses_entry_id is not None:
            raise InvalidInput("use reverse_entry() to post a reversal")
        return _post_on_server(session, request)
    return post_entries(session, [request])[0]


def _post_on_server(session: Session, request: EntryRequest) -> PostedEntry:
    """PostgreSQL: lock, check and write the entry in one statement (ledger.core.pg_posting)."""
    transfers = ServerTransfers([], [], [], [], [])
    for t in request.transfers:
        if isinstance(t, Move):
            row = ("pending" if t.pending else "normal", t.debit, t.credit, t.amount, None)
        elif isinstance(t, PostPending):
            row = ("post_pending", None, None, t.amount, t.pending_id)
        else:
            row = ("void_pending", None, None, None, t.pending_id)
        transfers.kinds.append(row[0])
        transfers.debits.append(row[1])
        transfers.credits.append(row[2])
        transfers.amounts.append(row[3])
        transfers.pending_ids.append(row[4])
    key = request.idempotency_key
    written = ledger_post(session, transfers, EntryFields(
        request.flow, request.ref, request.actor, request.memo, request.posted_at,
        request.reverses_entry_id, key, None if key is None else _request_hash(request),
        IDEMPOTENCY_SCOPE,
    ))
    if written.replayed:
        return _as_replay(get_entry(session, written.id))
    seal_after_commit(session, written.id)
    assert written.posted_at is not None
    return PostedEntry(
        written.id, written.posted_at, request.flow, request.ref, request.actor, request.memo,
        request.reverses_entry_id, None, None,
        tuple(PostedTransfer(*t) for t in written.transfers),
    )


def post_entries(session: Session, requests: Sequence[EntryRequest]) -> list[PostedEntry]:
    """Post many entries in the caller's transaction: all of them or, on any error, none."""
    requests = list(requests)
    codes_seen: set[str] = set()
    previous = None
    for request in requests:
        _check_request(request, codes_seen, previous)
        if request.reverses_entry_id is not None:
            raise InvalidInput("use reverse_entry() to post a reversal")
        previous = request
    return _post(session, requests)


def _post(
    session: Session,
    requests: list[EntryRequest],
    check_locked: Callable[[Session], None] | None = None,
) -> list[PostedEntry]:
    if not requests:
        return []
    if all(r.idempotency_key is None for r in requests):  # a batch, usually: nothing to recall
        return _post_new(session, requests, check_locked)
    _serialise_keys(session, requests)
    results: list[PostedEntry | None] = [None] * len(requests)
    todo, key_hashes, same_as = _recall_keys(session, requests, results)
    if todo:
        written = _post_new(session, [requests[i] for i in todo], check_locked)
        for index, entry in zip(todo, written, strict=True):
            results[index] = entry
            key = requests[index].idempotency_key
            if key is not None:
                remember(session, IDEMPOTENCY_SCOPE, key, key_hashes[index], str(entry.id))
    for index, first in same_as.items():
        results[index] = _as_replay(results[first])
    return [entry for entry in results if entry is not None]


def _post_new(
    session: Session,
    requests: list[EntryRequest],
    check_locked: Callable[[Session], None] | None,
) -> list[PostedEntry]:
    """Lock and load the accounts, run `check_locked`, then number, check and write."""
    batch = _load_batch(session, requests)
    if check_locked is not None:
        check_locked(session)
    with _no_cycle_collection(len(requests)):
        return _apply(session, batch, requests)


@contextmanager
def _no_cycle_collection(size: int) -> Iterator[None]:
    """Hold off Python's cycle collector while a large batch builds its rows: they hold no
    cycles, yet their allocations set off collections that cost ~15 % of a 10,000-entry
    batch (every object is still freed by its reference count)."""
    if size < _GC_PAUSE_FROM or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_GC_PAUSE_FROM = 1000


def create_hold(
    session: Session, debit: str, credit: str, amount: int, **meta: object
) -> PostedEntry:
    """Place a pending transfer (a hold); its id is `entry.transfers[0].id`."""
    return post_entry(session, EntryRequest((Move(debit, credit, amount, pending=True),), **meta))  # type: ignore[arg-type]


def post_hold(
    session: Session, pending_id: int, amount: int | None = None, **meta: object
) -> PostedEntry:
    """Post a hold in full or in part; the part not posted is released."""
    return post_entry(session, EntryRequest((PostPending(pending_id, amount),), **meta))  # type: ignore[arg-type]


def void_hold(session: Session, pending_id: int, **meta: object) -> PostedEntry:
    """Release a hold entirely."""
    return post_entry(session, EntryRequest((VoidPending(pending_id),), **meta))  # type: ignore[arg-type]


def reverse_entry(
    session: Session,
    entry_id: int,
    *,
    flow: str = "reversal",
    ref: str = "",
    actor: str = "system",
    memo: str = "",
    idempotency_key: str | None = None,
) -> PostedEntry:
    """Post a new entry that undoes posted entry `entry_id` and names it; at most once."""
    original = get_entry(session, entry_id)
    if original.reverses_entry_id is not None:
        raise Conflict(f"entry {entry_id} is itself a reversal; post a new entry instead")
    if any(t.kind in ("pending", "void_pending") for t in original.transfers):
        raise Conflict(f"entry {entry_id} holds or releases funds; void the hold instead")
    swapped = tuple(Move(t.credit, t.debit, t.amount) for t in original.transfers)
    request = EntryRequest(
        swapped, flow, ref, actor, memo, idempotency_key, reverses_entry_id=entry_id
    )
    _check_request(request)
    if on_server(session):
        return _post_on_server(session, request)

    def not_yet_reversed(locked: Session) -> None:
        # Read once the accounts are locked: a concurrent reversal of this entry holds them.
        reversed_by = locked.scalar(
            select(JournalEntry.id).where(JournalEntry.reverses_entry_id == entry_id)
        )
        if reversed_by is not None:
            raise Conflict(
                f"entry {entry_id} was already reversed by entry {reversed_by}",
                reversed_by=reversed_by,
            )

    return _post(session, [request], not_yet_reversed)[0]


def get_entry(session: Session, entry_id: int) -> PostedEntry:
    """Read a posted entry, its seal's hashes (None before sealing) and transfers, or NotFound."""
    found = session.execute(
        select(JournalEntry, JournalSeal.prev_hash, JournalSeal.hash)
        .outerjoin(JournalSeal, JournalSeal.entry_id == JournalEntry.id)
        .where(JournalEntry.id == entry_id)
    ).one_or_none()
    if found is None:
        raise NotFound(f"no journal entry {entry_id}")
    entry, prev_hash, entry_hash = found
    debit, credit = aliased(Account), aliased(Account)
    rows = session.execute(
        select(
            Transfer.id,
            debit.code,
            credit.code,
            Transfer.amount,
            Transfer.kind,
            Transfer.pending_id,
        )
        .join(debit, debit.id == Transfer.debit_account_id)
        .join(credit, credit.id == Transfer.credit_account_id)
        .where(Transfer.entry_id == entry_id)
        .order_by(Transfer.id)
    ).all()
    return PostedEntry(
        entry.id,
        entry.posted_at,
        entry.flow,
        entry.ref,
        entry.actor,
        entry.memo,
        entry.reverses_entry_id,
        prev_hash,
        entry_hash,
        tuple(PostedTransfer(*row) for row in rows),
    )


def head(session: Session) -> tuple[int, str]:
    """The number of sealed entries (the chain's length) and the head hash they end in."""
    row = session.execute(select(LedgerHead.sealed_entries, LedgerHead.head_hash)).one()
    return row.sealed_entries, row.head_hash


# ---------------------------------------------------------------------------- internals


def _check_request(
    request: EntryRequest,
    codes_seen: set[str] | None = None,
    previous: EntryRequest | None = None,
) -> None:
    """Refuse a malformed request; a text equal to the `previous` request's (already checked:
    a batch's entries mostly share flow, actor and memo) is not scanned again."""
    if not isinstance(request, EntryRequest):
        raise InvalidInput("expected an EntryRequest")
    if not request.transfers:
        raise InvalidInput("a journal entry needs at least one transfer")
    if previous is None or request.flow != previous.flow:
        check_text("flow", request.flow, 64)
        if not request.flow:
            raise InvalidInput("flow must name why the entry is posted", field="flow")
    check_text("ref", request.ref, 160)
    if previous is None or request.actor != previous.actor:
        check_text("actor", request.actor, 160)
    if previous is None or request.memo != previous.memo:
        check_text("memo", request.memo, 500)
    if request.posted_at is not None and request.posted_at.tzinfo is None:
        raise InvalidInput("posted_at must carry a time zone", field="posted_at")
    for transfer in request.transfers:
        if isinstance(transfer, Move):
            for code in (transfer.debit, transfer.credit):
                if codes_seen is None or code not in codes_seen:
                    check_account_code(code)
                    if codes_seen is not None:
                        codes_seen.add(code)
            amount = transfer.amount
            # The usual case without a call (a batch checks one or two amounts an entry);
            # `type(...) is int` leaves out bool, as `_check_amount` does.
            if type(amount) is not int or not 0 < amount <= MAX_FEN:
                _check_amount(amount)
            if transfer.debit == transfer.credit:
                raise InvalidInput(f"transfer debits and credits the same account {transfer.debit}")
        elif isinstance(transfer, PostPending | VoidPending):
            if isinstance(transfer.pending_id, bool) or not isinstance(transfer.pending_id, int):
                raise InvalidInput("pending_id must be a transfer id")
            if isinstance(transfer, PostPending) and transfer.amount is not None:
                _check_amount(transfer.amount)
        else:
            raise InvalidInput(f"unknown transfer request {transfer!r}")


def _check_amount(amount: object) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(
            f"amount must be an integer number of fen, got {amount!r}", field="amount"
        )
    if not 0 < amount <= MAX_FEN:
        raise InvalidInput(
            f"amount must be between 1 and {MAX_FEN} fen, got {amount}", field="amount"
        )


def _request_hash(request: EntryRequest) -> str:
    return content_hash(
        [
            request.flow,
            request.ref,
            request.actor,
            request.memo,
            request.reverses_entry_id,
            None if request.posted_at is None else request.posted_at.isoformat(),
            [[type(t).__name__, *t.__dict__.values()] for t in request.transfers],
        ]
    )


def _recall_keys(
    session: Session, requests: list[EntryRequest], results: list[PostedEntry | None]
) -> tuple[list[int], dict[int, str], dict[int, int]]:
    """Split requests into those to post and those replayed by their idempotency key."""
    todo: list[int] = []
    key_hashes: dict[int, str] = {}
    same_as: dict[int, int] = {}
    first_in_batch: dict[str, int] = {}
    for index, request in enumerate(requests):
        key = request.idempotency_key
        if key is None:
            todo.append(index)
            continue
        key_hashes[index] = _request_hash(request)
        if key in first_in_batch:
            first = first_in_batch[key]
            if key_hashes[first] != key_hashes[index]:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} was used twice with different content", key=key
                )
            same_as[index] = first
            continue
        first_in_batch[key] = index
        stored = recall(session, IDEMPOTENCY_SCOPE, key, key_hashes[index])
        if stored is None:
            todo.append(index)
        else:
            results[index] = _as_replay(get_entry(session, int(stored)))
    return todo, key_hashes, same_as


def _as_replay(entry: PostedEntry | None) -> PostedEntry:
    assert entry is not None
    return entry._replace(replayed=True)


def _chunks(values: list[int] | list[str]) -> list[list]:  # type: ignore[type-arg]
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _serialise_keys(session: Session, requests: list[EntryRequest]) -> None:
    """On PostgreSQL, make concurrent postings with one idempotency key run one after the
    other (so the second replays the first): advisory locks, in one order, before any row."""
    keys = sorted({r.idempotency_key for r in requests if r.idempotency_key is not None})
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT hashtextextended(k, 0) AS h "
            "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS ordered"
        ),
        {"keys": [f"{IDEMPOTENCY_SCOPE}\x1f{k}" for k in keys]},
    )


_ACCOUNT_COLUMNS = (
    Account.id,
    Account.code,
    Account.ledger,
    Account.credits_must_not_exceed_debits,
    Account.debits_must_not_exceed_credits,
    Account.debits_pending,
    Account.debits_posted,
    Account.credits_pending,
    Account.credits_posted,
    Account.last_posted_at,
)


def _load_batch(session: Session, requests: list[EntryRequest]) -> _Batch:
    """Lock every account the requests touch, in id order, and load them and their holds.

    One fixed order (ascending account id, in a single statement or in ascending id chunks)
    means two postings can wait for each other but never deadlock; nothing else is locked.
    """
    codes: set[str] = set()
    hold_ids: set[int] = set()
    for request in requests:
        for t in request.transfers:
            if isinstance(t, Move):
                codes.update((t.debit, t.credit))
            else:
                hold_ids.add(t.pending_id)
    if session.get_bind().dialect.name == "sqlite":
        return _load_batch_sqlite(session, codes, hold_ids)
    batch = _Batch()
    # A hold's accounts and amount never change, so they are read before locking.
    holds: list[tuple[int, int, int, int]] = []
    for chunk in _chunks(sorted(hold_ids)):
        holds += session.execute(
            select(
                Transfer.id, Transfer.debit_account_id, Transfer.credit_account_id, Transfer.amount
            ).where(Transfer.id.in_(chunk), Transfer.kind == "pending")
        ).all()
    account_ids = {h[1] for h in holds} | {h[2] for h in holds}
    for condition in _lock_conditions(session, sorted(codes), account_ids):
        rows = session.execute(
            select(*_ACCOUNT_COLUMNS).where(condition).order_by(Account.id).with_for_update()
        ).all()
        for aid, code, ledger, limit_credits, limit_debits, *totals, last_at in rows:
            batch.add(_AccountState(aid, code, ledger, limit_credits, limit_debits, totals,
                                    last_at))
    # Whether a hold is still open is read under the locks: resolving it locks its accounts.
    resolved: set[int] = set()
    for chunk in _chunks([h[0] for h in holds]):
        resolved.update(
            session.scalars(select(Transfer.pending_id).where(Transfer.pending_id.in_(chunk)))
        )
    batch.complete(codes, holds, resolved)
    return batch


def _load_batch_sqlite(session: Session, codes: set[str], hold_ids: set[int]) -> _Batch:
    """`_load_batch` on SQLite: the transaction's BEGIN IMMEDIATE already holds the one write
    lock, so there is no row lock to order; plain statements on the driver's cursor (a
    compiled SQLAlchemy statement cost more than SQLite's work for a single posting)."""
    # What the ORM holds unwritten (an account opened in this unit of work, say) must be
    # visible to the driver's statements, as autoflush made it to the ORM's.
    session.flush()
    connection = session.connection()
    batch = _Batch(connection=connection)
    holds: list[tuple[int, int, int, int]] = []
    for chunk in _chunks(sorted(hold_ids)):
        holds += driver_rows(
            connection,
            "SELECT id, debit_account_id, credit_account_id, amount FROM transfers "
            f"WHERE kind = 'pending' AND id IN ({_marks(len(chunk))})",
            chunk,
        )
    wanted = [("code", chunk) for chunk in _chunks(sorted(codes))]
    hold_accounts = sorted({h[1] for h in holds} | {h[2] for h in holds})
    wanted += [("id", chunk) for chunk in _chunks(hold_accounts)]
    for column, chunk in wanted:
        rows = driver_rows(
            connection, f"{_ACCOUNT_SELECT} WHERE {column} IN ({_marks(len(chunk))})", chunk
        )
        for aid, code, ledger, limit_credits, limit_debits, *totals, last_raw in rows:
            if aid in batch.accounts:
                continue
            last_at = None if last_raw is None else stored_moment(last_raw)
            batch.add(_AccountState(
                aid, code, ledger, bool(limit_credits), bool(limit_debits), totals, last_at
            ))
    resolved: set[int] = set()
    for chunk in _chunks([h[0] for h in holds]):
        resolved.update(
            r[0]
            for r in driver_rows(
                connection,
                f"SELECT pending_id FROM transfers WHERE pending_id IN ({_marks(len(chunk))})",
                chunk,
            )
        )
    batch.complete(codes, holds, resolved)
    return batch


_ACCOUNT_SELECT = (
    "SELECT id, code, ledger, credits_must_not_exceed_debits, debits_must_not_exceed_credits, "
    "debits_pending, debits_posted, credits_pending, credits_posted, last_posted_at FROM accounts"
)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _lock_conditions(session: Session, codes: list[str], ids: set[int]) -> list[object]:
    """WHERE clauses that select the accounts to lock, in ascending id order across clauses."""
    if len(codes) + len(ids) <= _CHUNK:
        return [or_(Account.code.in_(codes), Account.id.in_(sorted(ids)))]
    # Too many for one statement: look the ids up (codes never change), then lock by id range.
    for chunk in _chunks(codes):
        ids.update(session.scalars(select(Account.id).where(Account.code.in_(chunk))))
    return [Account.id.in_(chunk) for chunk in _chunks(sorted(ids))]


_ENTRY_COLUMNS = ("id", "posted_at", "flow", "ref", "actor", "memo", "reverses_entry_id")
_TRANSFER_COLUMNS = (
    "id",
    "entry_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "kind",
    "pending_id",
)
_HISTORY_COLUMNS = (
    "account_id",
    "entry_id",
    "posted_at",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
)


@dataclass
class _Rows:
    entries: list[tuple[object, ...]] = field(default_factory=list)
    transfers: list[tuple[object, ...]] = field(default_factory=list)
    history: dict[tuple[int, datetime], tuple[object, ...]] = field(default_factory=dict)
    posted: list[PostedEntry] = field(default_factory=list)
    bodies: list[tuple[int, datetime, bytes]] = field(default_factory=list)


def _apply(session: Session, batch: _Batch, requests: list[EntryRequest]) -> list[PostedEntry]:
    """Number, check and apply every request in memory, then write all rows in a few statements.

    On PostgreSQL ids come from sequences, drawn only once every request has passed its checks
    (a refused posting uses up no id); the checks run on the ids the sequences would give next
    and run again in the rare case that a concurrent posting drew those first.
    """
    now = acting.now()
    n_transfers = sum(len(r.transfers) for r in requests)
    stored_time = _StoredTime(session)
    if session.get_bind().dialect.name != "postgresql":
        return _apply_here(session, batch, requests, now, n_transfers, stored_time)
    next_entry, next_transfer = session.execute(
        text(
            "SELECT (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END "
            "FROM journal_entry_ids), (SELECT CASE WHEN is_called THEN last_value + 1 "
            "ELSE last_value END FROM transfer_ids)"
        )
    ).one()
    guess_entries = list(range(next_entry, next_entry + len(requests)))
    guess_transfers = list(range(next_transfer, next_transfer + n_transfers))
    restore = batch.snapshot()
    rows = _number_and_check(batch, requests, guess_entries, guess_transfers, now, stored_time)
    entry_ids, transfer_ids = _draw_ids(session, len(requests), n_transfers)
    if (entry_ids, transfer_ids) != (guess_entries, guess_transfers):
        restore()
        rows = _number_and_check(batch, requests, entry_ids, transfer_ids, now, stored_time)
    _insert_many(session, JournalEntry.__tablename__, _ENTRY_COLUMNS, rows.entries)
    _insert_many(session, Transfer.__tablename__, _TRANSFER_COLUMNS, rows.transfers)
    history = list(rows.history.values())
    _insert_many(session, AccountHistory.__tablename__, _HISTORY_COLUMNS, history)
    _update_totals(session, batch)
    _queue(session, rows.posted, stored_time(_queued_now()))
    return rows.posted


def _queued_now() -> datetime:
    """When entries are queued: the real time, even while a business clock replays a dated
    history, because the seal bound `verify` holds them to is real time (as PostgreSQL's
    posting function and a unit's held entries stamp them)."""
    return datetime.now(UTC)


def _queue(session: Session, posted: list[PostedEntry], queued_at: object) -> None:
    """Queue the entries for the seal step after commit."""
    _insert_many(
        session,
        UnsealedEntry.__tablename__,
        ("entry_id", "queued_at"),
        [(entry.id, queued_at) for entry in posted],
    )
    after_commit(session, seal_committed)


def _apply_here(
    session: Session,
    batch: _Batch,
    requests: list[EntryRequest],
    now: datetime,
    n_transfers: int,
    stored_time: _StoredTime,
) -> list[PostedEntry]:
    """`_apply` on SQLite: ids follow the largest taken (one writer), rows are written with
    the driver's own statements, and inside a `transaction` the entries are sealed right
    before it commits from the bytes encoded here (ledger.core.seal.seal_before_commit),
    without a queue row; elsewhere they are queued for the seal step after commit."""
    connection = batch.connection or session.connection()
    ((first_entry, first_transfer),) = driver_rows(connection, _NEXT_IDS, ())
    entry_ids = list(range(first_entry, first_entry + len(requests)))
    transfer_ids = list(range(first_transfer, first_transfer + n_transfers))
    rows = _number_and_check(batch, requests, entry_ids, transfer_ids, now, stored_time,
                             encode=True)
    driver_many(connection, _insert_sql(JournalEntry.__tablename__, _ENTRY_COLUMNS), rows.entries)
    driver_many(connection, _insert_sql(Transfer.__tablename__, _TRANSFER_COLUMNS), rows.transfers)
    driver_many(
        connection,
        _insert_sql(AccountHistory.__tablename__, _HISTORY_COLUMNS),
        list(rows.history.values()),
    )
    driver_many(connection, _UPDATE_TOTALS, _totals_rows(batch, stored_time))
    if not seal_before_commit(session, rows.bodies, connection):
        # Not a unit `transaction` opened (rare): queued for the seal step, as on PostgreSQL.
        _queue(session, rows.posted, stored_time(_queued_now()))
    return rows.posted


_NEXT_IDS = (
    "SELECT (SELECT coalesce(max(id), 0) + 1 FROM journal_entries), "
    "(SELECT coalesce(max(id), 0) + 1 FROM transfers)"
)
_UPDATE_TOTALS = (
    "UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, "
    "credits_posted = ?, last_posted_at = ? WHERE id = ?"
)


@cache
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(len(columns))})"


def _totals_rows(batch: _Batch, stored_time: _StoredTime) -> list[tuple[object, ...]]:
    """(totals…, last_posted_at, id) of every account the batch changed."""
    return [
        (*s.totals, None if s.last_at is None else stored_time(s.last_at), s.id)
        for s in batch.accounts.values()
        if s.changed
    ]


def _draw_ids(session: Session, entries: int, transfers: int) -> tuple[list[int], list[int]]:
    """Take `entries` entry ids and `transfers` transfer ids from PostgreSQL's sequences."""
    drawn = session.execute(
        text(
            "SELECT 'e', nextval('journal_entry_ids') FROM generate_series(1, :e) "
            "UNION ALL SELECT 't', nextval('transfer_ids') FROM generate_series(1, :t)"
        ),
        {"e": entries, "t": transfers},
    ).all()
    return (
        sorted(v for k, v in drawn if k == "e"),
        sorted(v for k, v in drawn if k == "t"),
    )


def _number_and_check(
    batch: _Batch,
    requests: list[EntryRequest],
    entry_ids: list[int],
    transfer_ids: list[int],
    now: datetime,
    stored_time: _StoredTime,
    encode: bool = False,
) -> _Rows:
    """Apply the requests to the locked accounts in memory under the given ids; with `encode`
    each entry's canonical bytes too (`rows.bodies`, for the seal on SQLite)."""
    rows = _Rows()
    next_transfer = iter(transfer_ids)
    transfer_rows, entry_rows, history, posted, bodies = (
        rows.transfers, rows.entries, rows.history, rows.posted, rows.bodies
    )
    # No loaded account was posted to after `now` (the usual case): an entry without a
    # requested time is stamped `now` without looking at its accounts (times only grow to
    # `now`: a requested time may not lie in the future).
    now_is_latest = all(s.last_at is None or s.last_at <= now for s in batch.accounts.values())
    stored_now = stored_time(now)
    # Every entry at `now` (a batch or an import without requested times): each account
    # gets one history row, its last entry's, written once at the end (not per entry).
    one_time = now_is_latest and all(r.posted_at is None for r in requests)
    last_entry: dict[_AccountState, int] = {}
    micros_now = timestamp_us(now)
    for request, entry_id in zip(requests, entry_ids, strict=True):
        if one_time:
            posted_at, stored_at = now, stored_now
        else:
            posted_at = _stamp(request.posted_at, now, _accounts_of(batch, request))
            stored_at = stored_time(posted_at)
        transfers: list[PostedTransfer] = []
        touched: list[_AccountState] = []
        for t in request.transfers:
            x, debit, credit = _apply_transfer(batch, next(next_transfer), t)
            transfers.append(x)
            transfer_rows.append(
                (x.id, entry_id, debit.id, credit.id, x.amount, x.kind, x.pending_id)
            )
            if one_time:
                last_entry[debit] = last_entry[credit] = entry_id
            else:
                if debit not in touched:
                    touched.append(debit)
                if credit not in touched:
                    touched.append(credit)
        reverses = request.reverses_entry_id
        flow, ref, actor, memo = request.flow, request.ref, request.actor, request.memo
        entry_rows.append((entry_id, stored_at, flow, ref, actor, memo, reverses))
        for state in touched:
            state.last_at = posted_at
            state.changed = True
            # One history row per account and posting time: as_of cannot tell them apart.
            history[(state.id, posted_at)] = (state.id, entry_id, stored_at, *state.totals)
        posted.append(PostedEntry(
            entry_id, posted_at, flow, ref, actor, memo, reverses, None, None, tuple(transfers)
        ))
        if encode:
            bodies.append((entry_id, posted_at, encode_entry(
                entry_id, micros_now if posted_at == now else timestamp_us(posted_at), flow, ref,
                actor, memo, reverses, transfers,  # a PostedTransfer unpacks in that order
            )))
    for state, entry_id in last_entry.items():
        state.last_at = now
        state.changed = True
        history[(state.id, now)] = (state.id, entry_id, stored_now, *state.totals)
    return rows


def _accounts_of(batch: _Batch, request: EntryRequest) -> list[_AccountState]:
    """The loaded accounts a request touches (a hold not found yet is refused later)."""
    states: list[_AccountState] = []
    for t in request.transfers:
        if isinstance(t, Move):
            states += [batch.by_code[t.debit], batch.by_code[t.credit]]
        elif (hold := batch.holds.get(t.pending_id)) is not None:
            states += [batch.accounts[hold.debit_id], batch.accounts[hold.credit_id]]
    return states


class _StoredTime:
    """Converts a posting time to the driver's value once per distinct time (SQLAlchemy's own
    bind processing, so rows written here read back exactly like ORM-written ones)."""

    def __init__(self, session: Session) -> None:
        dialect = session.get_bind().dialect
        self._typed, self._process = _time_processors(dialect)
        self._dialect = dialect
        self._last: tuple[datetime, object] | None = None

    def __call__(self, moment: datetime) -> object:
        if self._last is None or self._last[0] != moment:
            value: object = self._typed(moment, self._dialect)
            if self._process is not None:
                value = self._process(value)
            self._last = (moment, value)
        return self._last[1]


@cache
def _time_processors(dialect: Any) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    column_type = JournalEntry.__table__.c.posted_at.type
    return column_type.process_bind_param, column_type.dialect_impl(dialect).bind_processor(dialect)


def _insert_many(
    session: Session, table: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]
) -> None:
    """INSERT rows with the driver's executemany: the journal's hot path skips per-row
    parameter processing (values are already in driver form)."""
    if not rows:
        return
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"
    connection.exec_driver_sql(sql, rows)


def _update_totals(session: Session, batch: _Batch) -> None:
    """Write the changed accounts' totals with the driver's executemany (a batch changes
    thousands of accounts; SQLAlchemy's per-row parameter handling cost more than SQLite)."""
    changed = [s for s in batch.accounts.values() if s.changed]
    if not changed:
        return
    connection = session.connection()
    dialect = connection.dialect
    column_type = Account.__table__.c.last_posted_at.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"UPDATE {Account.__tablename__} SET debits_pending = {mark}, debits_posted = {mark}, "
        f"credits_pending = {mark}, credits_posted = {mark}, last_posted_at = {mark} "
        f"WHERE id = {mark}"
    )
    stored: dict[object, object] = {}
    rows = []
    for s in changed:
        at = s.last_at
        if at not in stored:
            stored[at] = at if process is None or at is None else process(at)
        rows.append((*s.totals, stored[at], s.id))
    connection.exec_driver_sql(sql, rows)


def _stamp(requested: datetime | None, now: datetime, accounts: list[_AccountState]) -> datetime:
    """The entry's time: never before the last posting on any account it touches, so that each
    account's history (and `balance_as_of`) runs in time order."""
    latest = max(
        (s for s in accounts if s.last_at is not None),
        key=lambda s: s.last_at,  # type: ignore[arg-type,return-value]
        default=None,
    )
    last_at = None if latest is None else latest.last_at
    if requested is None:
        return now if last_at is None or now > last_at else last_at
    requested = requested.astimezone(UTC)
    if requested > now:
        raise InvalidInput(
            f"posted_at {requested.isoformat()} lies in the future", field="posted_at"
        )
    if latest is not None and last_at is not None and requested < last_at:
        raise InvalidInput(
            f"posted_at {requested.isoformat()} precedes the last posting on account "
            f"{latest.code} ({last_at.isoformat()}); imported history must come in time order",
            field="posted_at",
        )
    return requested


def _apply_transfer(
    batch: _Batch, transfer_id: int, t: TransferRequest
) -> tuple[PostedTransfer, _AccountState, _AccountState]:
    """Apply one transfer to the accounts in memory: the transfer as written, its accounts."""
    if isinstance(t, Move):
        debit, credit = batch.by_code[t.debit], batch.by_code[t.credit]
        if debit.ledger != credit.ledger:
            raise InvalidInput(
                f"accounts {debit.code} and {credit.code} belong to different ledgers "
                f"({debit.ledger}, {credit.ledger})"
            )
        amount = t.amount
        offset = 0 if t.pending else 1
        debit.totals[offset] += amount
        credit.totals[2 + offset] += amount
        # The limits' own test inline (a call per transfer cost more than the test).
        dt, ct = debit.totals, credit.totals
        if (debit.limit_credits and dt[2] + dt[3] > dt[1]) or (
            debit.limit_debits and dt[0] + dt[1] > dt[3]
        ):
            _check_limit(debit, amount)
        if (credit.limit_credits and ct[2] + ct[3] > ct[1]) or (
            credit.limit_debits and ct[0] + ct[1] > ct[3]
        ):
            _check_limit(credit, amount)
        if t.pending:
            batch.holds[transfer_id] = _Hold(transfer_id, debit.id, credit.id, amount, False)
            return PostedTransfer(transfer_id, debit.code, credit.code, amount, "pending"), \
                debit, credit
        return PostedTransfer(transfer_id, debit.code, credit.code, amount, "normal"), \
            debit, credit
    hold = batch.holds.get(t.pending_id)
    if hold is None:
        raise NotFound(f"no pending transfer {t.pending_id}")
    if hold.resolved:
        raise Conflict(f"pending transfer {t.pending_id} was already posted or voided")
    debit, credit = batch.accounts[hold.debit_id], batch.accounts[hold.credit_id]
    debit.totals[0] -= hold.amount
    credit.totals[2] -= hold.amount
    hold.resolved = True
    if isinstance(t, VoidPending):
        return PostedTransfer(
            transfer_id, debit.code, credit.code, hold.amount, "void_pending", hold.id
        ), debit, credit
    amount = hold.amount if t.amount is None else t.amount
    if amount > hold.amount:
        raise InvalidInput(
            f"cannot post {amount} fen of pending transfer {hold.id}, which holds {hold.amount}",
            field="amount",
        )
    debit.totals[1] += amount
    credit.totals[3] += amount
    return PostedTransfer(
        transfer_id, debit.code, credit.code, amount, "post_pending", hold.id
    ), debit, credit


def _check_limit(state: _AccountState, amount: int) -> None:
    dp, dpo, cp, cpo = state.totals
    if state.limit_credits and cp + cpo > dpo:
        raise InsufficientBalance(
            f"account {state.code} cannot give {amount} fen: "
            f"{dpo - cpo - cp + amount} available after holds",
            account=state.code,
            requested=amount,
            available=dpo - cpo - cp + amount,
        )
    if state.limit_debits and dp + dpo > cpo:
        raise InsufficientBalance(
            f"account {state.code} cannot take {amount} fen: "
            f"{cpo - dpo - dp + amount} available after holds",
            account=state.code,
            requested=amount,
            available=cpo - dpo - dp + amount,
        )
