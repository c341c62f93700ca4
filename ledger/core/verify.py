"""Recompute the hash chain and every account's totals from the journal; name what differs.

The chain is read in seal order (`journal_seals.seq`); entries not sealed yet are reported,
and fail the check once they have waited longer than `SEAL_BOUND` (ledger.core.seal).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import pairwise
from operator import itemgetter
from typing import TYPE_CHECKING

from sqlalchemy import (
    Engine,
    Select,
    Subquery,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from ledger.core.chain import chain_hash, stored_moment, timestamp_us
from ledger.core.db import make_engine, make_sessionmaker, transaction
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
from ledger.core.seal import SEAL_BOUND, canonical_entries, held_entries

if TYPE_CHECKING:
    from concurrent.futures import Future

_STREAM_ROWS = 20_000
# Below this many sealed entries, starting worker processes costs more than it saves.
PARALLEL_FROM = 200_000
# Below this many, a second connection for the totals (PostgreSQL, or SQLite when the
# transfers cannot be shared out by entry id) costs more than it overlaps.
ASIDE_FROM = 20_000


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


def verify(
    session: Session,
    progress: object | None = None,
    *,
    workers: int = 1,
    min_parallel: int = PARALLEL_FROM,
) -> VerifyReport:
    """Recompute the chain seal by seal and every account's totals; stream, never load it all.

    The chain checked is the one the head names when verify starts (seals appended meanwhile
    are left for the next run). With `workers` > 1 and at least `min_parallel` sealed entries,
    the chain is cut into that many ranges, checked side by side by this process and
    `workers` - 1 others: each seal's hash depends only on its stored predecessor and its own
    content. On SQLite the totals are added up from the transfer rows the walk reads (each
    process its share); on PostgreSQL one aggregate statement sums them on a second
    connection meanwhile. `progress`, when given, is called with the entries checked so far.
    """
    report = VerifyReport()
    sealed, head_hash = session.execute(
        select(LedgerHead.sealed_entries, LedgerHead.head_hash)
    ).one()
    url = _shareable_url(session) if workers > 1 and sealed >= max(min_parallel, 2) else None
    if url is None and session.get_bind().dialect.name == "sqlite":
        # One read transaction, one snapshot: the totals are added up from the transfer rows
        # the chain walk reads anyway (SQLite's GROUP BY would sort every transfer twice).
        sums = Sums()
        results = [_check_range(session, 1, sealed, bounded=False, progress=progress, sums=sums)]
        report.mismatches = (
            _account_mismatches(session) if sums.failed else _compared(session, sums.totals())
        )
    elif url is None:
        # The totals' one aggregate query runs on a second connection meanwhile: the
        # PostgreSQL server sums while this thread hashes. (Summed here instead, the
        # transfers and the accounts would be read by different statements, hence
        # snapshots, at PostgreSQL's default isolation.)
        aside = _mismatches_aside(session) if sealed >= ASIDE_FROM else None
        results = [_check_range(session, 1, sealed, bounded=False, progress=progress)]
        report.mismatches = _account_mismatches(session) if aside is None else aside.result()
    else:
        # This process checks the first range (and sums aside); workers check the others.
        ranges = _split(sealed, workers)
        parts = _parts(session, ranges)
        shares: list[Part | None] = list(parts) if parts else [None] * len(ranges)
        context = multiprocessing.get_context("forkserver")
        with context.Pool(len(ranges) - 1) as pool:
            pending = [
                pool.apply_async(check_range_at, (url, lo, hi, part))
                for (lo, hi), part in zip(ranges[1:], shares[1:], strict=True)
            ]
            # Without shares the totals' one aggregate statement runs on a second connection.
            aside = _mismatches_aside(session) if parts is None else None
            lo, hi = ranges[0]
            results = [
                _check_range(
                    session, lo, hi, bounded=True, progress=progress,
                    sums=None if parts is None else Sums(), part=shares[0],
                )
            ]
            for job in pending:
                results.append(job.get())
                if progress is not None:
                    progress(sum(r.count for r in results))  # type: ignore[operator]
            if parts is not None:
                sums = Sums.merged([r.sums for r in results if r.sums is not None])
                report.mismatches = (
                    _account_mismatches(session)
                    if sums.failed
                    else _compared(session, sums.totals())
                )
            else:
                report.mismatches = (
                    _account_mismatches(session) if aside is None else aside.result()
                )
    report.first_break = _join(results, sealed, head_hash, report)
    report.unsealed = unsealed_entries(session)
    return report


def _mismatches_aside(session: Session) -> Future[list[AccountMismatch]] | None:
    """`_account_mismatches` started in a thread on a connection of its own (None when this
    session's database cannot be opened twice). One statement: consistent by itself."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or _shareable_url(session) is None:
        return None
    from concurrent.futures import ThreadPoolExecutor  # only verify pays for the import

    # A reading transaction: on SQLite a writing one would wait for this session's lock.
    reader = make_sessionmaker(bind, read_only=True)

    def run() -> list[AccountMismatch]:
        with transaction(reader) as other:
            return _account_mismatches(other)

    pool = ThreadPoolExecutor(1, thread_name_prefix="verify-totals")
    try:
        return pool.submit(run)
    finally:
        pool.shutdown(wait=False)


@dataclass(frozen=True)
class RangeResult:
    """What checking seals lo..hi found: their number, the first seal's entry and stored
    prev_hash, the last stored hash, and the first break inside the range."""

    count: int
    first_entry: int | None
    first_prev: str | None
    last_hash: str | None
    first_break: ChainBreak | None
    sums: Sums | None = None


# A worker's share of the transfers on SQLite: entry ids from (None: no bound), entry ids
# before (None: no bound), and the last transfer id of the snapshot verify started from.
Part = tuple[int | None, int | None, int]


def check_range_at(url: str, lo: int, hi: int, part: Part | None = None) -> RangeResult:
    """Check seals lo..hi of the database at `url` (a worker process's entry point); with
    `part`, add up that share of the transfers too."""
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine, read_only=True)) as session:
            sums = None if part is None else Sums()
            return _check_range(
                session, lo, hi, bounded=True, progress=None, sums=sums, part=part
            )
    finally:
        engine.dispose()


def _parts(session: Session, ranges: list[tuple[int, int]]) -> list[Part] | None:
    """On SQLite, each range's share of the transfers for the totals (entry ids from its first
    seal's to the next range's: every transfer exactly once); None where they cannot be shared.
    """
    # Workers read later snapshots than this session's. SQLite numbers transfers in commit
    # order (one writer, max + 1), so counting ids up to this session's last one sums exactly
    # what its accounts' stored totals cover. On PostgreSQL ids come from a sequence, not in
    # commit order: the one aggregate statement sums there.
    if session.get_bind().dialect.name != "sqlite":
        return None
    firsts = [lo for lo, _ in ranges[1:]]
    starts: dict[int, int] = dict(
        session.execute(  # type: ignore[arg-type]
            select(JournalSeal.seq, JournalSeal.entry_id).where(JournalSeal.seq.in_(firsts))
        ).all()
    )
    cuts = [starts.get(lo) for lo in firsts]
    if any(c is None for c in cuts) or any(a >= b for a, b in pairwise(cuts)):  # type: ignore[operator]
        return None
    top = int(session.scalar(select(func.coalesce(func.max(Transfer.id), 0))) or 0)
    bounds = [None, *cuts, None]
    return [(bounds[i], bounds[i + 1], top) for i in range(len(ranges))]


def _shareable_url(session: Session) -> str | None:
    """The URL other processes can open this database with (None for an in-memory one)."""
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _split(sealed: int, parts: int) -> list[tuple[int, int]]:
    size = -(-sealed // parts)
    return [(lo, min(lo + size - 1, sealed)) for lo in range(1, sealed + 1, size)]


def _join(
    results: list[RangeResult], sealed: int, head_hash: str, report: VerifyReport
) -> ChainBreak | None:
    """The first break over consecutive ranges, their joints and the head; fills the report."""
    expected_prev = GENESIS_HASH
    first_break: ChainBreak | None = None
    for r in results:
        if first_break is None and r.first_prev is not None and r.first_prev != expected_prev:
            first_break = ChainBreak(
                r.first_entry or 0,
                f"prev_hash {r.first_prev} differs from the previous entry's hash "
                f"{expected_prev}",
            )
        first_break = first_break or r.first_break
        report.entries += r.count
        expected_prev = r.last_hash or expected_prev
    report.head_hash = expected_prev
    if first_break is None and (report.entries, expected_prev) != (sealed, head_hash):
        first_break = ChainBreak(
            sealed,
            f"the ledger head names seal {sealed} hash {head_hash}, "
            f"the chain ends at seal {report.entries} hash {expected_prev}",
        )
    return first_break


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
    # SQLite: what this unit of work posted is sealed before it commits, with no queue row.
    held = held_entries(session)
    return [Unsealed(entry_id, held.get(entry_id) if queued_at is None else queued_at)
            for entry_id, queued_at in rows]


# The chain is read as plain column values, two streams of one scan each: seals with their
# entries in seal order, and transfers in (entry, transfer) order. The canonical bytes are
# spelled here with one f-string per line (ledger.core.chain's encoding, byte for byte):
# cheaper than building text in SQL and than the reference encoder's joins. An entry whose
# hash disagrees is encoded again by the reference encoder (_explain) before it is called
# broken, so this fast spelling can cost time but never a wrong verdict.
_STREAMS = {
    "sqlite": (
        "SELECT s.seq, s.entry_id, s.prev_hash, s.hash, e.posted_at, e.flow, e.ref, e.actor, "
        "e.memo, coalesce(e.reverses_entry_id, '') "
        "FROM journal_seals s JOIN journal_entries e ON e.id = s.entry_id "
        "WHERE s.seq BETWEEN {lo} AND {hi} ORDER BY s.seq",
        "SELECT t.entry_id, t.id, t.debit_account_id, t.credit_account_id, t.amount, t.kind, "
        "coalesce(t.pending_id, '') FROM transfers t {where}ORDER BY t.entry_id, t.id",
    ),
    "postgresql": (
        "SELECT s.seq, s.entry_id, s.prev_hash, s.hash, "
        "to_char(e.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
        "e.flow, e.ref, e.actor, e.memo, "
        "coalesce(e.reverses_entry_id::text, '') "
        "FROM journal_seals s JOIN journal_entries e ON e.id = s.entry_id "
        "WHERE s.seq BETWEEN {lo} AND {hi} ORDER BY s.seq",
        "SELECT t.entry_id, t.id, t.debit_account_id, t.credit_account_id, t.amount, t.kind, "
        "coalesce(t.pending_id::text, '') FROM transfers t {where}ORDER BY t.entry_id, t.id",
    ),
}
_ENTRY_OF = itemgetter(1)  # a seal row's entry id
# SQLite's text form of a UTCDateTime, and PostgreSQL's as read here (to_char in UTC).
_TIME_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", re.ASCII)

# seq, entry id, prev_hash, hash, posting time as text, flow, ref, actor, memo, reverses|''
SealRow = tuple[int, int, str, str, str, str, str, str, str, object]


class _Codes(dict[int, str]):
    """Account id -> code; an unknown id spells as nothing (the hash then disagrees)."""

    def __missing__(self, key: int) -> str:
        return ""


class Sums:
    """Each account's four totals added up from the transfer rows the chain walk reads (SQLite:
    one read transaction sees the transfers and the accounts alike)."""

    # An amount Python cannot add (text, which SQLite's SUM would read as a number) marks the
    # sums `failed`: the SQL aggregate (_account_mismatches) decides instead.

    def __init__(self) -> None:
        self.debits_pending: defaultdict[int, int] = defaultdict(int)
        self.debits_posted: defaultdict[int, int] = defaultdict(int)
        self.credits_pending: defaultdict[int, int] = defaultdict(int)
        self.credits_posted: defaultdict[int, int] = defaultdict(int)
        self.holds: dict[int, tuple[int, int, int]] = {}  # pending transfer -> its sides
        self.resolved: set[int] = set()  # transfers some other transfer resolves
        self.failed = False

    def add(self, batch: list[tuple[int, int, int, int, int, str, object]]) -> None:
        """Add transfer rows (entry, id, debit, credit, amount, kind, pending id or '')."""
        if self.failed:
            return
        dp, dpo, cp, cpo = (
            self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted
        )
        try:
            for _, tid, debit, credit, amount, kind, pending in batch:
                if kind == "normal" or kind == "post_pending":
                    dpo[debit] += amount
                    cpo[credit] += amount
                elif kind == "pending":
                    dp[debit] += amount
                    cp[credit] += amount
                    self.holds[tid] = (debit, credit, amount)
                if pending != "":
                    self.resolved.add(int(pending))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            self.failed = True

    @classmethod
    def merged(cls, parts: list[Sums]) -> Sums:
        """The sums of several disjoint shares of the transfers."""
        out = cls()
        for part in parts:
            out.failed = out.failed or part.failed
            for mine, theirs in (
                (out.debits_pending, part.debits_pending),
                (out.debits_posted, part.debits_posted),
                (out.credits_pending, part.credits_pending),
                (out.credits_posted, part.credits_posted),
            ):
                for account, amount in theirs.items():
                    mine[account] += amount
            out.holds.update(part.holds)
            out.resolved |= part.resolved
        return out

    def totals(self) -> dict[int, tuple[int, int, int, int]]:
        """Account id -> (debits pending, debits posted, credits pending, credits posted),
        holds that some transfer resolves no longer pending."""
        dp, cp = dict(self.debits_pending), dict(self.credits_pending)
        for hold in self.resolved:
            sides = self.holds.get(hold)
            if sides is not None:
                debit, credit, amount = sides
                dp[debit] -= amount
                cp[credit] -= amount
        accounts = {*dp, *self.debits_posted, *cp, *self.credits_posted}
        return {
            a: (dp.get(a, 0), self.debits_posted.get(a, 0), cp.get(a, 0),
                self.credits_posted.get(a, 0))
            for a in accounts
        }


def _chunks(
    session: Session,
    lo: int,
    hi: int,
    bounded: bool,
    sums: Sums | None = None,
    part: Part | None = None,
) -> Iterator[tuple[list[SealRow], dict[int, str], _Times]]:
    """Seals lo..hi in chunks, each with the transfer lines of (at least) its entries, keyed
    by entry id and joined by LF (the caller pops the lines of the entries it checks), and
    the posting times' converter.

    Seal order follows entry order except among entries committed side by side, so only
    their lines wait in the dict briefly; `bounded` reads only the transfers of the entries
    those seals name (for a range checked in a worker), or with `part`, that share of the
    transfers. `sums` (if given, unbounded or with `part`) adds up every transfer read,
    including those after the last seal (entries not sealed yet).

    Entries whose transfers are not read (outside `part`) are re-encoded one by one by the
    caller (_explain): only at the cuts, when seal order strays from entry order.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    seals_sql, lines_sql = _STREAMS[dialect]
    where = ""
    if part is not None:
        first, before, top = part
        bounds = [f"t.id <= {int(top)}"]
        bounds += [] if first is None else [f"t.entry_id >= {int(first)}"]
        bounds += [] if before is None else [f"t.entry_id < {int(before)}"]
        where = f"WHERE {' AND '.join(bounds)} "
    elif bounded:
        sums = None
        low, high = session.execute(
            select(func.min(JournalSeal.entry_id), func.max(JournalSeal.entry_id)).where(
                JournalSeal.seq.between(lo, hi)
            )
        ).one()
        where = f"WHERE t.entry_id BETWEEN {int(low or 0)} AND {int(high or 0)} "
    driver = connection.connection.driver_connection
    codes = _Codes(connection.execute(select(Account.id, Account.code)).all())
    named = dialect == "postgresql"  # server-side cursors: stream, never load it all
    seals = driver.cursor(name="voucher_ledger_seals") if named else driver.cursor()  # type: ignore[union-attr]
    lines = driver.cursor(name="voucher_ledger_lines") if named else driver.cursor()  # type: ignore[union-attr]
    try:
        seals.execute(seals_sql.format(lo=int(lo), hi=int(hi)))
        lines.execute(lines_sql.format(where=where))
        waiting: dict[int, str] = {}
        last_owner, more = -1, True
        times = _Times()
        while rows := seals.fetchmany(_STREAM_ROWS):
            top = max(map(_ENTRY_OF, rows))
            # Transfers come in entry order: read until past this chunk's last entry.
            while more and last_owner <= top:
                batch = lines.fetchmany(_STREAM_ROWS)
                if not batch:
                    more = False
                    break
                for owner, tid, debit, credit, amount, kind, pending in batch:
                    line = (
                        f"T\x1f{tid}\x1f{codes[debit]}\x1f{codes[credit]}\x1f{amount}"
                        f"\x1f{kind}\x1f{pending}"
                    )
                    held = waiting.get(owner)
                    waiting[owner] = line if held is None else f"{held}\n{line}"
                last_owner = batch[-1][0]
                if sums is not None:
                    sums.add(batch)
            yield rows, waiting, times
            times.trim()
        if sums is not None:  # the transfers of entries after the last seal count too
            while more and (batch := lines.fetchmany(_STREAM_ROWS)):
                sums.add(batch)
    finally:
        seals.close()
        lines.close()


class _Times(dict[str, int]):
    """Stored posting time (canonical text) -> µs since the epoch, as the reference encoder
    reads it; filled on first sight of each value, the seconds parsed once per second."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: dict[str, int] = {}

    def __missing__(self, raw: str) -> int | str:
        if isinstance(raw, str) and _TIME_TEXT.fullmatch(raw):
            head = raw[:19]
            whole = self.seconds.get(head)
            if whole is None:
                whole = self.seconds[head] = timestamp_us(stored_moment(head))
            us = whole + int(raw[20:])
        else:  # not the canonical text: the reference parser decides
            try:
                us = timestamp_us(stored_moment(raw))
            except (TypeError, ValueError):
                return raw  # spelled as found: the hash disagrees and _explain names it
        self[raw] = us
        return us

    def trim(self) -> None:
        """Forget what was seen (between chunks, so distinct times cannot pile up)."""
        if len(self) > _STREAM_ROWS:
            self.clear()
            self.seconds.clear()


def chain_bodies(
    session: Session, lo: int = 1, hi: int | None = None, bounded: bool = False
) -> Iterator[tuple[int, int, str, str, bytes | None]]:
    """Seals lo..hi in chain order: (seq, entry id, prev_hash, hash, canonical bytes as the
    fast path spells them, None when the entry has no transfers)."""
    top = hi if hi is not None else _last_seq(session)
    for rows, waiting, times in _chunks(session, lo, top, bounded):
        for seq, entry_id, prev_hash, stored, at, flow, ref, actor, memo, rev in rows:
            found = waiting.pop(entry_id, None)
            body = None if found is None else (
                f"E\x1f{entry_id}\x1f{times[at]}\x1f{flow}\x1f{ref}\x1f{actor}\x1f{memo}\x1f{rev}\n"
                f"{found}"
            ).encode()
            yield seq, entry_id, prev_hash, stored, body


def _last_seq(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(JournalSeal.seq), 0))) or 0)


def _check_range(
    session: Session,
    lo: int,
    hi: int,
    *,
    bounded: bool,
    progress: object | None,
    sums: Sums | None = None,
    part: Part | None = None,
) -> RangeResult:
    """Check seals lo..hi: numbering, links within the range and each recomputed hash; add
    the transfers (all, or bounded: those of `part`) to `sums` if given."""
    expected_seq, expected_prev = lo, "" if lo > 1 else GENESIS_HASH
    first_entry = first_prev = last_hash = None
    first_break: ChainBreak | None = None
    sha256 = hashlib.sha256
    count = 0
    for rows, waiting, times in _chunks(session, lo, hi, bounded, sums, part):
        if count == 0:
            first_entry, first_prev = rows[0][1], rows[0][2]
            expected_prev = expected_prev or first_prev  # the joint is checked by _join
        count += len(rows)
        pop = waiting.pop
        for seq, entry_id, prev_hash, stored, at, flow, ref, actor, memo, rev in rows:
            found = pop(entry_id, None)
            if first_break is None and (
                seq != expected_seq
                or prev_hash != expected_prev
                or found is None
                or sha256(
                    f"{prev_hash}\nE\x1f{entry_id}\x1f{times[at]}\x1f{flow}\x1f{ref}\x1f{actor}"
                    f"\x1f{memo}\x1f{rev}\n{found}".encode()
                ).hexdigest()
                != stored
            ):
                first_break = _explain(
                    session, seq, expected_seq, entry_id, prev_hash, expected_prev, stored
                )
            expected_prev, expected_seq = stored, seq + 1
        last_hash = expected_prev
        if progress is not None:
            progress(count)  # type: ignore[operator]
    return RangeResult(count, first_entry, first_prev, last_hash, first_break, sums)


def _explain(
    session: Session,
    seq: int,
    expected_seq: int,
    entry_id: int,
    prev_hash: str,
    expected_prev: str,
    stored_hash: str,
) -> ChainBreak | None:
    """Why the seal at `seq` fails, checked again with the reference encoder; None if it holds."""
    if seq != expected_seq:
        gap = f"seal {seq} follows seal {expected_seq - 1}: the chain has a gap"
        return ChainBreak(entry_id, gap)
    if prev_hash != expected_prev:
        link = f"prev_hash {prev_hash} differs from the previous entry's hash {expected_prev}"
        return ChainBreak(entry_id, link)
    try:
        encoded = canonical_entries(session, [entry_id])
    except (TypeError, ValueError) as exc:  # e.g. a posting time rewritten as no time at all
        return ChainBreak(entry_id, f"the entry's stored columns cannot be read: {exc}")
    if not encoded:
        return ChainBreak(entry_id, "the entry has no transfers")
    recomputed = chain_hash(prev_hash, encoded[0][2])
    if recomputed != stored_hash:
        return ChainBreak(
            entry_id, f"content hash {recomputed} differs from the stored hash {stored_hash}"
        )
    return None


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


def _compared(
    session: Session, totals: dict[int, tuple[int, int, int, int]]
) -> list[AccountMismatch]:
    """`_account_mismatches` for totals recomputed in Python (Sums): the same findings."""
    mismatches: list[AccountMismatch] = []
    none = (0, 0, 0, 0)
    for account_id, code, *raw in session.execute(_stored_statement()):
        values = [int(v) for v in raw]
        recomputed = [int(v) for v in totals.get(account_id, none)]
        mismatches += _findings(code, values[:4], recomputed, values[4:])
    return mismatches


def _findings(code: str, stored: Sequence[int], recomputed: Sequence[int],
              latest: Sequence[int]) -> list[AccountMismatch]:
    """An account's wrong totals: stored against recomputed, else against its latest history
    row."""
    found: list[AccountMismatch] = []
    for name, value, right, snapshot in zip(_TOTAL_NAMES, stored, recomputed, latest,
                                            strict=True):
        if value != right:
            found.append(AccountMismatch(code, name, value, right))
        elif value != snapshot:
            found.append(AccountMismatch(code, f"{name} (latest history row)", value, snapshot))
    return found


def _latest_history() -> Subquery:
    """Each account's latest history row's entry id."""
    return (
        select(AccountHistory.account_id, func.max(AccountHistory.entry_id).label("entry_id"))
        .group_by(AccountHistory.account_id)
        .subquery()
    )


@cache
def _stored_statement() -> Select:  # type: ignore[type-arg]
    """Every account's id, code, stored totals and its latest history row's, in code order."""
    latest = _latest_history()
    history = aliased(AccountHistory)
    return (
        select(
            Account.id,
            Account.code,
            *[getattr(Account, n) for n in _TOTAL_NAMES],
            *[func.coalesce(getattr(history, n), 0) for n in _TOTAL_NAMES],
        )
        .outerjoin(latest, latest.c.account_id == Account.id)
        .outerjoin(
            history,
            (history.account_id == latest.c.account_id) & (history.entry_id == latest.c.entry_id),
        )
        .order_by(Account.code)
    )


def _account_mismatches(session: Session) -> list[AccountMismatch]:
    mismatches: list[AccountMismatch] = []
    for code, *raw in session.execute(_mismatch_statement()):
        values = [int(v) for v in raw]  # PostgreSQL's SUM of bigint is numeric
        mismatches += _findings(code, values[:4], values[4:8], values[8:])
    return mismatches


@cache
def _mismatch_statement() -> Select:  # type: ignore[type-arg]
    """Accounts whose stored totals differ from the transfers' or their latest history row."""
    totals = _totals_from_transfers().subquery()
    latest = _latest_history()
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
