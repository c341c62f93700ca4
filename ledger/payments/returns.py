"""Bank returns (退票): a paid line the bank sent back goes back to what the programme owes.

The line's payment entry is reversed by a linked reversal (`P:provider:S` / `P:award:F` ←
`P:paid`), never edited; the claim or award is approved and unbatched again, and can be
chosen for a new batch once its payee's bank account differs from the one returned. The bank
returns a payment whole: the amount must be the line's.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.awards.award import Award
from ledger.core.acting import By, now
from ledger.core.errors import Conflict, InvalidInput
from ledger.core.journal import reverse_entry
from ledger.core.money import fen_to_yuan
from ledger.payments.batches import (
    BatchView,
    PaymentBatch,
    PaymentConfirmation,
    PaymentLine,
    PaymentReturn,
    batch_row,
    get_batch,
)
from ledger.vouchers.claims import Claim

FLOW_RETURN = "payment.return"


def record_return(session: Session, batch_id: int, line: int, *, amount_fen: int,
                  reason: str, by: By) -> BatchView:
    """Record that the bank returned line `line` (its number in the bank file) of a paid batch,
    with its reason; reverse the line's payment; its claim or award is payable again."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        raise InvalidInput("reason: say why the bank returned it (1–500 characters)",
                           field="reason")
    row, _ = batch_row(session, batch_id, lock=True)
    if row.status != "paid":
        raise Conflict(f"batch {batch_id} is {row.status}; only a paid line is returned",
                       code="batch_not_paid", batch_id=batch_id)
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch_id)
                                 .order_by(PaymentLine.id)))
    if not isinstance(line, int) or not 1 <= line <= len(lines):
        raise Conflict(f"batch {batch_id} has no line {line}", code="line_not_in_batch",
                       field="line", line=line)
    target = lines[line - 1]
    if amount_fen > target.amount_fen:
        raise Conflict(f"the return {fen_to_yuan(amount_fen)} is larger than line {line}'s "
                       f"{fen_to_yuan(target.amount_fen)}", code="return_exceeds_line",
                       field="amount", line=line)
    if amount_fen != target.amount_fen:
        raise Conflict(f"a bank returns a payment whole: line {line} is "
                       f"{fen_to_yuan(target.amount_fen)}", code="return_not_whole",
                       field="amount", line=line)
    if session.scalar(select(PaymentReturn.id).where(PaymentReturn.line_id == target.id)):
        raise Conflict(f"line {line} of batch {batch_id} was already returned",
                       code="already_returned", line=line)
    paid_entry = session.scalar(select(PaymentConfirmation.entry_id)
                                .where(PaymentConfirmation.line_id == target.id))
    assert paid_entry is not None  # a paid batch has every line confirmed
    entry = reverse_entry(session, paid_entry, flow=FLOW_RETURN,
                          ref=f"batch:{batch_id}:line:{line}", actor=by.label, memo=reason)
    try:
        with session.begin_nested():
            session.add(PaymentReturn(line_id=target.id, batch_id=batch_id,
                                      amount_fen=amount_fen, reason=reason.strip(),
                                      entry_id=entry.id, recorded_by=by.label,
                                      recorded_at=now()))
            session.flush()
    except IntegrityError as exc:  # a concurrent return of the same line won
        raise Conflict(f"line {line} of batch {batch_id} was already returned",
                       code="already_returned", line=line) from exc
    if target.claim_id is not None:
        claim = session.get(Claim, target.claim_id, with_for_update=True)
        assert claim is not None
        claim.status, claim.batch_id = "approved", None
    else:
        award = session.get(Award, target.award_id, with_for_update=True)
        assert award is not None
        award.status, award.batch_id, award.pay_entry_id, award.updated_at = \
            "approved", None, None, now()
    session.flush()
    return get_batch(session, batch_id)


def returned_to_provider_by_programme(session: Session, provider_id: int,
                                      programme_ids: list[int]) -> dict[int, int]:
    """Fen the bank returned of the provider's payments, by programme id (one aggregate):
    a return reverses the payment, so its credit to the provider's account was not paid."""
    rows = session.execute(
        select(PaymentBatch.programme_id, func.sum(PaymentReturn.amount_fen))
        .join(PaymentLine, PaymentLine.id == PaymentReturn.line_id)
        .join(PaymentBatch, PaymentBatch.id == PaymentReturn.batch_id)
        .where(PaymentLine.provider_id == provider_id, PaymentLine.claim_id.is_not(None),
               PaymentBatch.programme_id.in_(programme_ids))
        .group_by(PaymentBatch.programme_id))
    return {programme_id: int(total) for programme_id, total in rows}
