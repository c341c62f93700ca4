"""Voucher applications (申领): a firm applies with its documents; an approver approves (the
voucher is issued at once) or rejects with a reason. A refusal is 422 with the policy's code
and trace, and the refused application is kept (its id is in the problem)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.routes.claims import read_upload
from api.routes.programs import by
from api.routes.redemptions import bound
from api.schemas import Id, IdempotencyKeyDoc, PageOut, Search, page_out
from api.voucher_schemas import EvidenceOut, ReasonIn, evidence_out, fen
from ledger.core.db import transaction
from ledger.core.errors import PermissionDenied, PolicyRefused
from ledger.core.money import fen_to_yuan
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.core.search import read_query
from ledger.registry.users import UserView
from ledger.vouchers import applications as apps

router = APIRouter(tags=["applications"])
FirmUser = Annotated[UserView, Depends(require("firm"))]
Approver = Annotated[UserView, Depends(require("approver"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
Status = Literal["applied", "approved", "rejected", "refused"]
DocumentKind = Literal["business_licence", "plan"]
Upload = Annotated[UploadFile | None, File(description="PDF, JPEG or PNG, at most 10 MiB")]
Program = Annotated[str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                      description="The voucher programme's code")]


class ApplicationOut(BaseModel):
    """An application, its policy decision (with the trace) and its review."""

    id: int
    program: str
    firm_id: int
    firm_name: str
    window: str | None
    amount: str
    status: str
    code: str | None
    applied_on: dt.date
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    reason: str
    voucher_id: int | None
    voucher_serial: str | None
    documents: list[EvidenceOut]
    decision: dict[str, Any]


def application_out(v: apps.ApplicationView) -> dict[str, Any]:
    """As JSON."""
    return ApplicationOut(
        id=v.id, program=v.programme, firm_id=v.firm_id, firm_name=v.firm_name,
        window=v.window, amount=fen_to_yuan(v.amount_fen), status=v.status, code=v.code,
        applied_on=v.applied_on, reviewed_by=v.reviewed_by, reviewed_at=v.reviewed_at,
        reason=v.reason, voucher_id=v.voucher_id, voucher_serial=v.voucher_serial,
        documents=[evidence_out(d) for d in v.documents], decision=v.decision,
    ).model_dump(mode="json")


def _scope(user: UserView) -> int | None:
    """None for bureau staff (every application); the firm's id for a firm; else 403."""
    if user.is_bureau:
        return None
    if user.role == "firm":
        return bound(user, "firm_id")
    raise PermissionDenied(f"the {user.role} role may not read voucher applications")


def _one_scope(user: UserView) -> int | None:
    """As `_scope` for one application: another's, or a provider asking, is 404, never 403."""
    if user.is_bureau or user.role == "firm":
        return _scope(user)
    return -1  # matches no firm: NotFound


def apply_and_keep_refusal(
    request: Request, user: UserView, *, program: str, amount_fen: int,
    documents: list[Any], content: dict[str, Any], key: str | None,
) -> JSONResponse:
    """Apply through `mutate`; a policy refusal is also kept as a refused application."""

    def effect(session: Session) -> Done:
        firm_id = bound(user, "firm_id")
        view = apps.apply_for_voucher(session, program, firm_id=firm_id, amount_fen=amount_fen,
                                      documents=documents, by=by(user),
                                      policy_set=request.app.state.policies)
        return Done(201, application_out(view), view.id)

    try:
        return mutate(request, user, action="applications.apply", object_type="application",
                      object_id=None, content=content, key=key, effect=effect)
    except PolicyRefused as exc:
        # Kept in a transaction of its own (the refused change rolled back), like the log.
        with transaction(request.app.state.sessions) as session:
            kept = apps.record_refusal(session, program, firm_id=bound(user, "firm_id"),
                                       amount_fen=amount_fen,
                                       decision=exc.detail["decision"], by=by(user))
        exc.detail["application_id"] = kept.id
        raise


@router.post("/applications", status_code=201, response_model=ApplicationOut,
             summary="Apply for a voucher")
async def apply(
    request: Request,
    user: FirmUser,
    program: Annotated[str, Form(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")],
    amount: Annotated[str, Form(min_length=1, max_length=32,
                                description="Yuan, one of the amounts the window offers")],
    business_licence: Upload = None,
    plan: Upload = None,
    key: IdemKey = None,
) -> JSONResponse:
    """A firm applies in the window open today, attaching the documents the window asks for
    (a business licence scan, a short plan). The policy decides with a trace; a refusal is
    422 with its `code` (`outside_window`, `amount_not_allowed`, `not_eligible`,
    `already_applied`, `documents_missing`, `cap_exceeded`), the `decision` and the kept
    refused application's `application_id`."""
    amount_fen = fen(amount, "amount")
    uploads = [u for u in [await read_upload("business_licence", business_licence),
                           await read_upload("plan", plan)] if u is not None]
    content = {"program": program, "amount": amount,
               "files": {u.kind: hashlib.sha256(u.data).hexdigest() for u in uploads}}
    return await run_in_threadpool(
        apply_and_keep_refusal, request, user, program=program, amount_fen=amount_fen,
        documents=uploads, content=content, key=key)


@router.get("/applications", response_model=PageOut[ApplicationOut],
            summary="List voucher applications")
def list_applications(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    program: Program = None,
    status: Status | None = None,
    q: Search = None,
) -> dict[str, object]:
    """Newest first (the approver's queue: `status=applied`); a firm sees its own. `q`: a
    prefix of the firm's name or credit code or of the issued voucher's serial, or the
    application's number."""
    scope = _scope(user)
    with transaction(request.app.state.reader) as session:
        page = apps.list_applications(session, limit=limit, offset=offset, programme=program,
                                      status=status, firm_id=scope, q=read_query(q))
    return page_out(page, [application_out(v) for v in page.items])


@router.get("/applications/{application_id}", response_model=ApplicationOut,
            summary="Get a voucher application")
def get_application(request: Request, user: CurrentUser, application_id: Id
                    ) -> dict[str, object]:
    """One application with its decision's trace and its documents."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        return application_out(apps.get_application(session, application_id,
                                                    firm_id=scope))


@router.get("/applications/{application_id}/documents/{kind}",
            summary="Download an application's document", response_class=Response,
            responses={200: {"description": "The file", "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("application/pdf", "image/jpeg", "image/png")}}})
def get_document(request: Request, user: CurrentUser, application_id: Id, kind: DocumentKind
                 ) -> Response:
    """The file as stored; `X-Content-SHA256` names its content."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        view, data = apps.read_document(session, application_id, kind, firm_id=scope)
    return Response(data, media_type=view.content_type,
                    headers={"X-Content-SHA256": view.sha256})


@router.post("/applications/{application_id}/approve", response_model=ApplicationOut,
             summary="Approve a voucher application")
def approve(request: Request, user: Approver, application_id: Id, body: ReasonIn,
            key: IdemKey = None) -> JSONResponse:
    """Approve: the voucher is issued in the same transaction (`P:voucher:V` ← `P:budget`);
    the issue policy decides again today. Never by the applicant's own user."""

    def effect(session: Session) -> Done:
        view = apps.approve_application(session, application_id, by=by(user),
                                        reason=body.reason)
        return Done(200, application_out(view), application_id)

    return mutate(request, user, action="applications.approve", object_type="application",
                  object_id=application_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.post("/applications/{application_id}/reject", response_model=ApplicationOut,
             summary="Reject a voucher application")
def reject(request: Request, user: Approver, application_id: Id, body: ReasonIn,
           key: IdemKey = None) -> JSONResponse:
    """Reject with a reason; nothing is posted, and the firm may apply again in the window."""

    def effect(session: Session) -> Done:
        view = apps.reject_application(session, application_id, by=by(user),
                                       reason=body.reason)
        return Done(200, application_out(view), application_id)

    return mutate(request, user, action="applications.reject", object_type="application",
                  object_id=application_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)
