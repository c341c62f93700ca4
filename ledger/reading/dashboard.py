"""What the operator's dashboard shows beside the budget: a programme's vouchers by the firm's
city and its services by category, and what one expiry run moved, all summed in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ledger.core.models import Account, JournalEntry, Transfer
from ledger.programmes.programme import programme_row
from ledger.registry.firms import Firm
from ledger.vouchers.expiry import FLOW_EXPIRE
from ledger.vouchers.redemptions import Redemption
from ledger.vouchers.voucher import Voucher


@dataclass(frozen=True)
class CityLine:
    """A programme's vouchers issued to firms of one city, in fen."""

    city: str
    vouchers: int
    issued_fen: int
    expired_fen: int
    redeemed_fen: int


@dataclass(frozen=True)
class CategoryLine:
    """A programme's services of one category: bookings, held and redeemed subsidy, in fen."""

    category: str
    bookings: int
    held_fen: int
    redeemed_fen: int


@dataclass(frozen=True)
class ExpiredLine:
    """A voucher an expiry run returned to the budget, and how much."""

    voucher_id: int
    serial: str
    firm_id: int
    expires_on: dt.date
    returned_fen: int
    firm_name: str = ""


def _sum(column: object, when: object) -> object:
    return func.coalesce(func.sum(case((when, column), else_=0)), 0)  # type: ignore[arg-type]


def by_city(session: Session, programme: str) -> list[CityLine]:
    """Per city of the firm: vouchers issued, their amount, what expired and what was redeemed."""
    prog = programme_row(session, programme)
    issued = session.execute(
        select(Firm.city, func.count(Voucher.id), func.coalesce(func.sum(Voucher.amount_fen), 0),
               func.coalesce(func.sum(Voucher.expired_fen), 0))
        .join(Firm, Firm.id == Voucher.firm_id)
        .where(Voucher.programme_id == prog.id).group_by(Firm.city)
    ).all()
    redeemed: dict[str, int] = {city: int(fen) for city, fen in session.execute(
        select(Firm.city, func.coalesce(func.sum(Redemption.amount_fen), 0))
        .join(Firm, Firm.id == Redemption.firm_id)
        .where(Redemption.programme_id == prog.id, Redemption.status == "completed")
        .group_by(Firm.city)
    )}
    return sorted((CityLine(city, int(n), int(amount), int(expired), int(redeemed.get(city, 0)))
                   for city, n, amount, expired in issued), key=lambda c: (-c.issued_fen, c.city))


def by_category(session: Session, programme: str) -> list[CategoryLine]:
    """Per service category: bookings (not cancelled), subsidy held and subsidy redeemed."""
    prog = programme_row(session, programme)
    rows = session.execute(
        select(Redemption.category, func.count(Redemption.id),
               _sum(Redemption.amount_fen, Redemption.status == "booked"),
               _sum(Redemption.amount_fen, Redemption.status == "completed"))
        .where(Redemption.programme_id == prog.id, Redemption.status != "cancelled")
        .group_by(Redemption.category)
    ).all()
    return sorted((CategoryLine(c, int(n), int(held), int(done)) for c, n, held, done in rows),
                  key=lambda c: (-c.redeemed_fen - c.held_fen, c.category))


def last_entry_id(session: Session) -> int:
    """The newest journal entry's id (0 on an empty journal)."""
    return int(session.scalar(select(func.max(JournalEntry.id))) or 0)


def expired_since(
    session: Session, programme: str, after_entry_id: int, *, limit: int
) -> list[ExpiredLine]:
    """The vouchers that expiry entries posted after `after_entry_id` returned, by voucher."""
    prog = programme_row(session, programme)
    rows = session.execute(
        select(Voucher.id, Voucher.serial, Voucher.firm_id, Voucher.expires_on,
               func.sum(Transfer.amount), Firm.name)
        .select_from(Transfer)
        .join(JournalEntry, JournalEntry.id == Transfer.entry_id)
        .join(Account, Account.id == Transfer.credit_account_id)
        .join(Voucher, Voucher.account_code == Account.code)
        .join(Firm, Firm.id == Voucher.firm_id)
        .where(JournalEntry.id > after_entry_id, JournalEntry.flow == FLOW_EXPIRE,
               Voucher.programme_id == prog.id)
        .group_by(Voucher.id, Voucher.serial, Voucher.firm_id, Voucher.expires_on, Firm.name)
        .order_by(Voucher.id).limit(limit)
    ).all()
    return [ExpiredLine(v, s, f, e, int(a), name) for v, s, f, e, a, name in rows]
