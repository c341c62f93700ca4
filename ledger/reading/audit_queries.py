"""Read-only aggregates for the audit, statement and exceptions reports.

Every figure is a SQL sum or count over the domain tables (vouchers, redemptions, awards,
payment batches, the operation log) filtered by programme and period through their indexes;
whole months of vouchers and redemptions come from the monthly totals the services keep.
A statement reads only the transfers of one party's accounts. Nothing here walks the journal.
Dates are Beijing calendar days; moments are timezone-aware bounds of the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from ledger.awards.award import Award
from ledger.core.models import Account, AccountHistory, JournalEntry, Transfer
from ledger.core.oplog import Operation
from ledger.payments.batches import PaymentBatch, PaymentReturn
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.redemption_totals import DONE, RedemptionCityTotal, RedemptionTotal
from ledger.vouchers.redemptions import Redemption
from ledger.vouchers.voucher import Voucher
from ledger.vouchers.voucher_totals import VoucherMonthTotal

# Awards that were approved at some point (and so moved money out of the budget).
APPROVED = ("approved", "in_payment", "paid", "clawed_back")
# Refusal codes the policy engine gives when a cap is reached (rules/engine.py).
CAP_CODES = ("cap_exceeded",)
RELATED_PARTY_CODES = ("related_party",)
LATE_CLAIM_CODES = ("claim_late",)
STREAM_CHUNK = 2_000

AwardKey = Literal["tier", "city", "month"]


@dataclass(frozen=True)
class Window:
    """A period as the queries filter it: its days (date columns) and moments (timestamps)."""

    start: dt.date
    end: dt.date
    start_at: dt.datetime
    end_at: dt.datetime


@dataclass(frozen=True)
class CountAmount:
    """How many, and how much in fen."""

    count: int
    amount: int


@dataclass(frozen=True)
class RedemptionGroup:
    """Redemptions completed in the period under one key: all of them and those clawed back."""

    key: str
    label: str
    count: int
    completed: int
    clawed_back: int

    @property
    def net(self) -> int:
        """Completed less clawed back: what the programme still pays for."""
        return self.completed - self.clawed_back


@dataclass(frozen=True)
class AwardGroup:
    """Awards applied for in the period under one key, by what became of them."""

    key: str
    count: int
    approved: int
    paid: int
    clawed_back: int


@dataclass(frozen=True)
class MonthRow:
    """One month: vouchers issued and redemptions completed in it."""

    month: str
    issued_count: int
    issued: int
    completed_count: int
    completed: int


@dataclass(frozen=True)
class RefusalRow:
    """One refused operation of the log."""

    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str | None
    code: str
    message: str


@dataclass(frozen=True)
class ClawbackRow:
    """One clawed-back redemption or award: who, how much, why and by whom."""

    kind: str  # "redemption" or "award"
    id: int
    at: dt.datetime
    firm: str
    provider: str
    amount: int
    reason: str
    by: str


@dataclass(frozen=True)
class OpenHoldRow:
    """An expired voucher still carrying holds."""

    serial: str
    firm: str
    expires_on: dt.date
    held: int


@dataclass(frozen=True)
class Movement:
    """One transfer on a party's account, with its effect seen from that account."""

    transfer_id: int
    entry_id: int
    posted_at: dt.datetime
    flow: str
    ref: str
    kind: str
    account: str
    counterpart: str
    debit: bool  # the party's account is debited (its debit balance grows)
    amount: int


@dataclass(frozen=True)
class PartyBalance:
    """Summed posted and pending totals of a party's accounts at a moment."""

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def balance(self) -> int:
        """Posted debits less posted credits."""
        return self.debits_posted - self.credits_posted


def _sum(column: ColumnElement[int]) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


def _month(column: ColumnElement[dt.date]) -> ColumnElement[str]:
    """YYYY-MM of a date column: both engines print a DATE as YYYY-MM-DD."""
    return func.substr(cast(column, String), 1, 7)


# ----------------------------------------------------------------------- programme audit


def _voucher_totals(
    session: Session, programme_id: int, whole: Days | None, *columns: ColumnElement[int]
) -> list[Sequence[Any]]:
    """Month and `columns` of the voucher month totals of the whole months `whole`."""
    if whole is None:
        return []
    t = VoucherMonthTotal
    return list(session.execute(
        select(t.month, *columns).where(t.programme_id == programme_id, t.month.between(*whole))
        .order_by(t.month)))


def issued_in(session: Session, programme_id: int, window: Window) -> CountAmount:
    """Vouchers issued on a day of the period: count and amount.

    Whole months come from the voucher month totals; edge days from the vouchers.
    """
    whole, edges = split_months(window)
    t = VoucherMonthTotal
    n = amount = 0
    for _, count, fen in _voucher_totals(session, programme_id, whole, t.issued_count,
                                         t.issued_fen):
        n, amount = n + int(count), amount + int(fen)
    for days in edges:
        count, fen = session.execute(
            select(func.count(), _sum(Voucher.amount_fen)).where(
                Voucher.programme_id == programme_id, Voucher.issued_on.between(*days))
        ).one()
        n, amount = n + int(count), amount + int(fen)
    return CountAmount(n, amount)


def expired_in(session: Session, programme_id: int, window: Window) -> CountAmount:
    """Vouchers whose last valid day falls in the period, and what expiry returned of them.

    Whole months come from the voucher month totals; edge days from the vouchers.
    """
    whole, edges = split_months(window)
    t = VoucherMonthTotal
    n = amount = 0
    for _, count, fen in _voucher_totals(session, programme_id, whole, t.expired_count,
                                         t.expired_fen):
        n, amount = n + int(count), amount + int(fen)
    for days in edges:
        count, fen = session.execute(
            select(func.count(), _sum(Voucher.expired_fen)).where(
                Voucher.programme_id == programme_id, Voucher.expires_on.between(*days),
                Voucher.expired_fen > 0)
        ).one()
        n, amount = n + int(count), amount + int(fen)
    return CountAmount(n, amount)


def paid_in(session: Session, programme_id: int, window: Window) -> CountAmount:
    """Payment batches marked paid in the period: count and total."""
    n, amount = session.execute(
        select(func.count(), _sum(PaymentBatch.total_fen)).where(
            PaymentBatch.programme_id == programme_id, PaymentBatch.status == "paid",
            PaymentBatch.paid_at.between(window.start_at, window.end_at))
    ).one()
    return CountAmount(int(n), int(amount))


def returned_in(session: Session, programme_id: int, window: Window) -> CountAmount:
    """Paid lines the bank returned (退票) recorded in the period: count and amount."""
    n, amount = session.execute(
        select(func.count(), _sum(PaymentReturn.amount_fen))
        .join(PaymentBatch, PaymentBatch.id == PaymentReturn.batch_id).where(
            PaymentBatch.programme_id == programme_id,
            PaymentReturn.recorded_at.between(window.start_at, window.end_at))
    ).one()
    return CountAmount(int(n), int(amount))


RedemptionKey = Literal["category", "provider", "month"]


@dataclass(frozen=True)
class Redemptions:
    """The period's completed redemptions summed per category, per provider and per month.

    Whole months are summed by SQL over the maintained totals, so what comes back is bounded
    by the rows printed (categories, providers, months), never by the redemptions.
    """

    groups: dict[RedemptionKey, tuple[RedemptionGroup, ...]]

    def by(self, key: RedemptionKey) -> list[RedemptionGroup]:
        """The groups of one breakdown, ordered by key (providers by id)."""
        return list(self.groups[key])

    def top_providers(self, limit: int) -> list[RedemptionGroup]:
        """Providers by completed amount, largest first (ties by id)."""
        ranked = sorted(self.by("provider"), key=lambda g: (-g.completed, int(g.key)))
        return ranked[:limit]

    @property
    def total(self) -> RedemptionGroup:
        """All redemptions of the period: the total row of every breakdown."""
        rows = self.groups["category"]
        return RedemptionGroup("", "合计", sum(g.count for g in rows),
                               sum(g.completed for g in rows), sum(g.clawed_back for g in rows))


Days = tuple[dt.date, dt.date]


def split_months(window: Window) -> tuple[Days | None, list[Days]]:
    """The whole calendar months inside the period (first and last day), and the days
    left at its edges, before and after them (all the period if no month is whole)."""
    day = dt.timedelta(days=1)
    first = window.start if window.start.day == 1 else _next_month(window.start)
    ends_a_month = _next_month(window.end) - day == window.end
    last = window.end if ends_a_month else window.end.replace(day=1) - day
    if first > last:
        return None, [(window.start, window.end)]
    edges = [(window.start, first - day)] if window.start < first else []
    if last < window.end:
        edges.append((last + day, window.end))
    return (first, last), edges


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _done_in(programme_id: int, days: Days) -> tuple[ColumnElement[bool], ...]:
    return (Redemption.programme_id == programme_id, Redemption.status.in_(DONE),
            Redemption.completed_on.between(*days))


def _clawed_sum() -> ColumnElement[int]:
    return _sum(case((Redemption.status == "clawed_back", Redemption.amount_fen), else_=0))


def redemptions(session: Session, programme_id: int, window: Window) -> Redemptions:
    """The period's completed redemptions per category, provider and month.

    Whole months are three SQL group-bys over the maintained totals; edge days are read from
    the redemptions themselves (category × provider × month) and added in.
    """
    whole, edges = split_months(window)
    sums: dict[RedemptionKey, dict[str, list[int]]] = {"category": {}, "provider": {},
                                                       "month": {}}

    def add(key: RedemptionKey, name: str, n: int, completed: int, clawed: int) -> None:
        acc = sums[key].setdefault(name, [0, 0, 0])
        acc[0], acc[1], acc[2] = acc[0] + int(n), acc[1] + int(completed), acc[2] + int(clawed)

    if whole is not None:
        t = RedemptionTotal
        keyed: dict[RedemptionKey, ColumnElement[Any]] = {
            "category": t.category, "provider": t.provider_id, "month": _month(t.month)}
        for key, column in keyed.items():
            for k, n, a, cb in session.execute(
                select(column, _sum(t.completions), _sum(t.amount_fen), _sum(t.clawed_back_fen))
                .where(t.programme_id == programme_id, t.month.between(*whole))
                .group_by(column)
            ):
                add(key, str(k), n, a, cb)
    month = _month(Redemption.completed_on)
    for days in edges:
        for c, p, m, n, a, cb in session.execute(
            select(Redemption.category, Redemption.provider_id, month, func.count(),
                   _sum(Redemption.amount_fen), _clawed_sum())
            .where(*_done_in(programme_id, days))
            .group_by(Redemption.category, Redemption.provider_id, month)
        ):
            add("category", str(c), n, a, cb)
            add("provider", str(p), n, a, cb)
            add("month", str(m), n, a, cb)
    ids = sorted(int(k) for k in sums["provider"])
    names = dict(session.execute(
        select(Provider.id, Provider.name).where(Provider.id.in_(ids))).all()) if ids else {}

    def groups(key: RedemptionKey) -> tuple[RedemptionGroup, ...]:
        order = sorted(sums[key], key=lambda k: (int(k), k) if key == "provider" else (0, k))
        return tuple(RedemptionGroup(k, str(names.get(int(k), k)) if key == "provider" else k,
                                     *sums[key][k]) for k in order)

    return Redemptions({"category": groups("category"), "provider": groups("provider"),
                        "month": groups("month")})


def redemptions_by_city(
    session: Session, programme_id: int, window: Window
) -> list[RedemptionGroup]:
    """The period's completed redemptions by the city of the firm, ordered by city.

    Whole months come from the maintained city totals; edge days are summed per firm first,
    then per city (one firm lookup per firm, not per redemption). SQL adds the parts up.
    """
    whole, edges = split_months(window)
    parts = []
    if whole is not None:
        t = RedemptionCityTotal
        parts.append(
            select(t.city.label("city"), t.completions.label("n"),
                   t.amount_fen.label("completed"), t.clawed_back_fen.label("clawed"))
            .where(t.programme_id == programme_id, t.month.between(*whole)))
    for days in edges:
        per_firm = (
            select(Redemption.firm_id.label("firm_id"), func.count().label("n"),
                   _sum(Redemption.amount_fen).label("completed"),
                   _clawed_sum().label("clawed"))
            .where(*_done_in(programme_id, days)).group_by(Redemption.firm_id).subquery()
        )
        parts.append(
            select(Firm.city.label("city"), _sum(per_firm.c.n).label("n"),
                   _sum(per_firm.c.completed).label("completed"),
                   _sum(per_firm.c.clawed).label("clawed"))
            .join(per_firm, per_firm.c.firm_id == Firm.id).group_by(Firm.city))
    every = union_all(*parts).subquery()
    rows = session.execute(
        select(every.c.city, _sum(every.c.n), _sum(every.c.completed), _sum(every.c.clawed))
        .group_by(every.c.city).order_by(every.c.city)
    ).all()
    return [RedemptionGroup(str(c), str(c), int(n), int(a), int(cb)) for c, n, a, cb in rows]


def months(
    session: Session, programme_id: int, window: Window, completed: Redemptions
) -> list[MonthRow]:
    """Per month of the period: vouchers issued (the month totals, a group-by on edge days)
    and redemptions completed."""
    whole, edges = split_months(window)
    t = VoucherMonthTotal
    issued = {f"{m:%Y-%m}": (int(n), int(a))
              for m, n, a in _voucher_totals(session, programme_id, whole, t.issued_count,
                                             t.issued_fen)}
    issued_month = _month(Voucher.issued_on)
    for days in edges:
        for m, n, a in session.execute(
            select(issued_month, func.count(), _sum(Voucher.amount_fen))
            .where(Voucher.programme_id == programme_id, Voucher.issued_on.between(*days))
            .group_by(issued_month)
        ):
            before = issued.get(str(m), (0, 0))
            issued[str(m)] = (before[0] + int(n), before[1] + int(a))
    done = {g.key: (g.count, g.completed) for g in completed.by("month")}
    return [MonthRow(m, *issued.get(m, (0, 0)), *done.get(m, (0, 0)))
            for m in month_labels(window.start, window.end)]


def month_labels(start: dt.date, end: dt.date) -> list[str]:
    """YYYY-MM of every month from `start` to `end`, both included."""
    labels, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def award_groups(
    session: Session, programme_id: int, window: Window, by: AwardKey
) -> list[AwardGroup]:
    """Awards applied for in the period, by tier, firm city or month of application."""
    if by == "tier":
        key: ColumnElement[str] = Award.tier
    elif by == "city":
        key = Firm.city
    else:
        key = _month(Award.applied_on)
    amount = Award.amount_fen
    stmt = select(
        key, func.count(),
        _sum(case((Award.status.in_(APPROVED), amount), else_=0)),
        _sum(case((Award.status == "paid", amount), else_=0)),
        _sum(case((Award.status == "clawed_back", amount), else_=0)),
    ).where(Award.programme_id == programme_id,
            Award.applied_on.between(window.start, window.end))
    if by == "city":
        stmt = stmt.join(Firm, Firm.id == Award.firm_id)
    rows = session.execute(stmt.group_by(key).order_by(key)).all()
    return [AwardGroup(str(k), int(n), int(a), int(p), int(c)) for k, n, a, p, c in rows]


# ---------------------------------------------------------------------------- exceptions


def _refused(window: Window) -> tuple[ColumnElement[bool], ...]:
    return (Operation.outcome == "refused",
            Operation.at.between(window.start_at, window.end_at))


def refusals_by_code(session: Session, window: Window) -> list[tuple[str, int]]:
    """Refused operations of the period counted by refusal code, most frequent first."""
    n = func.count()
    rows = session.execute(
        select(Operation.code, n).where(*_refused(window))
        .group_by(Operation.code).order_by(n.desc(), Operation.code)
    ).all()
    return [(str(code), int(count)) for code, count in rows]


def refusals(
    session: Session, window: Window, codes: Sequence[str], *, chunk: int = STREAM_CHUNK
) -> Iterator[RefusalRow]:
    """Refused operations of the period with one of `codes`, oldest first, streamed."""
    stmt = (
        select(Operation.at, Operation.actor, Operation.action, Operation.object_type,
               Operation.object_id, Operation.code, Operation.message)
        .where(*_refused(window), Operation.code.in_(list(codes)))
        .order_by(Operation.at, Operation.id)
    )
    for row in session.execute(stmt.execution_options(yield_per=chunk)):
        yield RefusalRow(*row)


def clawback_total(session: Session, programme_id: int, window: Window) -> CountAmount:
    """Redemptions and awards clawed back in the period: how many and how much."""
    total = CountAmount(0, 0)
    for model in (Redemption, Award):
        n, amount = session.execute(
            select(func.count(), _sum(model.amount_fen)).where(
                model.programme_id == programme_id, model.status == "clawed_back",
                model.updated_at.between(window.start_at, window.end_at))
        ).one()
        total = CountAmount(total.count + int(n), total.amount + int(amount))
    return total


def clawbacks(session: Session, programme_id: int, window: Window) -> list[ClawbackRow]:
    """Every redemption and award clawed back in the period, oldest first."""
    red = session.execute(
        select(Redemption.id, Redemption.updated_at, Firm.name, Provider.name,
               Redemption.amount_fen, Redemption.clawback_reason, Redemption.clawed_back_by)
        .join(Firm, Firm.id == Redemption.firm_id)
        .join(Provider, Provider.id == Redemption.provider_id)
        .where(Redemption.programme_id == programme_id, Redemption.status == "clawed_back",
               Redemption.updated_at.between(window.start_at, window.end_at))
    ).all()
    awards = session.execute(
        select(Award.id, Award.updated_at, Firm.name, Award.tier, Award.amount_fen,
               Award.clawback_reason, Award.decided_by)
        .join(Firm, Firm.id == Award.firm_id)
        .where(Award.programme_id == programme_id, Award.status == "clawed_back",
               Award.updated_at.between(window.start_at, window.end_at))
    ).all()
    rows = [ClawbackRow("redemption", i, at, f, p, a, r or "", b or "")
            for i, at, f, p, a, r, b in red]
    rows += [ClawbackRow("award", i, at, f, t, a, r or "", b or "")
             for i, at, f, t, a, r, b in awards]
    return sorted(rows, key=lambda r: (r.at, r.kind, r.id))


def _expired_held(programme_id: int, day: dt.date) -> tuple[ColumnElement[bool], ...]:
    return (Voucher.programme_id == programme_id, Voucher.expires_on < day,
            Account.credits_pending > 0)


def _held_at(at: dt.datetime) -> ColumnElement[int]:
    """The voucher account's pending credits at `at` (one seek into its history)."""
    inner = aliased(AccountHistory)
    return func.coalesce(
        select(inner.credits_pending)
        .where(inner.account_id == Account.id, inner.posted_at <= at)
        .order_by(inner.posted_at.desc(), inner.entry_id.desc())
        .limit(1).correlate(Account).scalar_subquery(), 0)


def _held_as_of(programme_id: int, day: dt.date, at: dt.datetime):  # type: ignore[no-untyped-def]
    """Vouchers expired before `day` with what each held at `at`, as a subquery.

    A voucher held something at `at` only if it holds something now or has moved since, so
    the history is sought for those alone.
    """
    return (
        select(Voucher.serial.label("serial"), Voucher.firm_id.label("firm_id"),
               Voucher.expires_on.label("expires_on"), _held_at(at).label("held"))
        .join(Account, Account.code == Voucher.account_code)
        .where(Voucher.programme_id == programme_id, Voucher.expires_on < day,
               or_(Account.credits_pending > 0, Account.last_posted_at > at))
        .subquery()
    )


def open_holds_total(
    session: Session, programme_id: int, day: dt.date, *, at: dt.datetime | None = None
) -> CountAmount:
    """Vouchers expired before `day` that still carry holds now, or at `at`: count and amount.

    Only the vouchers expired before `day` are read (the index on `expires_on`).
    """
    if at is None:
        n, held = session.execute(
            select(func.count(), _sum(Account.credits_pending))
            .select_from(Voucher).join(Account, Account.code == Voucher.account_code)
            .where(*_expired_held(programme_id, day))
        ).one()
        return CountAmount(int(n), int(held))
    rows = _held_as_of(programme_id, day, at)
    n, held = session.execute(
        select(func.count(), _sum(rows.c.held)).where(rows.c.held > 0)).one()
    return CountAmount(int(n), int(held))


def open_holds(
    session: Session, programme_id: int, day: dt.date, *, at: dt.datetime | None = None
) -> Iterator[OpenHoldRow]:
    """Each voucher expired before `day` still carrying holds (now, or at `at`), by serial,
    streamed."""
    if at is None:
        stmt = (
            select(Voucher.serial, Firm.name, Voucher.expires_on, Account.credits_pending)
            .join(Account, Account.code == Voucher.account_code)
            .join(Firm, Firm.id == Voucher.firm_id)
            .where(*_expired_held(programme_id, day)).order_by(Voucher.serial)
        )
    else:
        rows = _held_as_of(programme_id, day, at)
        stmt = (
            select(rows.c.serial, Firm.name, rows.c.expires_on, rows.c.held)
            .join(Firm, Firm.id == rows.c.firm_id)
            .where(rows.c.held > 0).order_by(rows.c.serial)
        )
    for row in session.execute(stmt.execution_options(yield_per=STREAM_CHUNK)):
        yield OpenHoldRow(*row)


# ---------------------------------------------------------------------------- statements


def firm_account_ids(
    session: Session, programme: str, programme_id: int, firm_id: int
) -> list[int]:
    """The firm's accounts in the programme: its vouchers, its award and its receivable."""
    vouchers = session.scalars(
        select(Account.id).join(Voucher, Voucher.account_code == Account.code)
        .where(Voucher.programme_id == programme_id, Voucher.firm_id == firm_id)
    ).all()
    named = session.scalars(select(Account.id).where(Account.code.in_(
        [f"{programme}:award:{firm_id}", f"{programme}:receivable:firm-{firm_id}"]))).all()
    return [*vouchers, *named]


def provider_account_ids(session: Session, programme: str, provider_id: int) -> list[int]:
    """The provider's accounts in the programme: what it earned and what it owes back."""
    return list(session.scalars(select(Account.id).where(Account.code.in_(
        [f"{programme}:provider:{provider_id}", f"{programme}:receivable:{provider_id}"]))).all())


def party_balance(session: Session, account_ids: Sequence[int], at: dt.datetime) -> PartyBalance:
    """The summed totals of `account_ids` as they stood at `at` (one index seek per account)."""
    if not account_ids:
        return PartyBalance(0, 0, 0, 0)
    inner = aliased(AccountHistory)
    latest = (
        select(inner.entry_id)
        .where(inner.account_id == Account.id, inner.posted_at <= at)
        .order_by(inner.posted_at.desc(), inner.entry_id.desc())
        .limit(1).correlate(Account).scalar_subquery()
    )
    history = aliased(AccountHistory)
    row = session.execute(
        select(_sum(history.debits_posted), _sum(history.credits_posted),
               _sum(history.debits_pending), _sum(history.credits_pending))
        .select_from(Account)
        .join(history, and_(history.account_id == Account.id, history.entry_id == latest))
        .where(Account.id.in_(list(account_ids)))
    ).one()
    return PartyBalance(*(int(v) for v in row))


def movements(
    session: Session, account_ids: Sequence[int], window: Window, *, chunk: int = STREAM_CHUNK
) -> Iterator[Movement]:
    """Every transfer of the period on `account_ids`, in journal order, streamed; one between
    two of them (a provider's payable and its receivable) is two movements, one per side."""
    if not account_ids:
        return
    ids = list(account_ids)
    debit, credit = aliased(Account), aliased(Account)
    stmt = (
        select(Transfer.id, JournalEntry.id, JournalEntry.posted_at, JournalEntry.flow,
               JournalEntry.ref, Transfer.kind, debit.id, debit.code, credit.id, credit.code,
               Transfer.amount)
        .join(JournalEntry, JournalEntry.id == Transfer.entry_id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .join(credit, credit.id == Transfer.credit_account_id)
        .where(or_(Transfer.debit_account_id.in_(ids), Transfer.credit_account_id.in_(ids)),
               JournalEntry.posted_at.between(window.start_at, window.end_at))
        .order_by(Transfer.id)
    )
    mine = set(ids)
    for tid, eid, at, flow, ref, kind, debit_id, debit_code, credit_id, credit_code, amount in (
        session.execute(stmt.execution_options(yield_per=chunk))
    ):
        if debit_id in mine:
            yield Movement(tid, eid, at, flow, ref, kind, debit_code, credit_code, True,
                           int(amount))
        if credit_id in mine:
            yield Movement(tid, eid, at, flow, ref, kind, credit_code, debit_code, False,
                           int(amount))


@dataclass(frozen=True)
class MovementTotals:
    """A party's posted debits and credits over the period, and how many movements it had."""

    debits: int
    credits: int
    count: int


def movement_totals(
    session: Session, account_ids: Sequence[int], window: Window
) -> MovementTotals:
    """The sums of `movements`: posted amounts on each side, and how many movements."""
    if not account_ids:
        return MovementTotals(0, 0, 0)
    ids = list(account_ids)
    posted = Transfer.kind.in_(("normal", "post_pending"))
    on_debit, on_credit = Transfer.debit_account_id.in_(ids), Transfer.credit_account_id.in_(ids)
    row = session.execute(
        select(_sum(case((and_(posted, on_debit), Transfer.amount), else_=0)),
               _sum(case((and_(posted, on_credit), Transfer.amount), else_=0)),
               _sum(case((on_debit, 1), else_=0)) + _sum(case((on_credit, 1), else_=0)))
        .select_from(Transfer).join(JournalEntry, JournalEntry.id == Transfer.entry_id)
        .where(or_(on_debit, on_credit),
               JournalEntry.posted_at.between(window.start_at, window.end_at))
    ).one()
    return MovementTotals(*(int(v) for v in row))
