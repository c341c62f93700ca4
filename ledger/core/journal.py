"""Posting to the journal, with TigerBeetle's transfer semantics.

A journal entry groups transfers that post together or not at all. A transfer is `normal`
(posted at once), `pending` (a hold: counted in the pending totals and against limits),
`post_pending` (posts all or part of a hold; the rest is released) or `void_pending`
(releases a hold). Limits count pending holds and are checked transfer by transfer inside
the posting transaction, after the ledger head row has been locked, so two concurrent
postings can never spend the same fen. Posted rows are never changed: a correction is a
reversing entry that names the entry it reverses, at most once. See docs/ledger.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, aliased

from ledger.core.accounts import check_account_code
from ledger.core.chain import chain_hash, check_text, encode_entry, timestamp_us
from ledger.core.errors import (
    Conflict,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
)
from ledger.core.idempotency import content_hash, recall, remember
from ledger.core.models import Account, AccountHistory, JournalEntry, LedgerHead, Transfer
from ledger.core.money import MAX_FEN

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

    `posted_at` is for importing history: it may not precede the journal's head nor lie in
    the future. Left out, the entry is stamped with the time of posting.
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


@dataclass(frozen=True)
class PostedTransfer:
    """A transfer as written to the journal."""

    id: int
    debit: str
    credit: str
    amount: int
    kind: str
    pending_id: int | None = None


@dataclass(frozen=True)
class PostedEntry:
    """An entry as written; `replayed` is True when an idempotency key returned it again."""

    id: int
    posted_at: datetime
    flow: str
    ref: str
    actor: str
    memo: str
    reverses_entry_id: int | None
    prev_hash: str
    hash: str
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


# ---------------------------------------------------------------------------- public API


def post_entry(session: Session, request: EntryRequest) -> PostedEntry:
    """Post one entry (all its transfers or none) and return it as written."""
    return post_entries(session, [request])[0]


def post_entries(session: Session, requests: Sequence[EntryRequest]) -> list[PostedEntry]:
    """Post many entries in the caller's transaction: all of them or, on any error, none."""
    requests = list(requests)
    codes_seen: set[str] = set()
    for request in requests:
        _check_request(request, codes_seen)
        if request.reverses_entry_id is not None:
            raise InvalidInput("use reverse_entry() to post a reversal")
    return _post(session, requests)


def _post(session: Session, requests: list[EntryRequest]) -> list[PostedEntry]:
    if not requests:
        return []
    head = _lock_head(session)
    results: list[PostedEntry | None] = [None] * len(requests)
    todo, key_hashes, same_as = _recall_keys(session, requests, results)
    if todo:
        batch = _load_batch(session, [requests[i] for i in todo])
        written = _apply(session, head, batch, [requests[i] for i in todo])
        for index, entry in zip(todo, written, strict=True):
            results[index] = entry
            key = requests[index].idempotency_key
            if key is not None:
                remember(session, IDEMPOTENCY_SCOPE, key, key_hashes[index], str(entry.id))
    for index, first in same_as.items():
        results[index] = _as_replay(results[first])
    return [entry for entry in results if entry is not None]


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
    _lock_head(session)
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
    if idempotency_key is not None:
        stored = recall(session, IDEMPOTENCY_SCOPE, idempotency_key, _request_hash(request))
        if stored is not None:
            return _as_replay(get_entry(session, int(stored)))
    reversed_by = session.scalar(
        select(JournalEntry.id).where(JournalEntry.reverses_entry_id == entry_id)
    )
    if reversed_by is not None:
        raise Conflict(
            f"entry {entry_id} was already reversed by entry {reversed_by}",
            reversed_by=reversed_by,
        )
    return _post(session, [request])[0]


def get_entry(session: Session, entry_id: int) -> PostedEntry:
    """Read a posted entry and its transfers, or NotFound."""
    entry = session.execute(
        select(JournalEntry).where(JournalEntry.id == entry_id)
    ).scalar_one_or_none()
    if entry is None:
        raise NotFound(f"no journal entry {entry_id}")
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
        entry.prev_hash,
        entry.hash,
        tuple(PostedTransfer(*row) for row in rows),
    )


def head(session: Session) -> tuple[int, str]:
    """The number of entries in the journal and the head hash."""
    row = session.execute(select(LedgerHead.last_entry_id, LedgerHead.head_hash)).one()
    return row.last_entry_id, row.head_hash


# ---------------------------------------------------------------------------- internals


def _check_request(request: EntryRequest, codes_seen: set[str] | None = None) -> None:
    if not isinstance(request, EntryRequest):
        raise InvalidInput("expected an EntryRequest")
    if not request.transfers:
        raise InvalidInput("a journal entry needs at least one transfer")
    check_text("flow", request.flow, 64)
    if not request.flow:
        raise InvalidInput("flow must name why the entry is posted", field="flow")
    check_text("ref", request.ref, 160)
    check_text("actor", request.actor, 160)
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
            _check_amount(transfer.amount)
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


def _lock_head(session: Session) -> LedgerHeadRow:
    # On PostgreSQL the row lock serialises every posting (and so the hash chain); on SQLite
    # the transaction already began with BEGIN IMMEDIATE and holds the database's write lock.
    row = session.execute(
        select(
            LedgerHead.last_entry_id,
            LedgerHead.last_transfer_id,
            LedgerHead.head_hash,
            LedgerHead.last_posted_at,
        )
        .where(LedgerHead.id == 1)
        .with_for_update()
    ).one()
    return LedgerHeadRow(*row)


@dataclass
class LedgerHeadRow:
    """The chain head as locked for one posting transaction."""

    last_entry_id: int
    last_transfer_id: int
    head_hash: str
    last_posted_at: datetime | None


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
    return PostedEntry(**{**entry.__dict__, "replayed": True})


def _chunks(values: list[int] | list[str]) -> list[list]:  # type: ignore[type-arg]
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _load_batch(session: Session, requests: list[EntryRequest]) -> _Batch:
    """Lock and load every account and hold the requests touch."""
    codes: set[str] = set()
    hold_ids: set[int] = set()
    for request in requests:
        for t in request.transfers:
            if isinstance(t, Move):
                codes.update((t.debit, t.credit))
            else:
                hold_ids.add(t.pending_id)
    batch = _Batch()
    resolution = aliased(Transfer)
    for chunk in _chunks(sorted(hold_ids)):
        rows = session.execute(
            select(
                Transfer.id,
                Transfer.debit_account_id,
                Transfer.credit_account_id,
                Transfer.amount,
                Transfer.kind,
                resolution.id,
            )
            .outerjoin(resolution, resolution.pending_id == Transfer.id)
            .where(Transfer.id.in_(chunk))
        ).all()
        for tid, debit_id, credit_id, amount, kind, resolved_by in rows:
            if kind == "pending":
                batch.holds[tid] = _Hold(tid, debit_id, credit_id, amount, resolved_by is not None)
    account_ids = {h.debit_id for h in batch.holds.values()} | {
        h.credit_id for h in batch.holds.values()
    }
    columns = (
        Account.id,
        Account.code,
        Account.ledger,
        Account.credits_must_not_exceed_debits,
        Account.debits_must_not_exceed_credits,
        Account.debits_pending,
        Account.debits_posted,
        Account.credits_pending,
        Account.credits_posted,
    )
    selections = [Account.code.in_(chunk) for chunk in _chunks(sorted(codes))]
    selections += [Account.id.in_(chunk) for chunk in _chunks(sorted(account_ids))]
    for condition in selections:
        rows = session.execute(
            select(*columns).where(condition).order_by(Account.id).with_for_update()
        ).all()
        for aid, code, ledger, limit_credits, limit_debits, *totals in rows:
            state = _AccountState(aid, code, ledger, limit_credits, limit_debits, totals)
            batch.accounts[aid] = state
            batch.by_code[code] = state
    missing = sorted(codes - batch.by_code.keys())
    if missing:
        raise NotFound(f"no account {missing[0]}", code_value=missing[0])
    return batch


_ENTRY_COLUMNS = (
    "id",
    "posted_at",
    "flow",
    "ref",
    "actor",
    "memo",
    "reverses_entry_id",
    "prev_hash",
    "hash",
)
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


def _apply(
    session: Session, head: LedgerHeadRow, batch: _Batch, requests: list[EntryRequest]
) -> list[PostedEntry]:
    """Check and apply every request in memory, then write all rows in a few statements."""
    now = datetime.now(UTC)
    entry_id, transfer_id = head.last_entry_id, head.last_transfer_id
    prev_hash, last_at = head.head_hash, head.last_posted_at
    stored_time = _StoredTime(session)
    entry_rows: list[tuple[object, ...]] = []
    transfer_rows: list[tuple[object, ...]] = []
    history: dict[tuple[int, datetime], tuple[object, ...]] = {}
    posted: list[PostedEntry] = []
    for request in requests:
        entry_id += 1
        posted_at = _stamp(request.posted_at, now, last_at)
        last_at = posted_at
        transfers: list[PostedTransfer] = []
        touched: list[_AccountState] = []
        for t in request.transfers:
            transfer_id += 1
            x = _apply_transfer(batch, transfer_id, t, touched)
            transfers.append(x)
            transfer_rows.append(
                (
                    x.id,
                    entry_id,
                    batch.by_code[x.debit].id,
                    batch.by_code[x.credit].id,
                    x.amount,
                    x.kind,
                    x.pending_id,
                )
            )
        reverses = request.reverses_entry_id
        body = encode_entry(
            entry_id,
            timestamp_us(posted_at),
            request.flow,
            request.ref,
            request.actor,
            request.memo,
            reverses,
            ((x.id, x.debit, x.credit, x.amount, x.kind, x.pending_id) for x in transfers),
        )
        entry_hash = chain_hash(prev_hash, body)
        stored_at = stored_time(posted_at)
        entry_rows.append(
            (
                entry_id,
                stored_at,
                request.flow,
                request.ref,
                request.actor,
                request.memo,
                reverses,
                prev_hash,
                entry_hash,
            )
        )
        for state in touched:
            # One history row per account and posting time: as_of cannot tell them apart.
            history[(state.id, posted_at)] = (state.id, entry_id, stored_at, *state.totals)
        posted.append(
            PostedEntry(
                entry_id,
                posted_at,
                request.flow,
                request.ref,
                request.actor,
                request.memo,
                reverses,
                prev_hash,
                entry_hash,
                tuple(transfers),
            )
        )
        prev_hash = entry_hash
    _insert_many(session, JournalEntry.__tablename__, _ENTRY_COLUMNS, entry_rows)
    _insert_many(session, Transfer.__tablename__, _TRANSFER_COLUMNS, transfer_rows)
    _insert_many(session, AccountHistory.__tablename__, _HISTORY_COLUMNS, list(history.values()))
    _update_totals(session, batch)
    session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == 1)
        .values(
            last_entry_id=entry_id,
            last_transfer_id=transfer_id,
            head_hash=prev_hash,
            last_posted_at=last_at,
        )
    )
    return posted


class _StoredTime:
    """Converts a posting time to the driver's value once per distinct time (SQLAlchemy's own
    bind processing, so rows written here read back exactly like ORM-written ones)."""

    def __init__(self, session: Session) -> None:
        dialect = session.get_bind().dialect
        column_type = JournalEntry.__table__.c.posted_at.type
        self._process = column_type.dialect_impl(dialect).bind_processor(dialect)
        self._typed = column_type.process_bind_param
        self._dialect = dialect
        self._last: tuple[datetime, object] | None = None

    def __call__(self, moment: datetime) -> object:
        if self._last is None or self._last[0] != moment:
            value: object = self._typed(moment, self._dialect)
            if self._process is not None:
                value = self._process(value)
            self._last = (moment, value)
        return self._last[1]


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
    changed = [
        {
            "_id": s.id,
            "_dp": s.totals[0],
            "_dpo": s.totals[1],
            "_cp": s.totals[2],
            "_cpo": s.totals[3],
        }
        for s in batch.accounts.values()
        if s.changed
    ]
    table = Account.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values(
            debits_pending=bindparam("_dp"),
            debits_posted=bindparam("_dpo"),
            credits_pending=bindparam("_cp"),
            credits_posted=bindparam("_cpo"),
        ),
        changed,
    )


def _stamp(requested: datetime | None, now: datetime, last_at: datetime | None) -> datetime:
    if requested is None:
        return now if last_at is None or now > last_at else last_at
    requested = requested.astimezone(UTC)
    if requested > now:
        raise InvalidInput(
            f"posted_at {requested.isoformat()} lies in the future", field="posted_at"
        )
    if last_at is not None and requested < last_at:
        raise InvalidInput(
            f"posted_at {requested.isoformat()} precedes the journal's head "
            f"({last_at.isoformat()}); imported history must come in time order",
            field="posted_at",
        )
    return requested


def _apply_transfer(
    batch: _Batch, transfer_id: int, t: TransferRequest, touched: list[_AccountState]
) -> PostedTransfer:
    if isinstance(t, Move):
        debit, credit = batch.by_code[t.debit], batch.by_code[t.credit]
        if debit.ledger != credit.ledger:
            raise InvalidInput(
                f"accounts {debit.code} and {credit.code} belong to different ledgers "
                f"({debit.ledger}, {credit.ledger})"
            )
        offset = 0 if t.pending else 1
        debit.totals[offset] += t.amount
        credit.totals[2 + offset] += t.amount
        _mark(touched, debit, credit)
        _check_limit(debit, t.amount)
        _check_limit(credit, t.amount)
        if t.pending:
            batch.holds[transfer_id] = _Hold(transfer_id, debit.id, credit.id, t.amount, False)
        return PostedTransfer(
            transfer_id, debit.code, credit.code, t.amount, "pending" if t.pending else "normal"
        )
    hold = batch.holds.get(t.pending_id)
    if hold is None:
        raise NotFound(f"no pending transfer {t.pending_id}")
    if hold.resolved:
        raise Conflict(f"pending transfer {t.pending_id} was already posted or voided")
    debit, credit = batch.accounts[hold.debit_id], batch.accounts[hold.credit_id]
    debit.totals[0] -= hold.amount
    credit.totals[2] -= hold.amount
    hold.resolved = True
    _mark(touched, debit, credit)
    if isinstance(t, VoidPending):
        return PostedTransfer(
            transfer_id, debit.code, credit.code, hold.amount, "void_pending", hold.id
        )
    amount = hold.amount if t.amount is None else t.amount
    if amount > hold.amount:
        raise InvalidInput(
            f"cannot post {amount} fen of pending transfer {hold.id}, which holds {hold.amount}",
            field="amount",
        )
    debit.totals[1] += amount
    credit.totals[3] += amount
    return PostedTransfer(transfer_id, debit.code, credit.code, amount, "post_pending", hold.id)


def _mark(touched: list[_AccountState], *states: _AccountState) -> None:
    for state in states:
        state.changed = True
        if state not in touched:
            touched.append(state)


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
