"""Redemptions: a provider books a service against a firm's voucher, completes or cancels it.

Booking asks the policy for the subsidy and places a hold `P:provider:S` ← `P:voucher:V`.
Completing posts the hold in full or in part (the rest is released); cancelling voids it.
The firm then confirms the completion: both sides agree before a claim can be filed. The
firm's row is locked while a booking is decided, so that concurrent bookings of one firm see
each other's holds and yearly totals. Booking, completing and cancelling read their facts with
a few statements built once, and answer with the values they wrote (no re-read).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ledger.core.accounts import Balance, ensure_account
from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.chain import TEXT_CONTROLS
from ledger.core.errors import Conflict, InvalidInput, NotFound
from ledger.core.journal import create_hold, post_hold, void_hold
from ledger.core.models import Account
from ledger.core.paging import Page, check_page
from ledger.core.search import starts_with
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, account, policies
from ledger.registry.firms import Firm
from ledger.registry.names import firms_matching, providers_matching
from ledger.registry.providers import Provider, ProviderCategory
from ledger.vouchers.authorisations import Authorisation, booking_code, check_usable, use
from ledger.vouchers.redemption_totals import (
    DONE,
    Completion,
    RedemptionCityTotal,
    RedemptionTotal,
    month_start,
    record_completion,
)
from ledger.vouchers.voucher import Voucher
from rules import BookingFacts, decide_booking

FLOW_BOOK, FLOW_COMPLETE = "redemption.book", "redemption.complete"
FLOW_CANCEL = "redemption.cancel"
STATUSES = ("booked", "completed", "cancelled", "clawed_back")
# Redemptions that count against a firm's yearly caps.
COUNTING = ("booked", "completed")


class Redemption(Base):
    """A service booked against a voucher, and what became of it."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'completed', 'cancelled', 'clawed_back')",
                        name="status_known"),
        CheckConstraint("amount_fen > 0 AND cost_fen > 0", name="amounts_positive"),
        # Covers the yearly sums a booking decides on (an index-only scan).
        Index("ix_redemptions_firm_year", "firm_id", "booked_year", "status", "category",
              "amount_fen"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    cost_fen: Mapped[int] = mapped_column(BigInteger)
    subsidy_fen: Mapped[int] = mapped_column(BigInteger)
    # What counts: the subsidy held while booked, the amount posted once completed.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)
    booked_on: Mapped[dt.date] = mapped_column(Date)
    booked_year: Mapped[int] = mapped_column(Integer)
    booked_by_user: Mapped[int] = mapped_column(BigInteger)
    hold_transfer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    complete_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    completed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disputed_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    dispute_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    clawback_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    clawback_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    clawed_back_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    decision: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The audit's edge days (a period starting or ending inside a month) read redemptions by
# completion day, and its clawback figures by status and time, not every redemption of the
# programme.
Index("ix_redemptions_programme_completed", Redemption.programme_id, Redemption.completed_on)
Index("ix_redemptions_programme_status_updated", Redemption.programme_id, Redemption.status,
      Redemption.updated_at)


@dataclass(frozen=True)
class RedemptionView:
    """A redemption as the services return it."""

    id: int
    programme: str
    voucher_id: int
    firm_id: int
    provider_id: int
    category: str
    cost_fen: int
    subsidy_fen: int
    amount_fen: int
    description: str
    status: str
    booked_on: dt.date
    completed_on: dt.date | None
    confirmed: bool
    hold_transfer_id: int | None
    clawback_reason: str | None
    decision: dict[str, object]
    dispute_reason: str | None = None
    voucher_serial: str = ""
    firm_name: str = ""
    provider_name: str = ""


def view(session: Session, row: Redemption) -> RedemptionView:
    """The plain view of a redemption row, with its voucher's serial and the parties' names."""
    code, serial, firm, provider = session.execute(select(
        select(Programme.code).where(Programme.id == row.programme_id).scalar_subquery(),
        select(Voucher.serial).where(Voucher.id == row.voucher_id).scalar_subquery(),
        select(Firm.name).where(Firm.id == row.firm_id).scalar_subquery(),
        select(Provider.name).where(Provider.id == row.provider_id).scalar_subquery())).one()
    return _view(row, code, (serial, firm, provider))


def _view(row: Redemption, code: str, names: tuple[str, str, str]) -> RedemptionView:
    return RedemptionView(row.id, code, row.voucher_id, row.firm_id, row.provider_id,
                          row.category, row.cost_fen, row.subsidy_fen, row.amount_fen,
                          row.description, row.status, row.booked_on, row.completed_on,
                          row.confirmed_at is not None, row.hold_transfer_id,
                          row.clawback_reason, row.decision, row.dispute_reason, *names)


# Built once: a new `aliased()` per search made SQLAlchemy proxy every column of the alias
# again when the statement was built (about a third of a claim search's time in the service).
_SERIAL_VOUCHER = aliased(Voucher, name="serial_voucher")


def serial_matching(q: str, voucher_id: Any) -> ColumnElement[bool]:
    """The voucher `voucher_id` (a column of the outer query) has a serial starting with `q`.

    The serial is read by the voucher's key for each row tested: not `voucher_id IN
    (serials matching)`, which built the list of every voucher for a short prefix ("V"), and
    not an EXISTS, which PostgreSQL may turn into that same list (a hashed subplan: 60–80 ms
    to hash 100,000 vouchers for one page of the approver's claims).
    """
    voucher = _SERIAL_VOUCHER
    serial = select(voucher.serial).where(voucher.id == voucher_id).correlate_except(voucher)
    return starts_with(serial.scalar_subquery(), q.upper())


def matching(q: str) -> ColumnElement[bool]:
    """Redemptions whose voucher serial, firm or provider (name, credit code) starts with `q`."""
    return or_(serial_matching(q, Redemption.voucher_id),
               Redemption.firm_id.in_(firms_matching(q)),
               Redemption.provider_id.in_(providers_matching(q)))


# The write paths' statements, built once with bound parameters ("prepared"): on plain tables,
# so that they skip the ORM's execution layer; each call only binds its values.
_R, _A = Redemption.__table__, Authorisation.__table__
_V, _P, _F, _S = Voucher.__table__, Programme.__table__, Firm.__table__, Provider.__table__
_C, _ACCOUNT = ProviderCategory.__table__, Account.__table__

# The quoted authorisation (locked) with its voucher, programme and named provider.
_BOOKING_READ = (
    select(_A.c.id, _A.c.provider_id, _A.c.status, _A.c.expires_on,
           _V.c.id.label("voucher_id"), _V.c.serial, _V.c.firm_id, _V.c.account_code,
           _V.c.programme_id, _P.c.code.label("programme"), _P.c.policy,
           _S.c.name.label("provider_name"),
           _S.c.credit_code.label("provider_credit_code"),
           _S.c.legal_rep.label("provider_legal_rep"),
           _S.c.shareholders.label("provider_shareholders"))
    .select_from(_A.join(_V, _V.c.id == _A.c.voucher_id)
                 .join(_P, _P.c.id == _V.c.programme_id)
                 .join(_S, _S.c.id == _A.c.provider_id))
    .where(_A.c.code == bindparam("code"))
    .with_for_update(of=_A))

# The firm, locked: concurrent bookings of one firm queue here, so that each reads the
# others' holds and yearly totals (taken as late as possible: just before those reads).
_FIRM_LOCK = (
    select(_F.c.status, _F.c.name, _F.c.credit_code, _F.c.legal_rep, _F.c.shareholders)
    .where(_F.c.id == bindparam("firm_id")).with_for_update())


def _standing_read() -> Select[Any]:
    """After the firm's lock, in one read: the firm's yearly totals, the voucher's dates and
    balance, the provider's status, its categories on the day and whether its account exists
    (read here, not with the authorisation: a booking that waited for the authorisation's
    lock would otherwise decide on the provider's status from before the wait)."""
    day = bindparam("day", type_=Date)
    used = select(
        func.coalesce(func.sum(_R.c.amount_fen), 0).label("used"),
        func.coalesce(func.sum(_R.c.amount_fen).filter(
            _R.c.category == bindparam("category")), 0).label("used_in_category"),
    ).where(_R.c.firm_id == bindparam("firm_id"), _R.c.booked_year == bindparam("year"),
            _R.c.status.in_(COUNTING)).subquery()
    # One string (no row per category); the policy gets them sorted.
    categories = select(func.aggregate_strings(_C.c.category, ",")).where(
        _C.c.provider_id == bindparam("provider_id"), _C.c.registered_on <= day,
        _C.c.removed_on.is_(None) | (_C.c.removed_on > day)).scalar_subquery()
    provider_account = select(_ACCOUNT.c.id).where(
        _ACCOUNT.c.code == bindparam("provider_account")).scalar_subquery()
    provider_status = select(_S.c.status).where(
        _S.c.id == bindparam("provider_id")).scalar_subquery()
    voucher_account = _ACCOUNT.alias("voucher_account")
    return (
        select(used.c.used, used.c.used_in_category, _V.c.issued_on, _V.c.expires_on,
               voucher_account.c.debits_pending, voucher_account.c.debits_posted,
               voucher_account.c.credits_pending, voucher_account.c.credits_posted,
               categories.label("categories"), provider_account.label("provider_account_id"),
               provider_status.label("provider_status"))
        .select_from(used.join(_V, _V.c.id == bindparam("voucher_id"))
                     .join(voucher_account, voucher_account.c.code == _V.c.account_code)))


_STANDING = _standing_read()
_NEW_REDEMPTION = insert(_R).returning(_R.c.id)
_HOLD_KEPT = (update(_R).where(_R.c.id == bindparam("redemption"))
              .values(hold_transfer_id=bindparam("hold")))


def _facts(grant: Row[Any], firm: Row[Any], standing: Row[Any], *, category: str,
           cost_fen: int, day: dt.date) -> BookingFacts:
    """What the policy decides a booking on."""
    voucher_balance = Balance(standing.debits_pending, standing.debits_posted,
                              standing.credits_pending, standing.credits_posted)
    categories = tuple(sorted(standing.categories.split(","))) if standing.categories else ()
    return BookingFacts(
        programme=grant.policy, on=day, category=category, cost_fen=cost_fen,
        voucher_balance_fen=max(0, voucher_balance.available),
        voucher_issued_on=standing.issued_on, voucher_expires_on=standing.expires_on,
        firm_credit_code=firm.credit_code, provider_credit_code=grant.provider_credit_code,
        provider_categories=categories,
        firm_used_this_year_fen=int(standing.used),
        firm_used_in_category_this_year_fen=int(standing.used_in_category),
        firm_legal_rep=firm.legal_rep, firm_shareholders=tuple(firm.shareholders or ()),
        provider_legal_rep=grant.provider_legal_rep,
        provider_shareholders=tuple(grant.provider_shareholders or ()))


def book(
    session: Session,
    *,
    voucher: str,
    authorisation: str,
    provider_id: int,
    category: str,
    cost_fen: int,
    description: str,
    by: By,
    on: dt.date | None = None,
) -> RedemptionView:
    """Book a service against the voucher (its serial) that the firm authorised the provider
    to book (the authorisation's one-time code): the authorisation is used, the policy decides
    the subsidy and the ledger holds it on the voucher, all in this transaction."""
    day = on or today()
    if not isinstance(description, str) or len(description) > 500:
        raise InvalidInput("description: at most 500 characters", field="description")
    if TEXT_CONTROLS.search(description):
        raise InvalidInput("description: may not contain control characters",
                           field="description")
    grant = session.execute(_BOOKING_READ, {"code": booking_code(authorisation)}).first()
    check_usable(grant, voucher=voucher, provider_id=provider_id, day=day)
    assert grant is not None
    firm = session.execute(_FIRM_LOCK, {"firm_id": grant.firm_id}).one()
    provider_account = account(grant.programme, "provider", provider_id)
    standing = session.execute(_STANDING, {
        "firm_id": grant.firm_id, "year": day.year, "category": category, "day": day,
        "provider_id": provider_id, "provider_account": provider_account,
        "voucher_id": grant.voucher_id}).one()
    if standing.provider_status != "active":
        raise Conflict(f"provider {provider_id} is {standing.provider_status}",
                       code="provider_not_active")
    if firm.status != "active":
        raise Conflict(f"firm {grant.firm_id} is {firm.status}", code="firm_not_active")
    decision = decide_booking(policies(), _facts(grant, firm, standing, category=category,
                                                 cost_fen=cost_fen, day=day))
    if not decision.allowed:
        raise refused(decision)
    stamp = now()
    booked = RedemptionView(0, grant.programme, grant.voucher_id, grant.firm_id, provider_id,
                            category, cost_fen, decision.amount_fen, decision.amount_fen,
                            description, "booked", day, None, False, None, None,
                            decision.to_dict(), None, grant.serial, firm.name,
                            grant.provider_name)
    redemption_id = session.execute(_NEW_REDEMPTION, {
        "programme_id": grant.programme_id, "voucher_id": grant.voucher_id,
        "firm_id": grant.firm_id, "provider_id": provider_id, "category": category,
        "cost_fen": cost_fen, "subsidy_fen": decision.amount_fen,
        "amount_fen": decision.amount_fen, "description": description, "status": "booked",
        "booked_on": day, "booked_year": day.year, "booked_by_user": by.user_id,
        "decision": booked.decision, "created_at": stamp, "updated_at": stamp}).scalar_one()
    if standing.provider_account_id is None:
        ensure_account(session, provider_account, grant.programme, limited=True)
    entry = create_hold(session, provider_account, grant.account_code, decision.amount_fen,
                        flow=FLOW_BOOK, ref=f"redemption:{redemption_id}", actor=by.label,
                        memo=f"{category} for firm {grant.firm_id}")
    hold_id = entry.transfers[0].id
    session.execute(_HOLD_KEPT, {"redemption": redemption_id, "hold": hold_id})
    use(session, grant.id, redemption_id=redemption_id)
    return replace(booked, id=redemption_id, hold_transfer_id=hold_id)


def redemption_row(
    session: Session,
    redemption_id: int,
    *,
    provider_id: int | None = None,
    firm_id: int | None = None,
    lock: bool = False,
) -> Redemption:
    """The redemption, or NotFound (also when it is not the given provider's or firm's)."""
    statement = select(Redemption).where(Redemption.id == redemption_id)
    if lock:
        statement = statement.with_for_update()
    row = session.execute(statement).scalar_one_or_none()
    if (
        row is None
        or (provider_id is not None and row.provider_id != provider_id)
        or (firm_id is not None and row.firm_id != firm_id)
    ):
        raise NotFound(f"no redemption {redemption_id}", redemption_id=redemption_id)
    return row


def _expect(row: Redemption, *statuses: str) -> None:
    if row.status not in statuses:
        raise Conflict(f"redemption {row.id} is {row.status}, not {' or '.join(statuses)}",
                       code=f"redemption_{row.status}")


# The redemption (locked) with its programme's code, its voucher's serial, the firm's name
# and city and the provider's name: all that completing or cancelling it reads.
_REDEMPTION_READ = (
    select(*_R.c, _P.c.code.label("programme"), _V.c.serial, _F.c.name.label("firm_name"),
           _F.c.city.label("firm_city"), _S.c.name.label("provider_name"))
    .select_from(_R.join(_P, _P.c.id == _R.c.programme_id)
                 .join(_V, _V.c.id == _R.c.voucher_id)
                 .join(_F, _F.c.id == _R.c.firm_id)
                 .join(_S, _S.c.id == _R.c.provider_id))
    .where(_R.c.id == bindparam("redemption"))
    .with_for_update(of=_R))
_COMPLETED = (update(_R).where(_R.c.id == bindparam("redemption")).values(
    status="completed", amount_fen=bindparam("amount"), complete_entry_id=bindparam("entry"),
    completed_on=bindparam("day"), updated_at=bindparam("stamp")))
_CANCELLED = (update(_R).where(_R.c.id == bindparam("redemption"))
              .values(status="cancelled", updated_at=bindparam("stamp")))


def _locked_for_provider(session: Session, redemption_id: int, provider_id: int | None
                         ) -> Row[Any]:
    """The redemption as `_REDEMPTION_READ` reads it; NotFound also when it is not the
    provider's."""
    row = session.execute(_REDEMPTION_READ, {"redemption": redemption_id}).first()
    if row is None or (provider_id is not None and row.provider_id != provider_id):
        raise NotFound(f"no redemption {redemption_id}", redemption_id=redemption_id)
    return row


def _written(session: Session, redemption_id: int) -> None:
    """Expire the session's copy of the redemption (if it holds one) that a plain-table
    statement has just changed, so that a later read in this session sees the new values."""
    held = session.identity_map.get(session.identity_key(Redemption, redemption_id))
    if held is not None:
        session.expire(held)


def _shown(row: Row[Any], **changed: Any) -> RedemptionView:
    """The view of a redemption read by `_locked_for_provider`, with the values just written."""
    r = {**row._mapping, **changed}
    return RedemptionView(r["id"], r["programme"], r["voucher_id"], r["firm_id"],
                          r["provider_id"], r["category"], r["cost_fen"], r["subsidy_fen"],
                          r["amount_fen"], r["description"], r["status"], r["booked_on"],
                          r["completed_on"], r["confirmed_at"] is not None,
                          r["hold_transfer_id"], r["clawback_reason"], r["decision"],
                          r["dispute_reason"], r["serial"], r["firm_name"], r["provider_name"])


def _expect_booked(row: Row[Any]) -> int:
    """The hold of a booked redemption; Conflict for any other status."""
    if row.status != "booked":
        raise Conflict(f"redemption {row.id} is {row.status}, not booked",
                       code=f"redemption_{row.status}")
    assert row.hold_transfer_id is not None
    return int(row.hold_transfer_id)


def complete(
    session: Session,
    redemption_id: int,
    *,
    provider_id: int,
    by: By,
    amount_fen: int | None = None,
    on: dt.date | None = None,
) -> RedemptionView:
    """Post the hold in full, or `amount_fen` of it (the rest goes back to the voucher)."""
    row = _locked_for_provider(session, redemption_id, provider_id)
    hold_id = _expect_booked(row)
    if amount_fen is not None and amount_fen > row.subsidy_fen:
        raise InvalidInput(f"amount: at most the booked subsidy ({row.subsidy_fen} fen)",
                           field="amount")
    entry = post_hold(session, hold_id, amount_fen, flow=FLOW_COMPLETE,
                      ref=f"redemption:{row.id}", actor=by.label)
    amount, day = entry.transfers[0].amount, on or today()
    session.execute(_COMPLETED, {"redemption": row.id, "amount": amount, "entry": entry.id,
                                 "day": day, "stamp": now()})
    _written(session, row.id)
    shown = _shown(row, status="completed", amount_fen=amount, completed_on=day)
    record_completion(session, Completion(row.programme_id, row.firm_id, row.provider_id,
                                          row.category, shown.amount_fen, shown.completed_on),
                      city=row.firm_city)
    return shown


def cancel(
    session: Session, redemption_id: int, *, by: By, provider_id: int | None = None
) -> RedemptionView:
    """Void the hold of a booked service (its provider, or bureau staff with no provider)."""
    row = _locked_for_provider(session, redemption_id, provider_id)
    hold_id = _expect_booked(row)
    void_hold(session, hold_id, flow=FLOW_CANCEL, ref=f"redemption:{row.id}", actor=by.label)
    stamp = now()
    session.execute(_CANCELLED, {"redemption": row.id, "stamp": stamp})
    _written(session, row.id)
    return _shown(row, status="cancelled", updated_at=stamp)


def confirm(session: Session, redemption_id: int, *, firm_id: int, by: By) -> RedemptionView:
    """The firm confirms that the completed service was delivered."""
    row = redemption_row(session, redemption_id, firm_id=firm_id, lock=True)
    _expect(row, "completed")
    if row.confirmed_at is not None:
        raise Conflict(f"redemption {row.id} is already confirmed", code="already_confirmed")
    row.confirmed_at = now()
    row.confirmed_by = by.label
    row.updated_at = row.confirmed_at
    session.flush()
    return view(session, row)


def dispute(session: Session, redemption_id: int, *, firm_id: int, reason: str,
            by: By) -> RedemptionView:
    """The firm says a completed service was not delivered as booked: no claim can be filed
    until it confirms; the reason stays on record for the provider and the bureau."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidInput("reason: 1–500 characters", field="reason")
    row = redemption_row(session, redemption_id, firm_id=firm_id, lock=True)
    _expect(row, "completed")
    if row.confirmed_at is not None:
        raise Conflict(f"redemption {row.id} is already confirmed", code="already_confirmed")
    if row.disputed_at is not None:
        raise Conflict(f"redemption {row.id} is already disputed", code="already_disputed")
    row.disputed_at = now()
    row.disputed_by = by.label
    row.dispute_reason = reason.strip()
    row.updated_at = row.disputed_at
    session.flush()
    return view(session, row)


def get_redemption(
    session: Session,
    redemption_id: int,
    *,
    provider_id: int | None = None,
    firm_id: int | None = None,
) -> RedemptionView:
    """One redemption; a provider or firm sees only its own."""
    return view(session, redemption_row(session, redemption_id, provider_id=provider_id,
                                        firm_id=firm_id))


def list_redemptions(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    provider_id: int | None = None,
    firm_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Page[RedemptionView]:
    """Redemptions newest first, filtered (`q`: see `matching`)."""
    check_page(limit, offset)
    condition = []
    if provider_id is not None:
        condition.append(Redemption.provider_id == provider_id)
    if firm_id is not None:
        condition.append(Redemption.firm_id == firm_id)
    if status is not None:
        condition.append(Redemption.status == status)
    if q is not None:
        condition.append(matching(q))
    total = session.scalar(select(func.count()).select_from(Redemption).where(*condition)) or 0
    rows = session.execute(
        select(Redemption, Programme.code, Voucher.serial, Firm.name, Provider.name)
        .join(Programme, Programme.id == Redemption.programme_id)
        .join(Voucher, Voucher.id == Redemption.voucher_id)
        .join(Firm, Firm.id == Redemption.firm_id)
        .join(Provider, Provider.id == Redemption.provider_id)
        .where(*condition).order_by(Redemption.id.desc()).limit(limit).offset(offset)).all()
    return Page([_view(r, code, (serial, firm, provider))
                 for r, code, serial, firm, provider in rows], total, limit, offset)


def fill_from_redemptions(connection: Connection) -> None:
    """Fill both (empty) tables from the redemptions that reached completion: one
    INSERT … SELECT … GROUP BY each. The migration and the benchmark's build use it."""
    month = month_start(Redemption.completed_on, connection.dialect.name).label("month")
    sums = (func.count().label("completions"), func.sum(Redemption.amount_fen).label("amount"),
            func.sum(case((Redemption.status == "clawed_back", Redemption.amount_fen),
                          else_=0)).label("clawed"))
    done = Redemption.status.in_(DONE)
    by_provider = (
        select(Redemption.programme_id, month, Redemption.category, Redemption.provider_id,
               *sums)
        .where(done).group_by(Redemption.programme_id, month, Redemption.category,
                              Redemption.provider_id))
    connection.execute(insert(RedemptionTotal).from_select(
        ["programme_id", "month", "category", "provider_id", "completions", "amount_fen",
         "clawed_back_fen"], by_provider))
    by_city = (
        select(Redemption.programme_id, month, Firm.city, *sums)
        .join(Firm, Firm.id == Redemption.firm_id)
        .where(done).group_by(Redemption.programme_id, month, Firm.city))
    connection.execute(insert(RedemptionCityTotal).from_select(
        ["programme_id", "month", "city", "completions", "amount_fen", "clawed_back_fen"],
        by_city))
