"""The firm's authorisations of providers, and the provider directory they are chosen from."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import CurrentUser, require
from api.authorisation_schemas import (
    AuthorisationIn,
    AuthorisationOut,
    DirectoryOut,
    authorisation_out,
    directory_out,
)
from api.mutations import Done, mutate_soon
from api.routes.programs import by
from api.routes.redemptions import bound
from api.schemas import Category, Id, IdempotencyKeyDoc, PageOut, page_out
from ledger.core.db import transaction
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.registry.directory import find_providers
from ledger.registry.users import UserView
from ledger.vouchers import authorisations

router = APIRouter(tags=["authorisations"])
FirmUser = Annotated[UserView, Depends(require("firm"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
ShownStatus = Literal["open", "used", "withdrawn", "expired"]


def _scope(user: UserView) -> dict[str, int]:
    """Bureau staff see all; a firm its own; a provider those naming it."""
    if user.is_bureau:
        return {}
    if user.role == "provider":
        return {"provider_id": bound(user, "provider_id")}
    return {"firm_id": bound(user, "firm_id")}


@router.post("/authorisations", status_code=201, response_model=AuthorisationOut,
             summary="Authorise a provider to book once on a voucher")
async def create(request: Request, user: FirmUser, body: AuthorisationIn, key: IdemKey = None
           ) -> JSONResponse:
    """The firm names its voucher (serial) and a registered provider (credit code); the
    provider books with the returned one-time `code` until `expires_on` (the policy file's
    `booking.authorisation_days`)."""

    def effect(session: Session) -> Done:
        firm_id = bound(user, "firm_id")
        view = authorisations.authorise(session, firm_id=firm_id, voucher=body.voucher,
                                        provider_credit_code=body.provider_credit_code,
                                        programme=body.program, by=by(user))
        return Done(201, authorisation_out(view), view.id)

    return await mutate_soon(
        request, user, action="authorisations.create", object_type="authorisation", object_id=None,
        content=body.model_dump(mode="json"), key=key, effect=effect,
    )


@router.get("/authorisations", response_model=PageOut[AuthorisationOut],
            summary="List authorisations")
def list_authorisations(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: ShownStatus | None = None,
) -> dict[str, object]:
    """A firm's own, those naming a provider, or all for bureau staff; newest first."""
    with transaction(request.app.state.reader) as session:
        page = authorisations.list_authorisations(session, limit=limit, offset=offset,
                                                  status=status, **_scope(user))
    return page_out(page, [authorisation_out(v) for v in page.items])


@router.get("/authorisations/{authorisation_id}", response_model=AuthorisationOut,
            summary="Get an authorisation")
def get_authorisation(request: Request, user: CurrentUser, authorisation_id: Id
                      ) -> dict[str, object]:
    """One authorisation (a firm's own, or one naming the provider; else 404)."""
    with transaction(request.app.state.reader) as session:
        return authorisation_out(authorisations.get_authorisation(
            session, authorisation_id, **_scope(user)))


@router.post("/authorisations/{authorisation_id}/withdraw", response_model=AuthorisationOut,
             summary="Withdraw an unused authorisation")
async def withdraw(request: Request, user: FirmUser, authorisation_id: Id, key: IdemKey = None
             ) -> JSONResponse:
    """The provider can no longer book with it; a used one cannot be withdrawn (409)."""

    def effect(session: Session) -> Done:
        firm_id = bound(user, "firm_id")
        view = authorisations.withdraw(session, authorisation_id, firm_id=firm_id, by=by(user))
        return Done(200, authorisation_out(view), authorisation_id)

    return await mutate_soon(
        request, user, action="authorisations.withdraw", object_type="authorisation",
        object_id=authorisation_id, content={}, key=key, effect=effect,
    )


@router.get("/provider-directory", response_model=PageOut[DirectoryOut],
            summary="The provider directory (服务机构库)")
def provider_directory(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    category: Category | None = None,
    city: Annotated[str | None, Query(max_length=16)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    credit_code: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, object]:
    """Registered active providers with the categories they are registered for today, found
    by category, city, part of the name or the start of the credit code."""
    with transaction(request.app.state.reader) as session:
        page = find_providers(session, limit=limit, offset=offset, category=category,
                              city=city, name=name, credit_code=credit_code)
    return page_out(page, [directory_out(e) for e in page.items])
