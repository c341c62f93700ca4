"""The seal step: append committed journal entries to the hash chain, in batches.

Postings lock only their own accounts and queue their entry in `journal_unsealed` (on SQLite,
inside `transaction`, the unit seals its own before it commits instead: no queue row). Sealing
takes the one `ledger_head` row (so one sealer at a time), reads queued entries in entry-id
order, and writes one `journal_seals` row per entry: its place `seq` in the chain, the previous
seal's hash and the SHA-256 over that hash and the entry's canonical bytes (ledger.core.chain).

`seal_committed` runs after every unit of work that posted (ledger.core.db.after_commit) and
whenever anything finds entries unsealed. Each caller sees its own entries sealed before it
returns: a sealer that finds the head locked leaves if its entries were sealed meanwhile (one
batch covers every poster that committed before it read the queue), else waits for the head
and seals what is queued then. A sealer seals one batch and leaves, so none keeps sealing for
others under steady load. On PostgreSQL a batch is sealed by one statement, ledger_seal()
(migrations 0018, 0019), outside any transaction, so the head is never held across a round trip
to a client; a poster's seal rides its commit (`COMMIT; SELECT * FROM ledger_seal(…)`, one round
trip) and, if the head is taken and its entries still queued, waits for the head in that call.
A process killed between commit and seal loses nothing: the entry stays queued for
the next seal. On SQLite, with its single writer, a unit of work seals its own entries inside
its transaction just before commit instead (`seal_before_commit`). See docs/ledger.md.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import (
    Delete,
    Select,
    Update,
    bindparam,
    delete,
    event,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.types import NullType

from ledger.core.chain import chain_hash, encode_entry, stored_moment, timestamp_us
from ledger.core.db import after_commit, before_commit, driver_many, driver_rows, transaction
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


def seal_batch(session: Session, limit: int = SEAL_BATCH, wait: bool = False) -> int | None:
    """Seal up to `limit` queued entries in the caller's transaction; how many. None if
    another sealer holds the head, unless `wait` (then wait for it)."""
    # Core statements on the session's connection: no ORM result processing on this path.
    connection = session.connection()
    head = connection.execute(_head_statement(wait)).first()
    if head is None:
        return None
    # The queued entries are read with their transfers in one statement, after the head is
    # ours (a statement started before would not see what the previous sealer committed).
    rows = connection.execute(_queued_entries_statement(), {"limit": limit}).all()
    if not rows:
        return 0
    seq, prev_hash, last_at = head
    now = _driver_time(connection, datetime.now(UTC))
    seals: list[tuple[object, ...]] = []
    for entry_id, posted_at, body in _encode(rows):
        seq += 1
        entry_hash = chain_hash(prev_hash, body)
        seals.append((seq, entry_id, prev_hash, entry_hash, now))
        prev_hash = entry_hash
        last_at = posted_at if last_at is None else max(last_at, posted_at)
    ids = [seal[1] for seal in seals]
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        "INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at) "
        f"VALUES ({', '.join([mark] * 5)})",
        seals,
    )
    connection.execute(_dequeue(), {"ids": ids})
    connection.execute(_move_head(), {"n": seq, "h": prev_hash, "at": last_at})
    return len(ids)


def seal_before_commit(
    session: Session,
    entries: Sequence[tuple[int, datetime, bytes]],
    connection: Connection | None = None,
) -> bool:
    """SQLite: seal `entries` (id, posted_at, canonical bytes), just written, in `session`'s
    unit of work, inside its transaction right before it commits, from these bytes; False
    (nothing done) when the session is not one `ledger.core.db.transaction` opened: the
    caller then queues them for the seal step after commit, as on PostgreSQL.

    SQLite has one writer (BEGIN IMMEDIATE and the process's write lock), so the chain order
    is the commit order and an entry posted here is never committed unsealed; it needs no
    queue row (`held_entries` shows it as queued to readers in the transaction: `verify`)."""
    if not before_commit(session, _seal_own):
        return False
    session.info.setdefault(_HELD, []).extend(entries)
    session.info.setdefault(_HELD_SINCE, datetime.now(UTC))
    if connection is not None:  # the session's own: saves the ORM's lookup at commit
        session.info[_HELD_ON] = connection
    return True


def held_entries(session: Session) -> dict[int, datetime]:
    """The entries `session`'s unit of work will seal before it commits (SQLite), each with
    when the unit first held one: to its own readers they are as good as queued."""
    since: datetime | None = session.info.get(_HELD_SINCE)
    if since is None:
        return {}
    return {entry[0]: since for entry in session.info.get(_HELD, ())}


@event.listens_for(Session, "before_commit")
def _seal_left_held(session: Session) -> None:
    """Whatever commits the unit (normally `transaction`, after its hooks sealed everything),
    entries still held are sealed first: one posted by a later before-commit hook, or by a
    unit committed by hand. With no queue row, an entry committed unsealed would stay so."""
    if session.info.get(_HELD) and session.get_nested_transaction() is None:
        _seal_own(session)


_HELD = "voucher_ledger_seal_held"
_HELD_SINCE = "voucher_ledger_seal_held_since"
_SEALED_EARLY = "voucher_ledger_sealed_early"
_HELD_ON = "voucher_ledger_seal_connection"
# The head, whether anything is queued (older entries) and the largest entry id.
_HEAD_AND_QUEUE = (
    "SELECT sealed_entries, head_hash, last_posted_at, "
    "EXISTS (SELECT 1 FROM journal_unsealed), (SELECT max(id) FROM journal_entries) "
    "FROM ledger_head WHERE id = 1"
)


def seal_visible(session: Session) -> int:
    """Seal every entry the caller's transaction can see, its own unit's included (SQLite's
    held entries too), so that the head it reads next covers them; how many. Another sealer
    holding the head (PostgreSQL) leaves the rest queued."""
    sealed = _seal_own(session, early=True) if session.info.get(_HELD) else 0
    while (batch := seal_batch(session) or 0) > 0:
        sealed += batch
        if batch < SEAL_BATCH:
            break
    return sealed


def _seal_own(session: Session, early: bool = False) -> int:
    """Before commit (SQLite): seal whatever is queued (older: posted outside `transaction`)
    by `seal_batch`, then the entries held by `seal_before_commit` from their bytes in memory,
    in id order; how many. Three statements when nothing older is queued. `early` (from
    `seal_visible`, inside the transaction): the held entries stay held, and the commit then
    seals only those still without a seal (a savepoint rolled back may have taken it)."""
    info = session.info
    if early:
        # Through the session: a savepoint begun since the posting starts on its first use.
        connection = session.connection()
        held_list = info.get(_HELD, ())
    else:
        connection = info.pop(_HELD_ON, None) or session.connection()
        held_list = info.pop(_HELD, ())
        info.pop(_HELD_SINCE, None)
    # An entry rolled back with a savepoint is gone, and SQLite numbers from max(id) + 1: a
    # rollback removes the newest ids, which a later entry may take again. So the held entries
    # that exist are those up to the largest id, each the one last held under its id.
    held = {entry[0]: entry for entry in held_list}
    if held and info.get(_SEALED_EARLY):  # sealed in part already, by `seal_visible`
        done = driver_rows(connection, "SELECT entry_id FROM journal_seals WHERE entry_id >= ?",
                           (min(held),))
        for (entry_id,) in done:
            held.pop(entry_id, None)
    if early:
        info[_SEALED_EARLY] = True
    else:
        info.pop(_SEALED_EARLY, None)
    sealed = 0
    while True:
        ((seq, prev_hash, last_raw, older, largest),) = driver_rows(
            connection, _HEAD_AND_QUEUE, ()
        )
        if not older:
            break
        # The reference path for what this unit did not write.
        progress = seal_batch(session, wait=True) or 0
        if not progress:
            # An older queued entry the reference path cannot seal (no transfers: written
            # around the journal): leave it queued, for `verify` to report, and go on.
            break
        sealed += progress
    mine = [held[entry_id] for entry_id in sorted(held) if largest is not None
            and entry_id <= largest]
    if not mine:
        return sealed
    last_at = None if last_raw is None else stored_moment(last_raw)
    now = _driver_time(connection, datetime.now(UTC))
    seals: list[tuple[object, ...]] = []
    for entry_id, posted_at, body in mine:
        seq += 1
        entry_hash = chain_hash(prev_hash, body)
        seals.append((seq, entry_id, prev_hash, entry_hash, now))
        prev_hash = entry_hash
        if last_at is None or posted_at > last_at:
            last_at = posted_at
    assert last_at is not None
    driver_many(
        connection,
        "INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at) "
        "VALUES (?, ?, ?, ?, ?)",
        seals,
    )
    driver_rows(
        connection,
        "UPDATE ledger_head SET sealed_entries = ?, head_hash = ?, last_posted_at = ? "
        "WHERE id = 1",
        (seq, prev_hash, _driver_time(connection, last_at)),
    )
    return sealed + len(seals)


def seal_committed(
    factory: sessionmaker[Session], entry_ids: Collection[int] | None = None
) -> int:
    """Seal queued entries, batch by batch, each in a short transaction, until every entry
    committed before the call (or, if given, each of `entry_ids`) is sealed; how many."""
    bind = factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        with bind.connect() as connection:
            return _seal_loop(
                partial(_seal_on_server, connection.execution_options(isolation_level=_AUTO)),
                entry_ids,
            )
    return _seal_loop(partial(_seal_here, factory), entry_ids)


_AUTO = "AUTOCOMMIT"


def _seal_here(
    factory: sessionmaker[Session], wait: bool, entry_ids: Collection[int] | None
) -> tuple[int | None, bool]:
    """One batch sealed in Python, in a short transaction: (sealed or None, mine queued)."""
    with transaction(factory) as session:
        sealed = seal_batch(session, wait=wait)
        mine_queued = sealed is None and entry_ids is not None and _any_queued(session, entry_ids)
    return sealed, mine_queued


def _seal_on_server(
    connection: Connection, wait: bool, entry_ids: Collection[int] | None
) -> tuple[int | None, bool]:
    """One batch sealed by ledger_seal() (migrations 0018, 0019, 0021) in one statement, no
    transaction around it: the head is held only while the server chains the entries. If
    another sealer holds the head and missed our entries, the call waits for it itself
    (without taking the head, so that waiters whose entries it sealed all leave at once)."""
    sealed, mine_queued = connection.exec_driver_sql(
        "SELECT * FROM ledger_seal(%s, %s, %s::bigint[])",
        (SEAL_BATCH, wait, list(entry_ids or ())),
    ).one()
    return sealed, mine_queued


def _seal_loop(
    seal_once: Callable[[bool, Collection[int] | None], tuple[int | None, bool]],
    entry_ids: Collection[int] | None,
) -> int:
    total = 0
    wait = False
    while True:
        sealed, mine_queued = seal_once(wait, entry_ids)
        if sealed is None:
            # Another sealer holds the head; it may have read the queue before our commit.
            # Unless ours were sealed meanwhile (or we cannot tell which are ours), wait for
            # the head and seal what is queued then.
            if entry_ids is not None and not mine_queued:
                return total
            wait = True
            continue
        total += sealed
        if sealed < SEAL_BATCH:
            # The queue was read after our commit and emptied up to where it ended.
            return total


def seal_after_commit(session: Session, entry_id: int) -> None:
    """Have entry `entry_id`, posted in `session`'s transaction, sealed after it commits."""
    hook = session.info.get(_HOOK)
    if hook is None:
        hook = session.info[_HOOK] = _SealOwn()
        after_commit(session, hook)
    hook.entry_ids.append(entry_id)


_HOOK = "voucher_ledger_seal_own"


class _SealOwn:
    """After-commit hook that seals until the unit of work's own entries are sealed."""

    def __init__(self) -> None:
        self.entry_ids: list[int] = []

    def __call__(self, factory: sessionmaker[Session]) -> int:
        return seal_committed(factory, self.entry_ids)

    def ride_commit(self, connection: Connection) -> bool | None:
        """PostgreSQL: `COMMIT; SELECT * FROM ledger_seal(…)` as one simple query, one round
        trip; the seal runs after the commit in a transaction of its own, as if called after.
        Whether our entries are sealed (else the hook runs again); None on SQLite."""
        if connection.dialect.name != "postgresql":
            return None
        # Only integers go into the text: no parameters, so the simple query protocol, which
        # runs several statements in one message.
        mine = ",".join(str(int(entry_id)) for entry_id in self.entry_ids)
        sql = f"COMMIT; SELECT * FROM ledger_seal({SEAL_BATCH}, false, '{{{mine}}}'::bigint[])"
        ((_sealed, mine_queued),) = driver_rows(connection, sql, result=1)
        return not mine_queued


def _any_queued(session: Session, entry_ids: Collection[int]) -> bool:
    """Whether any of `entry_ids` still waits for its seal."""
    found = session.connection().execute(_queued_of(), {"ids": list(entry_ids)}).first()
    return found is not None


def canonical_entries(session: Session, ids: list[int]) -> list[tuple[int, datetime, bytes]]:
    """(entry id, posted_at, canonical bytes) of the given entries, in entry-id order: the
    reference encoding (entries without transfers are left out)."""
    return _encode(session.connection().execute(_entries_statement(), {"ids": ids}).all())


def _encode(rows: Sequence[Row[Any]]) -> list[tuple[int, datetime, bytes]]:
    """Encode rows of `_entries_statement` (an entry's transfers together, in id order)."""
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
    """`moment` as the driver stores it in a UTCDateTime column."""
    typed, process = _time_processors(connection.dialect)
    value = typed(moment, connection.dialect)
    return value if process is None else process(value)


@cache
def _time_processors(dialect: Any) -> tuple[Callable[..., Any], Callable[..., Any] | None]:
    column_type = JournalSeal.__table__.c.sealed_at.type
    return column_type.process_bind_param, column_type.dialect_impl(dialect).bind_processor(dialect)


# The statements are built once: the seal runs after every posting.
@cache
def _head_statement(wait: bool) -> Select:  # type: ignore[type-arg]
    return (
        select(LedgerHead.sealed_entries, LedgerHead.head_hash, LedgerHead.last_posted_at)
        .where(LedgerHead.id == 1)
        .with_for_update(skip_locked=not wait)
    )


@cache
def _queued_of() -> Select:  # type: ignore[type-arg]
    queue = UnsealedEntry.__table__
    return select(queue.c.entry_id).where(
        queue.c.entry_id.in_(bindparam("ids", expanding=True))
    ).limit(1)


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
def _queued_entries_statement() -> Select:  # type: ignore[type-arg]
    queued = (
        select(UnsealedEntry.entry_id)
        .order_by(UnsealedEntry.entry_id)
        .limit(bindparam("limit"))
        .scalar_subquery()
    )
    # `IN (subquery)`: the limit counts entries, not transfer rows.
    return _entries_base().where(JournalEntry.id.in_(queued))


@cache
def _entries_statement() -> Select:  # type: ignore[type-arg]
    return _entries_base().where(JournalEntry.id.in_(bindparam("ids", expanding=True)))


def _entries_base() -> Select:  # type: ignore[type-arg]
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
        .order_by(JournalEntry.id, Transfer.id)
    )
