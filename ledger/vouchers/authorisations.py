"""A firm's authorisation of a provider to book one service against one of its vouchers.

The firm names a voucher (by serial) and a registered provider; the authorisation carries a
one-time code that the provider quotes with the voucher's serial when it books. It is usable
once, by that provider, through the last day the policy file allows (`booking.
authorisation_days` after the grant), until the firm withdraws it. Booking consumes it in the
same transaction as the hold (`check_usable` and `use`, called by `redemptions.book`): without
it a provider learns nothing of the voucher, not even that it exists.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.acting import By, now, today
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import Page, check_page
from ledger.programmes.programme import Programme, policies
from ledger.registry.credit_code import normalise_credit_code
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.voucher import Voucher, voucher_by_serial
from rules import authorisation_expiry

STATUSES = ("open", "used", "withdrawn")
# What a person sees: an open authorisation past its last day reads as expired.
SHOWN_STATUSES = ("open", "used", "withdrawn", "expired")
# Capitals and digits a person can read aloud without confusing 0/O, 1/I/L or 2/Z.
CODE_ALPHABET = "3456789ABCDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 10


class Authorisation(Base):
    """A firm's one-time consent that a named provider books against one of its vouchers."""

    __tablename__ = "authorisations"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'used', 'withdrawn')", name="status_known"),
        CheckConstraint("expires_on >= granted_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    granted_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)
    granted_by: Mapped[str] = mapped_column(String(160))
    redemption_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class AuthorisationView:
    """An authorisation as the firm and its provider see it (nothing of the voucher's money)."""

    id: int
    code: str
    programme: str
    voucher_serial: str
    firm_id: int
    firm_name: str
    provider_id: int
    provider_name: str
    provider_credit_code: str
    status: str
    granted_on: dt.date
    expires_on: dt.date
    redemption_id: int | None


def shown_status(row: Authorisation, on: dt.date) -> str:
    """The stored status, or `expired` for an open authorisation past its last day."""
    return "expired" if row.status == "open" and on > row.expires_on else row.status


def _views(session: Session, rows: list[Authorisation]) -> list[AuthorisationView]:
    """Views of `rows`, their names and serials read in one query."""
    ids = [r.id for r in rows]
    names = {
        a: (serial, code, firm, provider, provider_code)
        for a, serial, code, firm, provider, provider_code in session.execute(
            select(Authorisation.id, Voucher.serial, Programme.code, Firm.name, Provider.name,
                   Provider.credit_code)
            .join(Voucher, Voucher.id == Authorisation.voucher_id)
            .join(Programme, Programme.id == Voucher.programme_id)
            .join(Firm, Firm.id == Authorisation.firm_id)
            .join(Provider, Provider.id == Authorisation.provider_id)
            .where(Authorisation.id.in_(ids))).all()
    } if ids else {}
    day = today()
    return [AuthorisationView(r.id, r.code, names[r.id][1], names[r.id][0], r.firm_id,
                              names[r.id][2], r.provider_id, names[r.id][3], names[r.id][4],
                              shown_status(r, day), r.granted_on, r.expires_on, r.redemption_id)
            for r in rows]


def _new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(Authorisation.id).where(Authorisation.code == code)) is None:
            return code


def authorise(
    session: Session,
    *,
    firm_id: int,
    voucher: str,
    provider_credit_code: str,
    by: By,
    programme: str | None = None,
    on: dt.date | None = None,
) -> AuthorisationView:
    """The firm authorises the provider (by credit code) to book once against its voucher
    (by serial); usable through the day the policy in force on `on` allows."""
    day = on or today()
    row = voucher_by_serial(session, voucher, firm_id=firm_id, programme=programme)
    if row.status != "active":
        raise Conflict(f"voucher {row.serial} is {row.status}", code="voucher_expired",
                       field="voucher")
    code = normalise_credit_code(provider_credit_code)
    provider = session.scalar(select(Provider).where(Provider.credit_code == code))
    if provider is None:
        raise NotFound(f"no provider {code}", code="provider_not_found",
                       field="provider_credit_code")
    if provider.status != "active":
        raise Conflict(f"provider {code} is {provider.status}", code="provider_not_active",
                       field="provider_credit_code")
    prog_code = session.scalar(select(Programme.policy).where(Programme.id == row.programme_id))
    assert prog_code is not None
    grant = Authorisation(code=_new_code(session), voucher_id=row.id, firm_id=firm_id,
                          provider_id=provider.id, status="open", granted_on=day,
                          expires_on=authorisation_expiry(policies(), prog_code, day),
                          granted_by=by.label, created_at=now())
    session.add(grant)
    session.flush()
    return _views(session, [grant])[0]


def _row(session: Session, authorisation_id: int, *, firm_id: int | None = None,
         provider_id: int | None = None, lock: bool = False) -> Authorisation:
    statement = select(Authorisation).where(Authorisation.id == authorisation_id)
    row = session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()
    if (row is None or (firm_id is not None and row.firm_id != firm_id)
            or (provider_id is not None and row.provider_id != provider_id)):
        raise NotFound(f"no authorisation {authorisation_id}", authorisation_id=authorisation_id)
    return row


def withdraw(session: Session, authorisation_id: int, *, firm_id: int, by: By
             ) -> AuthorisationView:
    """The firm withdraws an unused authorisation: the provider can no longer book with it."""
    row = _row(session, authorisation_id, firm_id=firm_id, lock=True)
    if row.status != "open":
        raise Conflict(f"authorisation {row.id} is {row.status}",
                       code=f"authorisation_{row.status}")
    row.status = "withdrawn"
    row.withdrawn_at = now()
    row.withdrawn_by = by.label
    session.flush()
    return _views(session, [row])[0]


def booking_code(code: str) -> str:
    """An authorisation's code as stored: spaces dropped, capitals."""
    return "".join(code.split()).upper()


class Quoted(Protocol):
    """What a booking read of the authorisation it quotes (`redemptions.book`'s first read)."""

    provider_id: int
    status: str
    expires_on: dt.date
    serial: str


def check_usable(grant: Quoted | None, *, voucher: str, provider_id: int, day: dt.date) -> None:
    """Refuse a booking of `voucher` (its serial) by the provider with the quoted authorisation.

    An unknown code, or one for another voucher, is the same NotFound as a voucher that does
    not exist; used, withdrawn, expired or another provider's: refused with its own code.
    """
    if grant is None or grant.serial != voucher.strip().upper():
        raise NotFound(f"no voucher {voucher}", field="voucher")
    if grant.provider_id != provider_id:
        raise PermissionDenied("the authorisation names another provider",
                               code="authorisation_other_provider", field="authorisation")
    if grant.status != "open":
        raise Conflict(f"the authorisation is {grant.status}",
                       code=f"authorisation_{grant.status}", field="authorisation")
    if day > grant.expires_on:
        raise Conflict(f"the authorisation expired after {grant.expires_on.isoformat()}",
                       code="authorisation_expired", field="authorisation")


# The flip to `used`, built once: a plain-table statement (no ORM execution layer).
_USE = (update(Authorisation.__table__)
        .where(Authorisation.__table__.c.id == bindparam("grant"),
               Authorisation.__table__.c.status == "open")
        .values(status="used", used_at=bindparam("stamp"), redemption_id=bindparam("booking")))


def use(session: Session, authorisation_id: int, *, redemption_id: int) -> None:
    """Consume the authorisation for the booking `redemption_id`, in the booking's transaction.

    The booking read the row under lock (`FOR UPDATE`) and checked it (`check_usable`); the
    flip to `used` is still guarded by its status, so two racing bookings cannot both pass.
    """
    flipped = session.execute(_USE, {"grant": authorisation_id, "stamp": now(),
                                     "booking": redemption_id})
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the authorisation is used", code="authorisation_used",
                       field="authorisation")
    # A copy of the row this session holds (the firm granted it in this transaction) is stale.
    held = session.identity_map.get(session.identity_key(Authorisation, authorisation_id))
    if held is not None:
        session.expire(held)


def get_authorisation(session: Session, authorisation_id: int, *, firm_id: int | None = None,
                      provider_id: int | None = None) -> AuthorisationView:
    """One authorisation; a firm sees only its own, a provider only those naming it."""
    return _views(session, [_row(session, authorisation_id, firm_id=firm_id,
                                 provider_id=provider_id)])[0]


def list_authorisations(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    firm_id: int | None = None,
    provider_id: int | None = None,
    status: str | None = None,
) -> Page[AuthorisationView]:
    """Authorisations newest first: a firm's, or those naming a provider; `status` as shown
    (`expired` and `open` are told apart by today's date)."""
    check_page(limit, offset)
    if status is not None and status not in SHOWN_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(SHOWN_STATUSES)}", field="status")
    condition = []
    if firm_id is not None:
        condition.append(Authorisation.firm_id == firm_id)
    if provider_id is not None:
        condition.append(Authorisation.provider_id == provider_id)
    day = today()
    if status == "expired":
        condition += [Authorisation.status == "open", Authorisation.expires_on < day]
    elif status == "open":
        condition += [Authorisation.status == "open", Authorisation.expires_on >= day]
    elif status is not None:
        condition.append(Authorisation.status == status)
    total = session.scalar(select(func.count()).select_from(Authorisation).where(*condition))
    rows = list(session.scalars(select(Authorisation).where(*condition)
                                .order_by(Authorisation.id.desc()).limit(limit).offset(offset)))
    return Page(_views(session, rows), total or 0, limit, offset)
