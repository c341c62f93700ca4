"""Redemptions: a provider books a service against a firm's voucher, completes or cancels it.

Booking asks the policy for the subsidy and places a hold `P:provider:S` ← `P:voucher:V`.
Completing posts the hold in full or in part (the rest is released); cancelling voids it.
The firm then confirms the completion: both sides agree before a claim can be filed. The
firm's row is locked while a booking is decided, so that concurrent bookings of one firm see
each other's holds and yearly totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
    String,
    case,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from ledger.core.accounts import balance, ensure_account
from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import Conflict, InvalidInput, NotFound
from ledger.core.journal import create_hold, post_hold, void_hold
from ledger.core.paging import Page, check_page
from ledger.core.search import starts_with
from ledger.programmes.decisions import refused
from ledger.programmes.programme import Programme, account, policies
from ledger.registry.firms import Firm
from ledger.registry.names import firms_matching, providers_matching
from ledger.registry.parties import party_data_of
from ledger.registry.providers import Provider, ProviderCategory
from ledger.vouchers import authorisations
from ledger.vouchers.redemption_totals import (
    DONE,
    RedemptionCityTotal,
    RedemptionTotal,
    month_start,
    record_completion,
)
from ledger.vouchers.voucher import Voucher

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
        Index("ix_redemptions_firm_year", "firm_id", "booked_year", "category"),
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


def used_this_year(
    session: Session, firm_id: int, year: int, category: str
) -> tuple[int, int]:
    """What the firm's counting redemptions of calendar `year` amount to: all, and in `category`."""
    total, in_category = session.execute(
        select(
            func.coalesce(func.sum(Redemption.amount_fen), 0),
            func.coalesce(func.sum(Redemption.amount_fen).filter(
                Redemption.category == category), 0),
        ).where(Redemption.firm_id == firm_id, Redemption.booked_year == year,
                Redemption.status.in_(COUNTING))
    ).one()
    return int(total), int(in_category)


def _categories_on(session: Session, provider_id: int, on: dt.date) -> tuple[str, ...]:
    rows = session.scalars(
        select(ProviderCategory.category).where(
            ProviderCategory.provider_id == provider_id,
            ProviderCategory.registered_on <= on,
            (ProviderCategory.removed_on.is_(None)) | (ProviderCategory.removed_on > on),
        ).order_by(ProviderCategory.category)
    ).all()
    return tuple(rows)


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
    from rules import BookingFacts, decide_booking

    day = on or today()
    if not isinstance(description, str) or len(description) > 500:
        raise InvalidInput("description: at most 500 characters", field="description")
    grant = authorisations.use(session, code=authorisation, voucher=voucher,
                               provider_id=provider_id, day=day)
    voucher_row = session.get(Voucher, grant.voucher_id)
    assert voucher_row is not None
    firm = session.execute(
        select(Firm).where(Firm.id == voucher_row.firm_id).with_for_update()
    ).scalar_one()
    session.refresh(voucher_row)
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound(f"no provider {provider_id}", provider_id=provider_id)
    if provider.status != "active":
        raise Conflict(f"provider {provider_id} is {provider.status}", code="provider_not_active")
    if firm.status != "active":
        raise Conflict(f"firm {firm.id} is {firm.status}", code="firm_not_active")
    prog = session.get(Programme, voucher_row.programme_id)
    assert prog is not None
    firm_party, provider_party = party_data_of(firm), party_data_of(provider)
    used, used_in_category = used_this_year(session, firm.id, day.year, category)
    decision = decide_booking(policies(), BookingFacts(
        programme=prog.policy, on=day, category=category, cost_fen=cost_fen,
        voucher_balance_fen=max(0, balance(session, voucher_row.account_code).available),
        voucher_issued_on=voucher_row.issued_on, voucher_expires_on=voucher_row.expires_on,
        firm_credit_code=firm_party.credit_code, provider_credit_code=provider_party.credit_code,
        provider_categories=_categories_on(session, provider_id, day),
        firm_used_this_year_fen=used, firm_used_in_category_this_year_fen=used_in_category,
        firm_legal_rep=firm_party.legal_rep, firm_shareholders=firm_party.shareholders,
        provider_legal_rep=provider_party.legal_rep,
        provider_shareholders=provider_party.shareholders))
    if not decision.allowed:
        raise refused(decision)
    stamp = now()
    row = Redemption(programme_id=prog.id, voucher_id=voucher_row.id, firm_id=firm.id,
                     provider_id=provider_id, category=category, cost_fen=cost_fen,
                     subsidy_fen=decision.amount_fen, amount_fen=decision.amount_fen,
                     description=description, status="booked", booked_on=day,
                     booked_year=day.year, booked_by_user=by.user_id,
                     decision=decision.to_dict(), created_at=stamp, updated_at=stamp)
    session.add(row)
    session.flush()
    provider_account = account(prog.code, "provider", provider_id)
    ensure_account(session, provider_account, prog.code, limited=True)
    entry = create_hold(session, provider_account, voucher_row.account_code, decision.amount_fen,
                        flow=FLOW_BOOK, ref=f"redemption:{row.id}", actor=by.label,
                        memo=f"{category} for firm {firm.id}")
    row.hold_transfer_id = entry.transfers[0].id
    grant.redemption_id = row.id
    session.flush()
    return view(session, row)


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
    row = redemption_row(session, redemption_id, provider_id=provider_id, lock=True)
    _expect(row, "booked")
    assert row.hold_transfer_id is not None
    if amount_fen is not None and amount_fen > row.subsidy_fen:
        raise InvalidInput(f"amount: at most the booked subsidy ({row.subsidy_fen} fen)",
                           field="amount")
    entry = post_hold(session, row.hold_transfer_id, amount_fen, flow=FLOW_COMPLETE,
                      ref=f"redemption:{row.id}", actor=by.label)
    row.status = "completed"
    row.amount_fen = entry.transfers[0].amount
    row.complete_entry_id = entry.id
    row.completed_on = on or today()
    row.updated_at = now()
    session.flush()

    record_completion(session, row)
    return view(session, row)


def cancel(
    session: Session, redemption_id: int, *, by: By, provider_id: int | None = None
) -> RedemptionView:
    """Void the hold of a booked service (its provider, or bureau staff with no provider)."""
    row = redemption_row(session, redemption_id, provider_id=provider_id, lock=True)
    _expect(row, "booked")
    assert row.hold_transfer_id is not None
    void_hold(session, row.hold_transfer_id, flow=FLOW_CANCEL, ref=f"redemption:{row.id}",
              actor=by.label)
    row.status = "cancelled"
    row.updated_at = now()
    session.flush()
    return view(session, row)


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
