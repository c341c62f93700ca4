"""The budget position of a programme: where every fen of its appropriation is.

It reads the programme's account balances (SQL sums) and the vouchers' and awards' own
totals, so it sits above both rooms; nothing below imports it. `as_of` reads the balances
as they stood at a moment from the accounts' history, without summing the voucher accounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.awards.award import Award, award_programme, promised
from ledger.core.acting import SHANGHAI
from ledger.core.errors import InvalidInput
from ledger.core.models import Account, AccountHistory, JournalEntry, Transfer
from ledger.programmes.programme import account, programme_row
from ledger.vouchers.voucher import FLOW_ISSUE, issued_and_expired
from ledger.vouchers.voucher_totals import FLOW_EXPIRE, VoucherMonthTotal


@dataclass(frozen=True)
class Budget:
    """Where a programme's money is, in fen; `balanced` checks the budget equation."""

    programme: str
    appropriated: int
    free: int
    issued: int
    unspent: int
    held: int
    redeemed: int
    in_payment: int
    paid: int
    receivable: int
    expired: int
    awarded: int  # approved awards not yet batched (`P:award:F` less its holds)
    promised: int  # applied, undecided awards: part of `free` until approved

    @property
    def balanced(self) -> bool:
        """appropriated = free + unspent + held + redeemed + awarded + in_payment + paid
        − receivable."""
        return self.appropriated == (
            self.free + self.unspent + self.held + self.redeemed + self.awarded
            + self.in_payment + self.paid - self.receivable
        )


@dataclass(frozen=True)
class AwardBudget:
    """Where an award programme's money is, in fen; `balanced` checks the equation."""

    programme: str
    appropriated: int
    free: int
    promised: int  # applied, not yet decided: part of `free` until approved
    awarded: int  # approved, not yet batched (the `P:award:F` accounts less their holds)
    in_payment: int  # held by open payment batches
    paid: int
    receivable: int

    @property
    def balanced(self) -> bool:
        """appropriated = free + awarded + in_payment + paid − receivable."""
        return self.appropriated == (self.free + self.awarded + self.in_payment + self.paid
                                     - self.receivable)


def _sums(session: Session, code: str, kind: str) -> tuple[int, int, int, int]:
    """Summed totals (dp, dpo, cp, cpo) of the programme's accounts `P:<kind>:…`."""
    row = session.execute(
        select(
            func.coalesce(func.sum(Account.debits_pending), 0),
            func.coalesce(func.sum(Account.debits_posted), 0),
            func.coalesce(func.sum(Account.credits_pending), 0),
            func.coalesce(func.sum(Account.credits_posted), 0),
        ).where(Account.ledger == code, Account.code.like(f"{code}:{kind}:%"))
    ).one()
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def _one(session: Session, code: str) -> tuple[int, int, int, int]:
    row = session.execute(
        select(Account.debits_pending, Account.debits_posted, Account.credits_pending,
               Account.credits_posted).where(Account.code == code)
    ).one()
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def budget(session: Session, code: str, *, as_of: dt.datetime | None = None) -> Budget:
    """The programme's budget to the fen, from account balances (SQL sums): now, or as
    they stood at `as_of` (timezone-aware).

    Vouchers and awards share `in_payment`, `paid` and `receivable`: a payment batch holds
    `P:paid` ← `P:provider:S` or `P:award:F` (pending credits) until it is marked paid.
    """
    if as_of is not None:
        return _budget_at(session, code, as_of)
    row = programme_row(session, code)
    _, f_dpo, _, f_cpo = _one(session, account(code, "funding"))
    _, b_dpo, b_cp, b_cpo = _one(session, account(code, "budget"))
    _, p_dpo, _, p_cpo = _one(session, account(code, "paid"))
    _, v_dpo, v_cp, v_cpo = _sums(session, code, "voucher")
    _, s_dpo, s_cp, s_cpo = _sums(session, code, "provider")
    _, a_dpo, a_cp, a_cpo = _sums(session, code, "award")
    _, r_dpo, _, r_cpo = _sums(session, code, "receivable")
    issued, expired = issued_and_expired(session, code)
    return Budget(
        programme=code,
        appropriated=f_cpo - f_dpo,
        free=b_dpo - b_cpo - b_cp,
        issued=issued,
        unspent=v_dpo - v_cpo - v_cp,
        held=v_cp,
        redeemed=s_dpo - s_cpo - s_cp,
        in_payment=s_cp + a_cp,
        paid=p_dpo - p_cpo,
        receivable=r_cpo - r_dpo,
        expired=expired,
        awarded=a_dpo - a_cpo - a_cp,
        promised=promised(session, row.id),
    )


def award_budget(
    session: Session, code: str, *, as_of: dt.datetime | None = None
) -> AwardBudget:
    """The award programme's budget to the fen: the figures of `budget` (now or `as_of`)."""
    award_programme(session, code)
    b = budget(session, code, as_of=as_of)
    return AwardBudget(programme=code, appropriated=b.appropriated, free=b.free,
                       promised=b.promised, awarded=b.awarded, in_payment=b.in_payment,
                       paid=b.paid, receivable=b.receivable)


# ------------------------------------------------------------------------------ as of


Totals = tuple[int, int, int, int]  # debits pending, debits posted, credits pending, posted


def _not_vouchers(code: str, dialect: str) -> ColumnElement[bool]:
    """The programme's accounts other than its vouchers: two ranges of the unique code index.

    Byte order (SQLite's, and PostgreSQL's "C") puts every `P:voucher:…` code between the two.
    """
    col = Account.code if dialect == "sqlite" else Account.code.collate("C")
    return and_(Account.ledger == code, or_(
        and_(col >= f"{code}:", col < f"{code}:voucher:"),
        and_(col >= f"{code}:voucher;", col < f"{code};")))


def _others_at(session: Session, code: str, at: dt.datetime) -> dict[str, Totals]:
    """Each non-voucher account of the programme with its totals at `at` (one seek each)."""
    inner = aliased(AccountHistory)
    latest = (
        select(inner.entry_id)
        .where(inner.account_id == Account.id, inner.posted_at <= at)
        .order_by(inner.posted_at.desc(), inner.entry_id.desc())
        .limit(1).correlate(Account).scalar_subquery()
    )
    h = aliased(AccountHistory)
    rows = session.execute(
        select(Account.code, h.debits_pending, h.debits_posted, h.credits_pending,
               h.credits_posted)
        .join(h, and_(h.account_id == Account.id, h.entry_id == latest))
        .where(_not_vouchers(code, session.get_bind().dialect.name))
    ).all()
    return {c: (int(dp), int(dpo), int(cp), int(cpo)) for c, dp, dpo, cp, cpo in rows}


def _kind(totals: dict[str, Totals], code: str, kind: str) -> Totals:
    """The summed totals of the accounts `P:<kind>` and `P:<kind>:…` among `totals`."""
    mine = [t for c, t in totals.items()
            if c == f"{code}:{kind}" or c.startswith(f"{code}:{kind}:")]
    return tuple(sum(t[i] for t in mine) for i in range(4))  # type: ignore[return-value]


def _posted_by(session: Session, programme_id: int, budget_id: int | None,
               at: dt.datetime) -> tuple[int, int]:
    """Vouchers issued and returned by expiry in entries posted by `at`: (issued, expired).

    Whole Beijing months come from the monthly totals; the month `at` falls in, unless `at`
    ends it, from that month's issue and expiry entries on the budget account.
    """
    local = at.astimezone(SHANGHAI)
    month = local.date().replace(day=1)
    starts = dt.datetime.combine(month, dt.time(), SHANGHAI)
    following = dt.datetime.combine((month + dt.timedelta(days=32)).replace(day=1), dt.time(),
                                    SHANGHAI)
    whole = at >= following - dt.timedelta(microseconds=1)
    t = VoucherMonthTotal
    issued, expired = session.execute(
        select(func.coalesce(func.sum(t.issue_posted_fen), 0),
               func.coalesce(func.sum(t.expiry_posted_fen), 0))
        .where(t.programme_id == programme_id, t.month <= month if whole else t.month < month)
    ).one()
    issued, expired = int(issued), int(expired)
    if not whole and budget_id is not None:
        for flow, amount in session.execute(
            select(JournalEntry.flow, func.sum(Transfer.amount))
            .join(Transfer, Transfer.entry_id == JournalEntry.id)
            .where(JournalEntry.posted_at.between(starts, at),
                   JournalEntry.flow.in_((FLOW_ISSUE, FLOW_EXPIRE)),
                   or_(and_(JournalEntry.flow == FLOW_ISSUE,
                            Transfer.credit_account_id == budget_id),
                       and_(JournalEntry.flow == FLOW_EXPIRE,
                            Transfer.debit_account_id == budget_id)))
            .group_by(JournalEntry.flow)
        ):
            if flow == FLOW_ISSUE:
                issued += int(amount)
            else:
                expired += int(amount)
    return issued, expired


def _promised_at(session: Session, programme_id: int, at: dt.datetime) -> int:
    """Awards applied for by `at` and not yet decided then (the awards, not the vouchers)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(Award.amount_fen), 0)).where(
            Award.programme_id == programme_id, Award.created_at <= at,
            or_(Award.decided_at.is_(None), Award.decided_at > at))) or 0)


def _budget_at(session: Session, code: str, at: dt.datetime) -> Budget:
    """`budget` as the ledger stood at `at`, without reading a voucher account.

    Every transfer stays inside its programme's ledger, so the voucher accounts' posted
    balance is minus that of the programme's other accounts, and what the vouchers hold is
    what the others' pending debits exceed their pending credits by (a hold only ever takes
    from a voucher; no flow places one onto it).
    """
    if at.tzinfo is None:
        raise InvalidInput("as_of must carry a time zone", field="as_of")
    row = programme_row(session, code)
    others = _others_at(session, code, at)
    _, f_dpo, _, f_cpo = _kind(others, code, "funding")
    _, b_dpo, b_cp, b_cpo = _kind(others, code, "budget")
    _, p_dpo, _, p_cpo = _kind(others, code, "paid")
    _, s_dpo, s_cp, s_cpo = _kind(others, code, "provider")
    _, a_dpo, a_cp, a_cpo = _kind(others, code, "award")
    _, r_dpo, _, r_cpo = _kind(others, code, "receivable")
    v_net = -sum(t[1] - t[3] for t in others.values())
    v_cp = sum(t[0] - t[2] for t in others.values())
    budget_id = session.scalar(select(Account.id).where(Account.code == account(code, "budget")))
    issued, expired = _posted_by(session, row.id, budget_id, at)
    return Budget(
        programme=code,
        appropriated=f_cpo - f_dpo,
        free=b_dpo - b_cpo - b_cp,
        issued=issued,
        unspent=v_net - v_cp,
        held=v_cp,
        redeemed=s_dpo - s_cpo - s_cp,
        in_payment=s_cp + a_cp,
        paid=p_dpo - p_cpo,
        receivable=r_cpo - r_dpo,
        expired=expired,
        awarded=a_dpo - a_cpo - a_cp,
        promised=_promised_at(session, row.id, at),
    )
