"""Claims: a provider files one with its evidence; an approver (not the filer) decides."""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.routes.programs import by
from api.routes.redemptions import bound
from api.schemas import Id, IdempotencyKeyDoc, PageOut, Search, page_out
from api.voucher_schemas import ClaimOut, ReasonIn, claim_out
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, MAX_OFFSET
from ledger.core.search import read_query
from ledger.registry import evidence
from ledger.registry.users import UserView
from ledger.vouchers import claims

router = APIRouter(tags=["claims"])
ProviderUser = Annotated[UserView, Depends(require("provider"))]
Approver = Annotated[UserView, Depends(require("approver"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
ClaimStatus = Literal["filed", "approved", "rejected", "paid", "withdrawn"]
EvidenceKind = Literal["contract", "invoice", "service_report"]
Upload = Annotated[UploadFile | None, File(description="PDF, JPEG or PNG, at most 10 MiB")]


async def read_upload(kind: str, file: UploadFile | None) -> evidence.Upload | None:
    """The uploaded file as a service takes it (None when absent); refused past MAX_BYTES."""
    if file is None:
        return None
    data = await file.read(evidence.MAX_BYTES + 1)
    if len(data) > evidence.MAX_BYTES:
        raise InvalidInput(f"{kind}: larger than {evidence.MAX_BYTES} bytes",
                           code="evidence_too_large", field=kind)
    return evidence.Upload(kind, file.filename or kind, data)


def _provider_scope(user: UserView) -> int | None:
    if user.is_bureau:
        return None
    if user.role == "provider":
        return bound(user, "provider_id")
    raise PermissionDenied(f"the {user.role} role may not read claims")


def _one_scope(user: UserView) -> int | None:
    """As `_provider_scope`, but a claim that is not the caller's is 404, never 403."""
    if user.is_bureau or user.role == "provider":
        return _provider_scope(user)
    return -1  # matches no provider: NotFound


@router.post("/claims", status_code=201, response_model=ClaimOut, summary="File a claim")
async def file_claim(
    request: Request,
    user: ProviderUser,
    redemption_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    contract: Upload = None,
    invoice: Upload = None,
    service_report: Upload = None,
    key: IdemKey = None,
) -> JSONResponse:
    """Claim payment for a completed, firm-confirmed service with the evidence the policy
    requires; each file is stored by content and its SHA-256 recorded."""
    uploads = [u for u in [await read_upload("contract", contract),
                           await read_upload("invoice", invoice),
                           await read_upload("service_report", service_report)] if u is not None]

    def effect(session: Session) -> Done:
        provider_id = bound(user, "provider_id")
        view = claims.file_claim(session, redemption_id, provider_id=provider_id,
                                 files=uploads, by=by(user))
        return Done(201, claim_out(view), view.id)

    content = {"redemption_id": redemption_id,
               "files": {u.kind: hashlib.sha256(u.data).hexdigest() for u in uploads}}
    return await run_in_threadpool(
        mutate, request, user, action="claims.file", object_type="claim", object_id=None,
        content=content, key=key, effect=effect)


@router.get("/claims", response_model=PageOut[ClaimOut], summary="List claims")
def list_claims(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: ClaimStatus | None = None,
    q: Search = None,
) -> dict[str, object]:
    """Bureau staff see every claim (the approver's queue: `status=filed`); a provider its own.
    `q`: a prefix of the provider's or the firm's name or credit code, or the voucher serial."""
    scope = _provider_scope(user)
    with transaction(request.app.state.reader) as session:
        page = claims.list_claims(session, limit=limit, offset=offset, provider_id=scope,
                                  status=status, q=read_query(q))
    return page_out(page, [claim_out(v) for v in page.items])


@router.get("/claims/{claim_id}", response_model=ClaimOut, summary="Get a claim")
def get_claim(request: Request, user: CurrentUser, claim_id: Id) -> dict[str, object]:
    """One claim with its evidence."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        return claim_out(claims.get_claim(session, claim_id, provider_id=scope))


@router.get("/claims/{claim_id}/evidence/{kind}", summary="Download an evidence file",
            response_class=Response,
            responses={200: {"description": "The file", "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("application/pdf", "image/jpeg", "image/png")}}})
def get_evidence(request: Request, user: CurrentUser, claim_id: Id, kind: EvidenceKind
                 ) -> Response:
    """The file as stored; `X-Content-SHA256` names its content."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        claims.claim_row(session, claim_id, provider_id=scope)
        view, data = evidence.read(session, claim_id, kind)
    return Response(data, media_type=view.content_type,
                    headers={"X-Content-SHA256": view.sha256})


@router.post("/claims/{claim_id}/approve", response_model=ClaimOut, summary="Approve a claim")
def approve(request: Request, user: Approver, claim_id: Id, body: ReasonIn, key: IdemKey = None
            ) -> JSONResponse:
    """Approve (never by whoever filed the claim or booked its service)."""

    def effect(session: Session) -> Done:
        view = claims.approve(session, claim_id, by=by(user), reason=body.reason)
        return Done(200, claim_out(view), claim_id)

    return mutate(request, user, action="claims.approve", object_type="claim",
                  object_id=claim_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.post("/claims/{claim_id}/reject", response_model=ClaimOut, summary="Reject a claim")
def reject(request: Request, user: Approver, claim_id: Id, body: ReasonIn, key: IdemKey = None
           ) -> JSONResponse:
    """Reject with a reason (never by whoever filed the claim or booked its service)."""

    def effect(session: Session) -> Done:
        view = claims.reject(session, claim_id, by=by(user), reason=body.reason)
        return Done(200, claim_out(view), claim_id)

    return mutate(request, user, action="claims.reject", object_type="claim",
                  object_id=claim_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)
