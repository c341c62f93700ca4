"""Vouchers: operators issue them (one, or a CSV batch); a firm sees its own and their history."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.routes.parties import read_upload
from api.routes.programs import by
from api.schemas import Id, IdempotencyKeyDoc, PageOut, Search, page_out
from api.voucher_schemas import (
    HistoryOut,
    ProgrammeCode,
    VoucherImportOut,
    VoucherIn,
    VoucherOut,
    fen,
    history_out,
    voucher_out,
)
from ledger.core.db import transaction
from ledger.core.errors import PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, MAX_OFFSET
from ledger.core.search import read_query
from ledger.registry.users import UserView
from ledger.vouchers import voucher as vouchers
from ledger.vouchers.csv_import import import_vouchers

router = APIRouter(tags=["vouchers"])
Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


def _firm_scope(user: UserView) -> int | None:
    """None for bureau staff (all vouchers); the firm's id for a firm; others are refused."""
    if user.is_bureau:
        return None
    if user.role == "firm" and user.firm_id is not None:
        return user.firm_id
    raise PermissionDenied(f"the {user.role} role may not list vouchers")


def _one_scope(user: UserView) -> int | None:
    """As `_firm_scope`, but a voucher that is not the caller's is 404, never 403."""
    if user.is_bureau or (user.role == "firm" and user.firm_id is not None):
        return _firm_scope(user)
    return -1  # matches no firm: NotFound


@router.post("/vouchers", status_code=201, response_model=VoucherOut, summary="Issue a voucher")
def issue(request: Request, user: Operator, body: VoucherIn, key: IdemKey = None) -> JSONResponse:
    """Issue a voucher to an eligible firm, as the policy decides: `P:voucher:V` ← `P:budget`."""

    def effect(session: Session) -> Done:
        view = vouchers.issue_voucher(session, body.program, body.firm_id, fen(body.amount),
                                      by=by(user), issued_on=body.issued_on)
        return Done(201, voucher_out(view), view.id)

    return mutate(request, user, action="vouchers.issue", object_type="voucher", object_id=None,
                  content=body.model_dump(mode="json"), key=key, effect=effect)


@router.post("/programs/{code}/vouchers:import", response_model=VoucherImportOut,
             summary="Issue vouchers from CSV")
async def issue_csv(
    request: Request,
    user: Operator,
    code: ProgrammeCode,
    file: Annotated[UploadFile, File(description="CSV with columns credit_code, amount (yuan)")],
    key: IdemKey = None,
) -> JSONResponse:
    """All rows or none: a bad row refuses the batch and every bad row is listed in `errors`."""
    data = await read_upload(file)

    def effect(session: Session) -> Done:
        done = import_vouchers(session, code, data, by=by(user))
        return Done(200, {"rows": done.rows, "issued": len(done.ids), "voucher_ids": done.ids,
                          "serials": done.serials,
                          "already_imported": done.already_imported}, None)

    return await run_in_threadpool(
        mutate, request, user, action="vouchers.import", object_type="import", object_id=code,
        content={"file_sha256": hashlib.sha256(data).hexdigest()}, key=key, effect=effect)


@router.get("/vouchers", response_model=PageOut[VoucherOut], summary="List vouchers")
def list_vouchers(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    program: Annotated[str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")] = None,
    firm_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    q: Search = None,
) -> dict[str, object]:
    """Bureau staff list every voucher; a firm only its own. `q`: a prefix of the serial or
    of the firm's name or credit code."""
    scope = _firm_scope(user)
    with transaction(request.app.state.reader) as session:
        page = vouchers.list_vouchers(session, limit=limit, offset=offset, programme=program,
                                      firm_id=scope if scope is not None else firm_id,
                                      q=read_query(q))
    return page_out(page, [voucher_out(v) for v in page.items])


@router.get("/vouchers/{voucher_id}", response_model=VoucherOut, summary="Get a voucher")
def get_voucher(request: Request, user: CurrentUser, voucher_id: Id) -> dict[str, object]:
    """One voucher with its balance (a firm: only its own, else 404)."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        return voucher_out(vouchers.get_voucher(session, voucher_id, firm_id=scope))


@router.get("/vouchers/{voucher_id}/history", response_model=list[HistoryOut],
            summary="A voucher's history")
def get_history(request: Request, user: CurrentUser, voucher_id: Id) -> list[dict[str, object]]:
    """Every movement on the voucher's account: issue, holds, posts, releases, expiry."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        return history_out(vouchers.voucher_history(session, voucher_id, firm_id=scope))
