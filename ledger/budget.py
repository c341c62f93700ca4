"""The budget position of a programme: where every fen of its appropriation is.

It reads the programme's account balances (SQL sums) and the vouchers' and awards' own
totals, so it sits above both rooms; nothing below imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.awards.award import award_programme, promised
from ledger.core.models import Account
from ledger.programmes.programme import account, programme_row
from ledger.vouchers.voucher import issued_and_expired


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


def budget(session: Session, code: str) -> Budget:
    """The programme's budget to the fen, from account balances (SQL sums).

    Vouchers and awards share `in_payment`, `paid` and `receivable`: a payment batch holds
    `P:paid` ← `P:provider:S` or `P:award:F` (pending credits) until it is marked paid.
    """
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


def award_budget(session: Session, code: str) -> AwardBudget:
    """The award programme's budget to the fen: the figures of `budget`."""
    award_programme(session, code)
    b = budget(session, code)
    return AwardBudget(programme=code, appropriated=b.appropriated, free=b.free,
                       promised=b.promised, awarded=b.awarded, in_payment=b.in_payment,
                       paid=b.paid, receivable=b.receivable)
