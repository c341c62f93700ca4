"""Firms: bureau staff read all and operators register and change them; a firm reads itself."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.schemas import (
    CertificationIn,
    FirmIn,
    FirmOut,
    Id,
    IdempotencyKeyDoc,
    ImportOut,
    PageOut,
    Status,
    StatusIn,
    firm_out,
    page_out,
)
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.registry import firms
from ledger.registry.csv_files import MAX_BYTES
from ledger.registry.party_import import import_firms
from ledger.registry.users import UserView

router = APIRouter(tags=["firms"])
Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


def _visible_firm(user: UserView, firm_id: int) -> None:
    """Bureau staff see every firm, a firm only itself; anyone else gets 404, not 403."""
    if user.is_bureau or (user.role == "firm" and user.firm_id == firm_id):
        return
    raise NotFound(f"no firm {firm_id}", firm_id=firm_id)


@router.get("/firms", response_model=PageOut[FirmOut], summary="List firms")
def list_firms(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: Status | None = None,
    city: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, object]:
    """Bureau staff list every firm; a firm user gets a page holding only its own firm."""
    if not user.is_bureau and user.role != "firm":
        raise PermissionDenied(f"the {user.role} role may not list firms")
    only = None if user.is_bureau else user.firm_id
    with transaction(request.app.state.reader) as session:
        page = firms.list_firms(session, limit=limit, offset=offset, status=status, city=city,
                                only_id=only)
    return page_out(page, [firm_out(v, full_bank=user.is_bureau) for v in page.items])


@router.get("/firms/{firm_id}", response_model=FirmOut, summary="Get a firm")
def get_firm(request: Request, user: CurrentUser, firm_id: Id) -> FirmOut:
    """One firm, with its certifications."""
    _visible_firm(user, firm_id)
    with transaction(request.app.state.reader) as session:
        view = firms.get_firm(session, firm_id)
    return firm_out(view, full_bank=user.is_bureau)


@router.post("/firms", status_code=201, response_model=FirmOut, summary="Register a firm")
def create_firm(
    request: Request, user: Operator, body: FirmIn, key: IdemKey = None
) -> JSONResponse:
    """Register a firm (operators); its credit code must be valid and new."""

    def effect(session: Session) -> Done:
        certs = tuple(c.certification() for c in body.certifications)
        view = firms.create_firm(session, body.party(), status=body.status, certifications=certs)
        return Done(201, firm_out(view, full_bank=True).model_dump(mode="json"), view.id)

    return mutate(request, user, action="firms.create", object_type="firm", object_id=None,
                  content=body.model_dump(mode="json"), key=key, effect=effect)


@router.post("/firms/{firm_id}/status", response_model=FirmOut, summary="Change a firm's status")
def set_status(
    request: Request, user: Operator, firm_id: Id, body: StatusIn, key: IdemKey = None
) -> JSONResponse:
    """Set a firm active, suspended or blacklisted (operators)."""

    def effect(session: Session) -> Done:
        view = firms.set_firm_status(session, firm_id, body.status)
        return Done(200, firm_out(view, full_bank=True).model_dump(mode="json"), firm_id)

    return mutate(request, user, action=f"firms.status.{body.status}", object_type="firm",
                  object_id=firm_id, content=body.model_dump(mode="json"), key=key, effect=effect)


@router.post("/firms/{firm_id}/certifications", status_code=201, response_model=FirmOut,
             summary="Add a certification to a firm")
def add_certification(
    request: Request, user: Operator, firm_id: Id, body: CertificationIn, key: IdemKey = None
) -> JSONResponse:
    """Record a certification (tech_sme, chuying, gazelle, unicorn, specialised, little_giant)."""

    def effect(session: Session) -> Done:
        view = firms.add_certification(session, firm_id, body.certification())
        return Done(201, firm_out(view, full_bank=True).model_dump(mode="json"), firm_id)

    return mutate(request, user, action=f"firms.certify.{body.kind}", object_type="firm",
                  object_id=firm_id, content=body.model_dump(mode="json"), key=key, effect=effect)


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded file's bytes, refused past the import size bound."""
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InvalidInput("the file is too large", field="file")
    return data


@router.post("/firms:import", response_model=ImportOut, summary="Import firms from CSV")
async def import_firms_csv(
    request: Request,
    user: Operator,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 (BOM or not) or GB18030")],
    key: IdemKey = None,
) -> JSONResponse:
    """All rows or none; identical registered rows are skipped; bad rows listed in `errors`."""
    data = await read_upload(file)

    def effect(session: Session) -> Done:
        result = import_firms(session, data)
        body = ImportOut(rows=result.rows, created=len(result.created), skipped=result.skipped,
                         created_ids=result.created)
        return Done(200, body.model_dump(mode="json"), None)

    return await run_in_threadpool(
        mutate, request, user, action="firms.import", object_type="import", object_id=None,
        content={"file_sha256": hashlib.sha256(data).hexdigest()}, key=key, effect=effect,
    )
