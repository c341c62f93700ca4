"""Recompute the hash chain and every account's totals from the journal; name what differs.

The chain is read in seal order (`journal_seals.seq`); entries not sealed yet are reported,
and fail the check once they have waited longer than `SEAL_BOUND` (ledger.core.seal).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Select, case, exists, func, literal, or_, select, type_coerce, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import NullType

from ledger.core.chain import chain_hash, encode_entry, timestamp_us
from ledger.core.models import (
    GENESIS_HASH,
    Account,
    AccountHistory,
    JournalEntry,
    JournalSeal,
    LedgerHead,
    Transfer,
    UnsealedEntry,
)
from ledger.core.seal import SEAL_BOUND

_STREAM_ROWS = 20_000


@dataclass(frozen=True)
class ChainBreak:
    """The first entry whose stored hash or link disagrees with the recomputed one."""

    entry_id: int
    reason: str


@dataclass(frozen=True)
class AccountMismatch:
    """An account whose stored total differs from the total recomputed from transfers."""

    code: str
    total: str
    stored: int
    recomputed: int


@dataclass(frozen=True)
class Unsealed:
    """An entry committed but not yet on the chain; `queued_at` None: not queued for sealing."""

    entry_id: int
    queued_at: datetime | None


@dataclass
class VerifyReport:
    """The outcome of `verify`: sealed entries checked, the head hash they end in, the entries
    not sealed yet, and every problem found."""

    entries: int = 0
    head_hash: str = GENESIS_HASH
    first_break: ChainBreak | None = None
    mismatches: list[AccountMismatch] = field(default_factory=list)
    unsealed: list[Unsealed] = field(default_factory=list)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def stale(self) -> list[Unsealed]:
        """Unsealed entries past the bound, or never queued for sealing: the check fails."""
        limit = self.checked_at - SEAL_BOUND
        return [u for u in self.unsealed if u.queued_at is None or u.queued_at < limit]

    @property
    def ok(self) -> bool:
        """True when the chain is whole, every account's totals agree and no entry has
        waited past the bound for its seal."""
        return self.first_break is None and not self.mismatches and not self.stale


def verify(session: Session, progress: object | None = None) -> VerifyReport:
    """Recompute the chain entry by entry and the totals in SQL; stream, never load it all.

    `progress`, when given, is called with the number of entries checked so far.
    """
    report = VerifyReport()
    report.first_break = _verify_chain(session, report, progress)
    report.mismatches = _account_mismatches(session)
    report.unsealed = unsealed_entries(session)
    return report


def unsealed_entries(session: Session) -> list[Unsealed]:
    """Entries with no seal, oldest first (cheap when every entry is sealed)."""
    entries = session.scalar(select(func.count()).select_from(JournalEntry))
    seals = session.scalar(select(func.count()).select_from(JournalSeal))
    if entries == seals:  # each seal names a distinct existing entry (unique key, foreign key)
        return []
    sealed = exists().where(JournalSeal.entry_id == JournalEntry.id)
    rows = session.execute(
        select(JournalEntry.id, UnsealedEntry.queued_at)
        .outerjoin(UnsealedEntry, UnsealedEntry.entry_id == JournalEntry.id)
        .where(~sealed)
        .order_by(JournalEntry.id)
    ).all()
    return [Unsealed(entry_id, queued_at) for entry_id, queued_at in rows]


# seq, entry id, posted_at µs, flow, ref, actor, memo, reverses_entry_id, prev_hash, hash
Entry = tuple


def chain_entries(session: Session) -> Iterator[tuple[Entry, list[tuple]]]:  # type: ignore[type-arg]
    """Each sealed entry's seal and columns (posted_at as µs) with its transfers, in seal order.

    Streams through the driver's own cursor (a server-side cursor on PostgreSQL): this loop
    is verify's hot path, and per-row result processing would double its cost.
    """
    connection = session.connection()
    sql = str(
        _chain_statement().compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    driver = connection.connection.driver_connection
    named = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name="voucher_ledger_verify") if named else driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        current: list | None = None  # type: ignore[type-arg]
        transfers: list[tuple] = []  # type: ignore[type-arg]
        last_raw, last_us = None, 0
        while rows := cursor.fetchmany(_STREAM_ROWS):
            for row in rows:
                if current is None or row[0] != current[0]:
                    if current is not None:
                        yield tuple(current), transfers
                    if row[2] != last_raw:
                        last_raw, last_us = row[2], _microseconds(row[2])
                    current = [row[0], row[1], last_us, *row[3:10]]
                    transfers = []
                if row[10] is not None:
                    transfers.append(row[10:])
        if current is not None:
            yield tuple(current), transfers
    finally:
        cursor.close()


@cache
def _chain_statement() -> Select:  # type: ignore[type-arg]
    debit, credit = aliased(Account), aliased(Account)
    # The raw stored value (text on SQLite, a timestamp on PostgreSQL) skips the per-row
    # type processing; consecutive entries of a batch share it, so one parse serves many.
    raw_posted_at = type_coerce(JournalEntry.__table__.c.posted_at, NullType())
    stmt = (
        select(
            JournalSeal.seq,
            JournalEntry.id,
            raw_posted_at,
            JournalEntry.flow,
            JournalEntry.ref,
            JournalEntry.actor,
            JournalEntry.memo,
            JournalEntry.reverses_entry_id,
            JournalSeal.prev_hash,
            JournalSeal.hash,
            Transfer.id,
            debit.code,
            credit.code,
            Transfer.amount,
            Transfer.kind,
            Transfer.pending_id,
        )
        .join(JournalEntry, JournalEntry.id == JournalSeal.entry_id)
        .outerjoin(Transfer, Transfer.entry_id == JournalEntry.id)
        .outerjoin(debit, debit.id == Transfer.debit_account_id)
        .outerjoin(credit, credit.id == Transfer.credit_account_id)
        .order_by(JournalSeal.seq, Transfer.id)
    )
    return stmt


def _microseconds(raw: object) -> int:
    moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if moment.tzinfo is None:  # SQLite stores UTC without a zone
        moment = moment.replace(tzinfo=UTC)
    return timestamp_us(moment)


def _verify_chain(
    session: Session, report: VerifyReport, progress: object | None
) -> ChainBreak | None:
    expected_prev = GENESIS_HASH
    expected_seq = 1
    first_break: ChainBreak | None = None
    for entry, transfers in chain_entries(session):
        seq, entry_id, posted_at, flow, ref, actor, memo, reverses, prev_hash, stored_hash = entry
        problem = None
        if seq != expected_seq:
            problem = f"seal {seq} follows seal {expected_seq - 1}: the chain has a gap"
        elif not transfers:
            problem = "the entry has no transfers"
        elif prev_hash != expected_prev:
            problem = (
                f"prev_hash {prev_hash} differs from the previous entry's hash {expected_prev}"
            )
        else:
            body = encode_entry(entry_id, posted_at, flow, ref, actor, memo, reverses, transfers)
            recomputed = chain_hash(prev_hash, body)
            if recomputed != stored_hash:
                problem = f"content hash {recomputed} differs from the stored hash {stored_hash}"
        if problem is not None and first_break is None:
            first_break = ChainBreak(entry_id, problem)
        expected_prev, expected_seq = stored_hash, seq + 1
        report.entries += 1
        if progress is not None and report.entries % 10_000 == 0:
            progress(report.entries)  # type: ignore[operator]
    report.head_hash = expected_prev
    stored_head = session.execute(select(LedgerHead.sealed_entries, LedgerHead.head_hash)).one()
    if first_break is None and (stored_head[0], stored_head[1]) != (report.entries, expected_prev):
        first_break = ChainBreak(
            stored_head[0],
            f"the ledger head names seal {stored_head[0]} hash {stored_head[1]}, "
            f"the chain ends at seal {report.entries} hash {expected_prev}",
        )
    return first_break


def _totals_from_transfers() -> Select:  # type: ignore[type-arg]
    """Per account: the four totals recomputed from transfers, in one aggregate query."""
    resolution = aliased(Transfer)
    is_open_hold = (Transfer.kind == "pending") & ~(
        select(resolution.id).where(resolution.pending_id == Transfer.id).exists()
    )
    pending = case((is_open_hold, Transfer.amount), else_=0)
    posted = case((Transfer.kind.in_(("normal", "post_pending")), Transfer.amount), else_=0)
    zero = literal(0)
    sides = union_all(
        select(
            Transfer.debit_account_id.label("account_id"),
            pending.label("dp"),
            posted.label("dpo"),
            zero.label("cp"),
            zero.label("cpo"),
        ),
        select(
            Transfer.credit_account_id.label("account_id"),
            zero.label("dp"),
            zero.label("dpo"),
            pending.label("cp"),
            posted.label("cpo"),
        ),
    ).subquery()
    return select(
        sides.c.account_id,
        func.sum(sides.c.dp).label("dp"),
        func.sum(sides.c.dpo).label("dpo"),
        func.sum(sides.c.cp).label("cp"),
        func.sum(sides.c.cpo).label("cpo"),
    ).group_by(sides.c.account_id)


_TOTAL_NAMES = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def _account_mismatches(session: Session) -> list[AccountMismatch]:
    mismatches: list[AccountMismatch] = []
    for code, *raw in session.execute(_mismatch_statement()):
        values = [int(v) for v in raw]  # PostgreSQL's SUM of bigint is numeric
        for i, name in enumerate(_TOTAL_NAMES):
            if values[i] != values[4 + i]:
                mismatches.append(AccountMismatch(code, name, values[i], values[4 + i]))
            elif values[i] != values[8 + i]:
                mismatches.append(
                    AccountMismatch(code, f"{name} (latest history row)", values[i], values[8 + i])
                )
    return mismatches


@cache
def _mismatch_statement() -> Select:  # type: ignore[type-arg]
    """Accounts whose stored totals differ from the transfers' or their latest history row."""
    totals = _totals_from_transfers().subquery()
    latest = (
        select(AccountHistory.account_id, func.max(AccountHistory.entry_id).label("entry_id"))
        .group_by(AccountHistory.account_id)
        .subquery()
    )
    history = aliased(AccountHistory)
    recomputed = [func.coalesce(totals.c[c], 0) for c in ("dp", "dpo", "cp", "cpo")]
    snapshot = [func.coalesce(getattr(history, n), 0) for n in _TOTAL_NAMES]
    stored = [getattr(Account, n) for n in _TOTAL_NAMES]
    return (
        select(Account.code, *stored, *recomputed, *snapshot)
        .outerjoin(totals, totals.c.account_id == Account.id)
        .outerjoin(latest, latest.c.account_id == Account.id)
        .outerjoin(
            history,
            (history.account_id == latest.c.account_id) & (history.entry_id == latest.c.entry_id),
        )
        .where(
            or_(
                *[s != r for s, r in zip(stored, recomputed, strict=True)],
                *[s != h for s, h in zip(stored, snapshot, strict=True)],
            )
        )
        .order_by(Account.code)
    )
