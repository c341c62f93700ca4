"""Expiry: the unused balance of every expired voucher returns to the budget.

A voucher is expired on `as_of` when its last valid day (`expires_on`) lies before it. Each
such voucher's available balance moves `P:budget` ← `P:voucher:V`; holds still open on it are
reported, never released silently. Re-running with the same date finds nothing to move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ledger.core.acting import By, today
from ledger.core.errors import InvalidInput
from ledger.core.journal import EntryRequest, Move, post_entries
from ledger.core.models import Account
from ledger.programmes.programme import account, programme_row
from ledger.vouchers.voucher import Voucher
from ledger.vouchers.voucher_totals import FLOW_EXPIRE, record_expiries

_CHUNK = 1000


@dataclass(frozen=True)
class OpenHold:
    """An expired voucher that still carries holds: they await completion or cancellation."""

    voucher_id: int
    serial: str
    held_fen: int


@dataclass(frozen=True)
class ExpiryResult:
    """What a run did: vouchers touched, fen returned, holds left open."""

    programme: str
    as_of: dt.date
    vouchers_expired: int
    returned_fen: int
    open_holds: tuple[OpenHold, ...]


def expire(
    session: Session, programme: str, *, as_of: dt.date | None = None, by: By,
    progress: object | None = None,
) -> ExpiryResult:
    """Return to the budget what every voucher expired before `as_of` still holds."""
    day = as_of or today()
    if day > today():
        raise InvalidInput("as_of lies in the future", field="as_of")
    prog = programme_row(session, programme, lock=True)
    available = Account.debits_posted - Account.credits_posted - Account.credits_pending
    base = (
        select(Voucher.id, Voucher.serial, Voucher.account_code, available,
               Account.credits_pending, Voucher.expires_on, Voucher.expired_fen)
        .join(Account, Account.code == Voucher.account_code)
        .where(Voucher.programme_id == prog.id, Voucher.expires_on < day)
    )
    rows = session.execute(
        base.where((available > 0) | (Voucher.status == "active")).order_by(Voucher.id)
    ).all()
    held = session.execute(base.where(Account.credits_pending > 0).order_by(Voucher.id)).all()
    budget_code = account(programme, "budget")
    moving = [r for r in rows if r[3] > 0]
    posted_at: dict[int, dt.datetime] = {}
    for start in range(0, len(moving), _CHUNK):
        chunk = moving[start:start + _CHUNK]
        written = post_entries(session, [
            EntryRequest((Move(budget_code, code, amount),), flow=FLOW_EXPIRE,
                         ref=f"voucher:{programme}:{serial}", actor=by.label,
                         memo=f"expired before {day.isoformat()}")
            for _, serial, code, amount, *_ in chunk
        ])
        posted_at.update((r[0], entry.posted_at) for r, entry in zip(chunk, written, strict=True))
        if callable(progress):
            progress(len(chunk))
    amounts = {vid: amount for vid, _, _, amount, *_ in moving}
    returned = sum(amounts.values())
    record_expiries(session, prog.id, [
        (expires_on, expired_fen == 0, amount, posted_at[vid])
        for vid, _, _, amount, _, expires_on, expired_fen in moving])
    session.flush()
    # One UPDATE executed over the rows (executemany), not an ORM object per voucher.
    table = Voucher.__table__
    changes = [{"_id": r[0], "_amount": amounts.get(r[0], 0)} for r in rows]
    for start in range(0, len(changes), _CHUNK):
        session.connection().execute(
            update(table).where(table.c.id == bindparam("_id")).values(
                status="expired", expired_fen=table.c.expired_fen + bindparam("_amount")),
            changes[start:start + _CHUNK])
    expired_ids = set(amounts) | {r[0] for r in rows}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Voucher) and obj.id in expired_ids:
            session.expire(obj)
    return ExpiryResult(programme, day, len(moving), returned,
                        tuple(OpenHold(v, s, h) for v, s, _, _, h, *_ in held))
