"""Clawback: an approver reverses a fraudulent redemption, with a reason, once.

The completion entry is reversed by a linked entry (`P:voucher:V` ← `P:provider:S`). If the
claim was already paid, the provider's account is first refilled from `P:receivable:S`,
whose credit balance is what the provider owes the programme and shows in the budget.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.accounts import ensure_account
from ledger.core.acting import By, now
from ledger.core.errors import Conflict, InvalidInput, PermissionDenied
from ledger.core.journal import EntryRequest, Move, post_entry, reverse_entry
from ledger.programmes.programme import Programme, account
from ledger.vouchers.claims import Claim
from ledger.vouchers.redemption_totals import record_clawback
from ledger.vouchers.redemptions import Redemption, RedemptionView, redemption_row, view

FLOW_CLAWBACK, FLOW_RECEIVABLE = "redemption.clawback", "clawback.receivable"


def clawback(session: Session, redemption_id: int, *, by: By, reason: str) -> RedemptionView:
    """Reverse a completed redemption; if its claim was paid, the provider owes it back."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidInput("reason: say why (1–500 characters)", field="reason")
    row = redemption_row(session, redemption_id, lock=True)
    if row.status == "clawed_back":
        raise Conflict(f"redemption {row.id} was already clawed back",
                       code="already_clawed_back")
    if row.status != "completed":
        raise Conflict(f"redemption {row.id} is {row.status}; only a completed one is clawed "
                       "back (cancel a booking instead)", code=f"redemption_{row.status}")
    if by.user_id == row.booked_by_user:
        raise PermissionDenied("maker-checker: the booker may not claw back", code="self_approval")
    claim = session.execute(
        select(Claim).where(Claim.redemption_id == row.id).with_for_update()
    ).scalar_one_or_none()
    if claim is not None and claim.status == "approved" and claim.batch_id is not None:
        raise Conflict(f"claim {claim.id} is in payment batch {claim.batch_id}; mark it paid "
                       "first", code="in_payment")
    prog = session.get(Programme, row.programme_id)
    assert prog is not None and row.complete_entry_id is not None
    ref = f"redemption:{row.id}"
    if claim is not None and claim.status == "paid":
        receivable = account(prog.code, "receivable", row.provider_id)
        ensure_account(session, receivable, prog.code, limited=False)
        post_entry(session, EntryRequest(
            (Move(account(prog.code, "provider", row.provider_id), receivable, row.amount_fen),),
            flow=FLOW_RECEIVABLE, ref=ref, actor=by.label, memo=reason))
    elif claim is not None:
        claim.status = "withdrawn"
    entry = reverse_entry(session, row.complete_entry_id, flow=FLOW_CLAWBACK, ref=ref,
                          actor=by.label, memo=reason)
    row.status = "clawed_back"
    row.clawback_entry_id = entry.id
    row.clawback_reason = reason
    row.clawed_back_by = by.label
    row.updated_at = now()
    session.flush()
    record_clawback(session, row)
    return view(session, row)


def clawed_back_by_programme(session: Session, provider_id: int,
                             programme_ids: list[int]) -> dict[int, int]:
    """Fen clawed back from the provider's completions, by programme id (one aggregate): the
    reversals credit its account again, beside what it was paid."""
    rows = session.execute(
        select(Redemption.programme_id, func.sum(Redemption.amount_fen))
        .where(Redemption.provider_id == provider_id, Redemption.status == "clawed_back",
               Redemption.programme_id.in_(programme_ids))
        .group_by(Redemption.programme_id))
    return {programme_id: int(total) for programme_id, total in rows}
