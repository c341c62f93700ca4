"""Programmes: operators create them, appropriate budget and run expiry; bureau staff read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.schemas import IdempotencyKeyDoc, PageOut, page_out
from api.voucher_schemas import (
    AppropriationIn,
    BudgetOut,
    EntryOut,
    ExpireIn,
    ExpiryOut,
    ProgrammeCode,
    ProgrammeIn,
    ProgrammeOut,
    budget_out,
    entry_out,
    expiry_out,
    fen,
    programme_out,
)
from ledger.budget import budget as budget_position
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.programmes import programme as programs
from ledger.registry.users import UserView
from ledger.vouchers import expiry

router = APIRouter(tags=["programs"])
Operator = Annotated[UserView, Depends(require("operator"))]
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


def by(user: UserView) -> By:
    """The acting user as the services take it."""
    return By(user.id, user.username)


@router.get("/programs", response_model=PageOut[ProgrammeOut], summary="List programmes")
def list_programs(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, object]:
    """Every programme (anyone signed in: a programme is public)."""
    with transaction(request.app.state.reader) as session:
        page = programs.list_programmes(session, limit=limit, offset=offset)
    return page_out(page, [programme_out(v) for v in page.items])


@router.get("/programs/{code}", response_model=ProgrammeOut, summary="Get a programme")
def get_program(request: Request, user: CurrentUser, code: ProgrammeCode) -> dict[str, object]:
    """One programme."""
    with transaction(request.app.state.reader) as session:
        return programme_out(programs.get_programme(session, code))


@router.post("/programs", status_code=201, response_model=ProgrammeOut,
             summary="Create a programme")
def create_program(
    request: Request, user: Operator, body: ProgrammeIn, key: IdemKey = None
) -> JSONResponse:
    """Create a programme and open its funding, budget and paid accounts (operators)."""

    def effect(session: Session) -> Done:
        view = programs.create_programme(session, code=body.code, name=body.name,
                                         fiscal_year=body.fiscal_year, policy=body.policy,
                                         by=by(user))
        return Done(201, programme_out(view), view.code)

    return mutate(request, user, action="programs.create", object_type="programme",
                  object_id=body.code, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.post("/programs/{code}/appropriations", status_code=201, response_model=EntryOut,
             summary="Appropriate budget")
def appropriate(
    request: Request, user: Operator, code: ProgrammeCode, body: AppropriationIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Add budget: `P:budget` ← `P:funding` (operators)."""

    def effect(session: Session) -> Done:
        entry = programs.appropriate(session, code, fen(body.amount), by=by(user),
                                     memo=body.memo)
        return Done(201, entry_out(entry), code)

    return mutate(request, user, action="programs.appropriate", object_type="programme",
                  object_id=code, content=body.model_dump(mode="json"), key=key, effect=effect)


@router.get("/programs/{code}/budget", response_model=BudgetOut, summary="Budget breakdown")
def get_budget(request: Request, user: Bureau, code: ProgrammeCode) -> dict[str, object]:
    """Appropriated, free, issued, unspent, held, redeemed, in payment, paid, receivable and
    expired, to the fen."""
    with transaction(request.app.state.reader) as session:
        return budget_out(budget_position(session, code))


@router.post("/programs/{code}/expire", response_model=ExpiryOut, summary="Run expiry")
def run_expiry(
    request: Request, user: Operator, code: ProgrammeCode, body: ExpireIn, key: IdemKey = None
) -> JSONResponse:
    """Return every expired voucher's unused balance to the budget; open holds are listed."""

    def effect(session: Session) -> Done:
        result = expiry.expire(session, code, as_of=body.as_of, by=by(user))
        return Done(200, expiry_out(result), code)

    return mutate(request, user, action="programs.expire", object_type="programme",
                  object_id=code, content=body.model_dump(mode="json"), key=key, effect=effect)
