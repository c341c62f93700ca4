"""Request and response bodies of payment batches: amounts are yuan strings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from api.schemas import JsonInt, Strict
from api.voucher_schemas import Yuan
from ledger.core.money import fen_to_yuan
from ledger.payments.batches import BatchView, Payable
from ledger.payments.reconciliation import BatchReconciliation

Ids = Annotated[list[Annotated[JsonInt, Field(ge=1, le=2**63 - 1)]] | None, Field(max_length=1000)]


class BatchIn(Strict):
    """A payment batch of exactly the chosen `claim_ids` and `award_ids` (when neither is
    given: every approved claim and award of the programme not yet in a batch)."""

    program: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]
    claim_ids: Ids = None
    award_ids: Ids = None


class PaidIn(Strict):
    """The bank paid the whole batch under one reference on one value date."""

    reference: Annotated[str, Field(min_length=1, max_length=64, examples=["CMB20261130001"])]
    value_date: dt.date


class CancelIn(Strict):
    """Why the batch is withdrawn before release."""

    reason: Annotated[str, Field(min_length=1, max_length=500, examples=["选错了明细"])]


class ReturnIn(Strict):
    """A paid line the bank sent back (退票): its number in the bank file, amount, reason."""

    line: Annotated[JsonInt, Field(ge=1, le=100_000)]
    amount: Yuan
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class LineOut(BaseModel):
    """A line of a batch: a claim paid to its provider, or an award paid to its firm."""

    line: int
    claim_id: int | None
    provider_id: int | None
    award_id: int | None
    firm_id: int | None
    payee: str
    payee_credit_code: str
    amount: str
    bank_name: str | None
    bank_account: str | None
    status: str
    reference: str | None
    value_date: dt.date | None
    return_reason: str | None


class BatchOut(BaseModel):
    """A payment batch: made, released, paid (or cancelled before release), and its lines."""

    id: int
    program: str
    status: str
    total: str
    created_by: str
    created_at: dt.datetime
    released_by: str | None
    released_at: dt.datetime | None
    paid_by: str | None
    paid_at: dt.datetime | None
    cancelled_by: str | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    lines: list[LineOut]


def batch_out(b: BatchView) -> dict[str, Any]:
    """As JSON."""
    return BatchOut(
        id=b.id, program=b.programme, status=b.status, total=fen_to_yuan(b.total_fen),
        created_by=b.created_by, created_at=b.created_at, released_by=b.released_by,
        released_at=b.released_at, paid_by=b.paid_by, paid_at=b.paid_at,
        cancelled_by=b.cancelled_by, cancelled_at=b.cancelled_at, cancel_reason=b.cancel_reason,
        lines=[LineOut(line=x.number, claim_id=x.claim_id, provider_id=x.provider_id,
                       award_id=x.award_id, firm_id=x.firm_id, payee=x.payee,
                       payee_credit_code=x.payee_credit_code,
                       amount=fen_to_yuan(x.amount_fen), bank_name=x.bank_name,
                       bank_account=x.bank_account, status=x.status, reference=x.reference,
                       value_date=x.value_date, return_reason=x.return_reason)
               for x in b.lines]).model_dump(mode="json")


class PayableOut(BaseModel):
    """An approved claim or award in no open batch."""

    kind: str
    id: int
    payee_id: int
    payee: str
    category: str
    amount: str
    approved_on: dt.date | None
    has_bank_account: bool
    bank_returned: bool = Field(description=(
        "The bank returned its last payment to the account the registry still holds: "
        "choosing it is refused (bank_details_not_corrected) until the account is corrected"))


def payable_out(p: Payable) -> dict[str, Any]:
    """As JSON."""
    return PayableOut(kind=p.kind, id=p.id, payee_id=p.payee_id, payee=p.payee,
                      category=p.category, amount=fen_to_yuan(p.amount_fen),
                      approved_on=p.approved_on, has_bank_account=p.bank_account is not None,
                      bank_returned=p.bank_returned).model_dump(mode="json")


class ReconciliationOut(BaseModel):
    """A batch's reconciliation: from its records and from the journal, which must agree."""

    batch_id: int
    status: str
    total: str
    lines: int
    paid_lines: int
    paid: str
    returned_lines: int
    returned: str
    net_paid: str
    still_owed: str
    ledger_paid: str
    ledger_returned: str
    ledger_owed: str
    agrees: bool


def reconciliation_out(r: BatchReconciliation) -> dict[str, Any]:
    """As JSON."""
    return ReconciliationOut(
        batch_id=r.batch.id, status=r.batch.status, total=fen_to_yuan(r.batch.total_fen),
        lines=len(r.batch.lines), paid_lines=r.paid_lines, paid=fen_to_yuan(r.paid_fen),
        returned_lines=r.returned_lines, returned=fen_to_yuan(r.returned_fen),
        net_paid=fen_to_yuan(r.net_paid_fen), still_owed=fen_to_yuan(r.owed_fen),
        ledger_paid=fen_to_yuan(r.ledger_paid_fen),
        ledger_returned=fen_to_yuan(r.ledger_returned_fen),
        ledger_owed=fen_to_yuan(r.ledger_owed_fen), agrees=r.agrees).model_dump(mode="json")
