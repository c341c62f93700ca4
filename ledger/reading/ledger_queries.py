"""Read-only ledger queries for reports: trial balance as of a moment, journal summary.

The database does the aggregation. Per account, the totals as of a moment come from its
latest `account_history` row at or before that moment, found by an index seek on
(account_id, posted_at, entry_id): a report's time grows with the accounts it prints, not
with the journal. Rows are streamed in chunks; nothing loads a whole account list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.core.accounts import Balance
from ledger.core.errors import InvalidInput
from ledger.core.models import Account, AccountHistory, JournalEntry, JournalSeal, LedgerHead
from ledger.reading.account_names import KIND_ORDER

STREAM_CHUNK = 2_000


def balances_of(session: Session, codes: list[str]) -> dict[str, Balance]:
    """The current totals of each account in `codes` that exists, in one query (a page's
    accounts: not one `balance()` each)."""
    if not codes:
        return {}
    return {code: Balance(*totals) for code, *totals in session.execute(
        select(Account.code, Account.debits_pending, Account.debits_posted,
               Account.credits_pending, Account.credits_posted)
        .where(Account.code.in_(codes))).all()}


@dataclass(frozen=True)
class TrialBalanceRow:
    """One account's four totals in fen as they stood at the moment asked for."""

    code: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balance(self) -> int:
        """Posted debits less posted credits: positive is a debit balance, negative a credit."""
        return self.debits_posted - self.credits_posted


@dataclass(frozen=True)
class TrialBalanceTotals:
    """Sums over every account of a ledger at a moment; a sound ledger has equal sides."""

    accounts: int
    debits_posted: int
    credits_posted: int
    debit_balances: int
    credit_balances: int
    debits_pending: int
    credits_pending: int

    @property
    def balanced(self) -> bool:
        """Posted debits equal posted credits, balances net to zero, holds match on both sides."""
        return (
            self.debits_posted == self.credits_posted
            and self.debit_balances == self.credit_balances
            and self.debits_pending == self.credits_pending
        )


@dataclass(frozen=True)
class KindBalance:
    """Totals of one kind of account (budget, voucher, provider, …) within a ledger."""

    kind: str
    accounts: int
    debits_posted: int
    credits_posted: int

    @property
    def balance(self) -> int:
        """Posted debits less posted credits over the kind's accounts."""
        return self.debits_posted - self.credits_posted


@dataclass(frozen=True)
class JournalSummary:
    """The sealed chain's size, its first and head hashes and the span of its posting times
    (entries posted but not sealed yet are not covered)."""

    entries: int
    first_hash: str | None
    head_hash: str
    first_posted_at: datetime | None
    last_posted_at: datetime | None


def _check_moment(at: datetime) -> None:
    if at.tzinfo is None:
        raise InvalidInput("as_of must carry a time zone", field="as_of")


def _as_of(ledger: str, at: datetime) -> Select:  # type: ignore[type-arg]
    """Per account of `ledger`: code and the four totals at `at` (zero before its first entry)."""
    inner = aliased(AccountHistory)
    # Correlated "latest row at or before `at`": one index seek per account, so the cost
    # follows the number of accounts and never the length of their history.
    latest_entry = (
        select(inner.entry_id)
        .where(inner.account_id == Account.id, inner.posted_at <= at)
        .order_by(inner.posted_at.desc(), inner.entry_id.desc())
        .limit(1)
        .correlate(Account)
        .scalar_subquery()
    )
    history = aliased(AccountHistory)
    zero_or = func.coalesce
    return (
        select(
            Account.code.label("code"),
            zero_or(history.debits_posted, 0).label("debits_posted"),
            zero_or(history.credits_posted, 0).label("credits_posted"),
            zero_or(history.debits_pending, 0).label("debits_pending"),
            zero_or(history.credits_pending, 0).label("credits_pending"),
        )
        .outerjoin(
            history,
            and_(history.account_id == Account.id, history.entry_id == latest_entry),
        )
        .where(Account.ledger == ledger)
    )


def trial_balance_rows(
    session: Session,
    ledger: str,
    at: datetime,
    *,
    held_only: bool = False,
    chunk: int = STREAM_CHUNK,
) -> Iterator[TrialBalanceRow]:
    """Every account of `ledger` with its totals at `at`, streamed in chunks, in the chart's
    natural order: by kind (KIND_ORDER), then by code with numbers in numeric order
    (`provider:2` before `provider:11`).

    `held_only` keeps the accounts with a pending hold on either side at that moment.
    """
    _check_moment(at)
    rows = _as_of(ledger, at).subquery()
    kind_rank = case(
        *((rows.c.code.like(f"{ledger}:{kind}%"), rank) for rank, kind in enumerate(KIND_ORDER)),
        else_=len(KIND_ORDER),
    )
    # Within a kind every code shares the prefix, so a shorter key is a smaller number.
    stmt = select(rows).order_by(kind_rank, func.length(rows.c.code), rows.c.code)
    if held_only:
        stmt = stmt.where(or_(rows.c.debits_pending != 0, rows.c.credits_pending != 0))
    result = session.execute(stmt.execution_options(yield_per=chunk))
    for row in result:
        yield TrialBalanceRow(*row)


def trial_balance_totals(session: Session, ledger: str, at: datetime) -> TrialBalanceTotals:
    """The sums of `trial_balance_rows` for `ledger` at `at`, in one aggregate query."""
    _check_moment(at)
    rows = _as_of(ledger, at).subquery()
    balance = rows.c.debits_posted - rows.c.credits_posted
    row = session.execute(
        select(
            func.count(),
            _sum(rows.c.debits_posted),
            _sum(rows.c.credits_posted),
            _sum(case((balance > 0, balance), else_=0)),
            _sum(case((balance < 0, -balance), else_=0)),
            _sum(rows.c.debits_pending),
            _sum(rows.c.credits_pending),
        )
    ).one()
    return TrialBalanceTotals(*(int(value) for value in row))


def balances_by_kind(session: Session, ledger: str, at: datetime) -> list[KindBalance]:
    """Totals at `at` grouped by account kind, the code's segment after the ledger's code.

    `LN-CXQ-2025:voucher:V1` is of kind `voucher`; a code not under `ledger:` is `(other)`.
    """
    _check_moment(at)
    rows = _as_of(ledger, at).subquery()
    prefix = f"{ledger}:"
    rest = func.substr(rows.c.code, len(prefix) + 1)
    # SQLite spells "position of a substring" instr(s, t); PostgreSQL strpos(s, t).
    dialect = session.get_bind().dialect.name
    colon = func.instr(rest, ":") if dialect == "sqlite" else func.strpos(rest, ":")
    kind = case(
        (func.substr(rows.c.code, 1, len(prefix)) != prefix, "(other)"),
        (colon > 0, func.substr(rest, 1, colon - 1)),
        else_=rest,
    ).label("kind")
    grouped = session.execute(
        select(kind, func.count(), _sum(rows.c.debits_posted), _sum(rows.c.credits_posted))
        .group_by(kind)
        .order_by(kind)
    ).all()
    return [KindBalance(k, int(n), int(d), int(c)) for k, n, d, c in grouped]


def journal_summary(session: Session) -> JournalSummary:
    """Sealed entries, first and head hash, first and last posting time: two keyed reads."""
    head = session.execute(
        select(LedgerHead.sealed_entries, LedgerHead.head_hash, LedgerHead.last_posted_at)
    ).one()
    first = session.execute(
        select(JournalSeal.hash, JournalEntry.posted_at)
        .join(JournalEntry, JournalEntry.id == JournalSeal.entry_id)
        .where(JournalSeal.seq == 1)
    ).first()
    return JournalSummary(
        entries=head.sealed_entries,
        first_hash=None if first is None else first.hash,
        head_hash=head.head_hash,
        first_posted_at=None if first is None else first.posted_at,
        last_posted_at=head.last_posted_at,
    )


def ledger_exists(session: Session, ledger: str) -> bool:
    """True when at least one account belongs to `ledger`."""
    return session.scalar(select(Account.id).where(Account.ledger == ledger).limit(1)) is not None


def _sum(column: ColumnElement[int]) -> ColumnElement[int]:
    """SUM that reads 0, not NULL, over no rows."""
    return func.coalesce(func.sum(column), 0)
