"""Payment batches: operators build them from chosen lines, approvers release them (either may
cancel one before release), operators mark them paid with the bank's reference (or its
confirmation file) and record bank returns."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import require
from api.downloads import ENCODING_DOC, XLSX, bank_xlsx, csv_response, xlsx_response
from api.mutations import Done, mutate
from api.payment_schemas import (
    BatchIn,
    BatchOut,
    CancelIn,
    PaidIn,
    PayableOut,
    ReconciliationOut,
    ReturnIn,
    batch_out,
    payable_out,
    reconciliation_out,
)
from api.routes.parties import read_upload
from api.routes.programs import by
from api.schemas import Id, IdempotencyKeyDoc, PageOut, page_out
from api.voucher_schemas import fen
from ledger.core.db import transaction
from ledger.core.money import yuan_to_fen
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.payments import batches as payments
from ledger.payments import confirmation, reconciliation, returns
from ledger.registry.users import UserView

router = APIRouter(tags=["payments"])
Operator = Annotated[UserView, Depends(require("operator"))]
Approver = Annotated[UserView, Depends(require("approver"))]
Maker = Annotated[UserView, Depends(require("operator", "approver"))]
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
ProgrammeQuery = Annotated[str, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                      description="The programme's code")]
# Parsed as every amount a person writes is (ledger.core.money: 12,345.67 and full-width too).
YuanQuery = Annotated[str | None, Query(max_length=40, description="Yuan, at most two decimals")]


@router.get("/payments/payable", response_model=PageOut[PayableOut],
            summary="Approved claims and awards that can be batched")
def list_payable(
    request: Request,
    user: Bureau,
    program: ProgrammeQuery,
    kind: Annotated[str | None, Query(pattern=r"^(claim|award)$")] = None,
    payee_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    category: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    min_amount: YuanQuery = None,
    max_amount: YuanQuery = None,
    approved_from: dt.date | None = None,
    approved_to: dt.date | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, object]:
    """Claims (to providers) and awards (to firms), approved and in no open batch (an award
    once its 公示 has ended with no pending objection), filtered by kind, payee, category (a
    claim's service category, an award's tier), amount and approval date; `has_bank_account`
    false, or `bank_returned` true (the bank returned its last payment to the account still
    registered), means the line is refused when chosen."""
    wanted = payments.PayableFilter(
        kind=kind, payee_id=payee_id, category=category,
        min_fen=None if min_amount is None else _bound(min_amount, "min_amount"),
        max_fen=None if max_amount is None else _bound(max_amount, "max_amount"),
        approved_from=approved_from, approved_to=approved_to)
    with transaction(request.app.state.reader) as session:
        page = payments.list_payable(session, program, wanted, limit=limit, offset=offset)
    return page_out(page, [payable_out(p) for p in page.items])


def _bound(value: str, field: str) -> int:
    """A filter's bound in fen: zero is a bound too."""
    return yuan_to_fen(value, field=field, allow_zero=True)


@router.post("/payments", status_code=201, response_model=BatchOut,
             summary="Create a payment batch")
def create_batch(request: Request, user: Operator, body: BatchIn, key: IdemKey = None
                 ) -> JSONResponse:
    """Batch the chosen `claim_ids` and `award_ids` (all or none; a payee without a bank
    account is refused with `bank_account_missing`, an award not yet through its 公示 with
    `award_not_published`, `award_in_publicity` or `award_objection_pending`): their amounts
    are held `P:paid` ← `P:provider:S` / `P:award:F`. The batch waits for an approver's
    release."""

    def effect(session: Session) -> Done:
        view = payments.create_batch(session, body.program, by=by(user),
                                     claim_ids=body.claim_ids, award_ids=body.award_ids)
        return Done(201, batch_out(view), view.id)

    return mutate(request, user, action="payments.create", object_type="batch", object_id=None,
                  content=body.model_dump(mode="json"), key=key, effect=effect)


@router.get("/payments", response_model=PageOut[BatchOut], summary="List payment batches")
def list_batches(
    request: Request,
    user: Bureau,
    status: Annotated[str | None, Query(pattern=r"^(created|released|paid|cancelled)$")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, object]:
    """Batches, newest first, optionally of one status."""
    with transaction(request.app.state.reader) as session:
        page = payments.list_batches(session, limit=limit, offset=offset, status=status)
    return page_out(page, [batch_out(v) for v in page.items])


@router.get("/payments/{batch_id}", response_model=BatchOut, summary="Get a payment batch")
def get_batch(request: Request, user: Bureau, batch_id: Id) -> dict[str, object]:
    """One batch and its lines."""
    with transaction(request.app.state.reader) as session:
        return batch_out(payments.get_batch(session, batch_id))


@router.post("/payments/{batch_id}/release", response_model=BatchOut,
             summary="Release a payment batch")
def release_batch(request: Request, user: Approver, batch_id: Id, key: IdemKey = None
                  ) -> JSONResponse:
    """An approver who did not make the batch releases it; its bank file becomes available."""

    def effect(session: Session) -> Done:
        return Done(200, batch_out(payments.release_batch(session, batch_id, by=by(user))),
                    batch_id)

    return mutate(request, user, action="payments.release", object_type="batch",
                  object_id=batch_id, content={}, key=key, effect=effect)


@router.post("/payments/{batch_id}/cancel", response_model=BatchOut,
             summary="Cancel a payment batch before release")
def cancel_batch(request: Request, user: Maker, batch_id: Id, body: CancelIn,
                 key: IdemKey = None) -> JSONResponse:
    """The batch's maker or an approver withdraws a batch not yet released, saying why (another
    operator: `not_batch_maker`, 403): its holds
    are voided in one entry, its claims and awards are payable again; the batch stays as
    history (`cancelled`). Once released: `already_released`."""

    def effect(session: Session) -> Done:
        view = payments.cancel_batch(session, batch_id, by=by(user), reason=body.reason,
                                     approver=user.role == "approver")
        return Done(200, batch_out(view), batch_id)

    return mutate(request, user, action="payments.cancel", object_type="batch",
                  object_id=batch_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.get("/payments/{batch_id}/bank-file.csv", summary="The batch's bank file",
            response_class=Response,
            responses={200: {"description": "CSV, UTF-8 with a byte-order mark or GB18030",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def bank_file(request: Request, user: Bureau, batch_id: Id,
              encoding: Annotated[str, Query(description=ENCODING_DOC)] = "utf-8") -> Response:
    """One payment per line: payee, bank account and amount in yuan; released batches only."""
    with transaction(request.app.state.reader) as session:
        text = payments.bank_file(session, batch_id)
    return csv_response(text, f"batch-{batch_id}.csv", encoding)


@router.get("/payments/{batch_id}/bank-file.xlsx", summary="The batch's bank file as XLSX",
            response_class=Response,
            responses={200: {"description": "The bank file's rows as a workbook",
                             "content": {XLSX: {"schema": {"type": "string",
                                                           "format": "binary"}}}}})
def bank_file_xlsx(request: Request, user: Bureau, batch_id: Id) -> Response:
    """The bank file's rows as a workbook: amounts as figures, accounts as text."""
    with transaction(request.app.state.reader) as session:
        text = payments.bank_file(session, batch_id)
    return xlsx_response(bank_xlsx(text, batch_id), f"batch-{batch_id}.xlsx")


@router.post("/payments/{batch_id}/paid", response_model=BatchOut,
             summary="Mark a released batch paid")
def mark_paid(request: Request, user: Operator, batch_id: Id, body: PaidIn,
              key: IdemKey = None) -> JSONResponse:
    """The bank paid the whole batch under `reference` on `value_date`: each line's hold is
    posted in an entry of its own; its claims and awards are paid."""

    def effect(session: Session) -> Done:
        view = confirmation.mark_paid(session, batch_id, by=by(user),
                                      reference=body.reference, value_date=body.value_date)
        return Done(200, batch_out(view), batch_id)

    return mutate(request, user, action="payments.paid", object_type="batch",
                  object_id=batch_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.post("/payments/{batch_id}/confirmation", response_model=BatchOut,
             summary="Mark a released batch paid from the bank's confirmation file")
async def confirm_file(
    request: Request, user: Operator, batch_id: Id,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX: line, "
                                                 "amount_yuan, reference, value_date")],
    key: IdemKey = None,
) -> JSONResponse:
    """Every line of the batch once, each for its amount, the file's total the batch's; each
    line gets its own reference and value date. Refused as a whole otherwise."""
    data = await read_upload(file)

    def effect(session: Session) -> Done:
        return Done(200, batch_out(confirmation.confirm_file(session, batch_id, data,
                                                             by=by(user))), batch_id)

    return await run_in_threadpool(
        mutate, request, user, action="payments.confirmation", object_type="batch",
        object_id=batch_id, content={"file_sha256": hashlib.sha256(data).hexdigest()}, key=key,
        effect=effect)


@router.post("/payments/{batch_id}/returns", response_model=BatchOut,
             summary="Record a bank return (退票)")
def record_return(request: Request, user: Operator, batch_id: Id, body: ReturnIn,
                  key: IdemKey = None) -> JSONResponse:
    """The bank sent line `line` back: its payment is reversed (linked), the money is owed to
    the payee again and the claim or award is payable once the payee's bank is corrected."""

    def effect(session: Session) -> Done:
        view = returns.record_return(session, batch_id, body.line, amount_fen=fen(body.amount),
                                     reason=body.reason, by=by(user))
        return Done(200, batch_out(view), batch_id)

    return mutate(request, user, action="payments.return", object_type="batch",
                  object_id=batch_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.get("/payments/{batch_id}/reconciliation", response_model=ReconciliationOut,
            summary="A batch's reconciliation")
def reconcile(request: Request, user: Bureau, batch_id: Id) -> dict[str, object]:
    """Lines paid and returned, what is still owed, and the journal's own figures (`agrees`)."""
    with transaction(request.app.state.reader) as session:
        return reconciliation_out(reconciliation.reconcile_batch(session, batch_id))
