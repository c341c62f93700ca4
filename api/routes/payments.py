"""Payment batches: operators batch approved claims and awards, export the bank file and mark
them paid."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api.auth import require
from api.downloads import ENCODING_DOC, XLSX, bank_xlsx, csv_response, xlsx_response
from api.mutations import Done, mutate
from api.routes.programs import by
from api.schemas import Id, IdempotencyKeyDoc, PageOut, page_out
from api.voucher_schemas import BatchIn, BatchOut, batch_out
from ledger.core.db import transaction
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.payments import batches as payments
from ledger.registry.users import UserView

router = APIRouter(tags=["payments"])
Operator = Annotated[UserView, Depends(require("operator"))]
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


@router.post("/payments", status_code=201, response_model=BatchOut,
             summary="Create a payment batch")
def create_batch(request: Request, user: Operator, body: BatchIn, key: IdemKey = None
                 ) -> JSONResponse:
    """Batch the programme's approved claims and awards (or exactly `claim_ids` and
    `award_ids`): their amounts are held `P:paid` ← `P:provider:S` / `P:award:F` until the
    batch is marked paid. All or none; an award's firm needs a bank account."""

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
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, object]:
    """Batches, newest first."""
    with transaction(request.app.state.reader) as session:
        page = payments.list_batches(session, limit=limit, offset=offset)
    return page_out(page, [batch_out(v) for v in page.items])


@router.get("/payments/{batch_id}", response_model=BatchOut, summary="Get a payment batch")
def get_batch(request: Request, user: Bureau, batch_id: Id) -> dict[str, object]:
    """One batch and its lines."""
    with transaction(request.app.state.reader) as session:
        return batch_out(payments.get_batch(session, batch_id))


@router.get("/payments/{batch_id}/bank-file.csv", summary="The batch's bank file",
            response_class=Response,
            responses={200: {"description": "CSV, UTF-8 with a byte-order mark or GB18030",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def bank_file(request: Request, user: Bureau, batch_id: Id,
              encoding: Annotated[str, Query(description=ENCODING_DOC)] = "utf-8") -> Response:
    """One payment per line: payee, bank account and amount in yuan."""
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
             summary="Mark a batch paid")
def mark_paid(request: Request, user: Operator, batch_id: Id, key: IdemKey = None
              ) -> JSONResponse:
    """The bank paid the batch: every hold is posted in one entry; its claims and awards are
    paid."""

    def effect(session: Session) -> Done:
        view = payments.mark_paid(session, batch_id, by=by(user))
        return Done(200, batch_out(view), batch_id)

    return mutate(request, user, action="payments.paid", object_type="batch",
                  object_id=batch_id, content={}, key=key, effect=effect)
