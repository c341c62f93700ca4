"""The seal step: append committed journal entries to the hash chain, in batches.

Postings lock only their own accounts and queue their entry in `journal_unsealed`. Sealing
takes the one `ledger_head` row (so one sealer at a time), reads queued entries in entry-id
order, and writes one `journal_seals` row per entry: its place `seq` in the chain, the previous
seal's hash and the SHA-256 over that hash and the entry's canonical bytes (ledger.core.chain).

`seal_committed` runs after every unit of work that posted (ledger.core.db.after_commit) and
whenever anything finds entries unsealed. A sealer that finds the head locked leaves at once:
the sealer holding it looks at the queue again after it commits, so every committed entry is
sealed by someone. A process killed between commit and seal loses nothing: the entry stays
queued for the next seal. See docs/ledger.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import (
    Delete,
    Select,
    Update,
    bindparam,
    delete,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.types import NullType

from ledger.core.chain import chain_hash, encode_entry, stored_moment, timestamp_us
from ledger.core.db import transaction
from ledger.core.models import (
    Account,
    JournalEntry,
    JournalSeal,
    LedgerHead,
    Transfer,
    UnsealedEntry,
)

SEAL_BATCH = 2000
# `verify` fails when an entry has waited longer than this for its seal: sealing follows each
# commit within milliseconds, so an entry this old means the seal step is not running.
SEAL_BOUND = timedelta(minutes=5)


def seal_batch(session: Session, limit: int = SEAL_BATCH) -> int | None:
    """Seal up to `limit` queued entries in the caller's transaction; None if another sealer
    holds the head (it will seal them), else how many were sealed."""
    # Core statements on the session's connection: no ORM result processing on this path.
    connection = session.connection()
    head = connection.execute(_head_statement()).first()
    if head is None:
        return None
    ids = list(connection.execute(_queue_statement(), {"limit": limit}).scalars())
    if not ids:
        return 0
    seq, prev_hash, last_at = head
    now = _driver_time(connection, datetime.now(UTC))
    seals: list[tuple[object, ...]] = []
    for entry_id, posted_at, body in canonical_entries(session, ids):
        seq += 1
        entry_hash = chain_hash(prev_hash, body)
        seals.append((seq, entry_id, prev_hash, entry_hash, now))
        prev_hash = entry_hash
        last_at = posted_at if last_at is None else max(last_at, posted_at)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        "INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at) "
        f"VALUES ({', '.join([mark] * 5)})",
        seals,
    )
    connection.execute(_dequeue(), {"ids": ids})
    connection.execute(_move_head(), {"n": seq, "h": prev_hash, "at": last_at})
    return len(ids)


def seal_committed(factory: sessionmaker[Session]) -> int:
    """Seal every queued entry, batch by batch, each in a short transaction; how many."""
    total = 0
    while True:
        with transaction(factory) as session:
            sealed = seal_batch(session)
            concurrent = session.get_bind().dialect.name != "sqlite"
        if sealed is None:
            return total
        total += sealed
        if sealed == SEAL_BATCH:
            continue
        if not concurrent:
            # SQLite: the seal held the only write lock, so nothing committed unseen meanwhile.
            return total
        # Look again after releasing the head: a poster that found it locked meanwhile
        # relies on this look to have its entry sealed.
        with transaction(factory) as session:
            if session.connection().execute(_anything_queued()).first() is None:
                return total


def canonical_entries(session: Session, ids: list[int]) -> list[tuple[int, datetime, bytes]]:
    """(entry id, posted_at, canonical bytes) of the given entries, in entry-id order: the
    reference encoding (entries without transfers are left out)."""
    rows = session.connection().execute(_entries_statement(), {"ids": ids}).all()
    out: list[tuple[int, datetime, bytes]] = []
    start = 0
    last_raw: object = None
    moment = _EPOCH
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][0] != rows[start][0]:
            e = rows[start]
            if e[1] != last_raw:  # entries of one batch share their time: parse it once
                last_raw, moment = e[1], stored_moment(e[1])
            body = encode_entry(
                e[0], timestamp_us(moment), e[2], e[3], e[4], e[5], e[6],
                (tuple(r[7:]) for r in rows[start:i]),
            )
            out.append((e[0], moment, body))
            start = i
    return out


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _driver_time(connection: Connection, moment: datetime) -> object:
    """`moment` as the driver stores it in a UTCDateTime column (converted once per batch)."""
    dialect = connection.dialect
    column_type = JournalSeal.__table__.c.sealed_at.type
    value: object = column_type.process_bind_param(moment, dialect)
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return value if process is None else process(value)


# The statements are built once: the seal runs after every posting.
@cache
def _head_statement() -> Select:  # type: ignore[type-arg]
    return (
        select(LedgerHead.sealed_entries, LedgerHead.head_hash, LedgerHead.last_posted_at)
        .where(LedgerHead.id == 1)
        .with_for_update(skip_locked=True)
    )


@cache
def _queue_statement() -> Select:  # type: ignore[type-arg]
    return select(UnsealedEntry.entry_id).order_by(UnsealedEntry.entry_id).limit(
        bindparam("limit")
    )


@cache
def _anything_queued() -> Select:  # type: ignore[type-arg]
    return select(UnsealedEntry.entry_id).limit(1)


@cache
def _dequeue() -> Delete:
    queue = UnsealedEntry.__table__
    return delete(queue).where(queue.c.entry_id.in_(bindparam("ids", expanding=True)))


@cache
def _move_head() -> Update:
    head = LedgerHead.__table__
    return (
        update(head)
        .where(head.c.id == 1)
        .values(sealed_entries=bindparam("n"), head_hash=bindparam("h"),
                last_posted_at=bindparam("at", type_=LedgerHead.__table__.c.last_posted_at.type))
    )


@cache
def _entries_statement() -> Select:  # type: ignore[type-arg]
    debit, credit = aliased(Account), aliased(Account)
    # The stored value as the driver gives it: parsed once per distinct time above.
    raw_posted_at = type_coerce(JournalEntry.__table__.c.posted_at, NullType())
    return (
        select(
            JournalEntry.id,
            raw_posted_at,
            JournalEntry.flow,
            JournalEntry.ref,
            JournalEntry.actor,
            JournalEntry.memo,
            JournalEntry.reverses_entry_id,
            Transfer.id,
            debit.code,
            credit.code,
            Transfer.amount,
            Transfer.kind,
            Transfer.pending_id,
        )
        .join(Transfer, Transfer.entry_id == JournalEntry.id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .join(credit, credit.id == Transfer.credit_account_id)
        .where(JournalEntry.id.in_(bindparam("ids", expanding=True)))
        .order_by(JournalEntry.id, Transfer.id)
    )
