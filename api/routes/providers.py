"""Providers: bureau staff read all, operators register them; a provider reads itself."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.routes.firms import read_upload
from api.schemas import (
    Category,
    Id,
    IdempotencyKeyDoc,
    ImportOut,
    PageOut,
    ProviderIn,
    ProviderOut,
    RegistrationIn,
    Status,
    StatusIn,
    page_out,
    provider_out,
)
from ledger.core.db import transaction
from ledger.core.errors import NotFound, PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.registry import providers
from ledger.registry.party_import import import_providers
from ledger.registry.users import UserView

router = APIRouter(tags=["providers"])
Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _visible_provider(user: UserView, provider_id: int) -> None:
    """Bureau staff see every provider, a provider only itself; anyone else gets 404."""
    if user.is_bureau or (user.role == "provider" and user.provider_id == provider_id):
        return
    raise NotFound(f"no provider {provider_id}", provider_id=provider_id)


@router.get("/providers", response_model=PageOut[ProviderOut], summary="List providers")
def list_providers(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: Status | None = None,
    category: Category | None = None,
) -> dict[str, object]:
    """Bureau staff list every provider; a provider user gets a page holding only itself."""
    if not user.is_bureau and user.role != "provider":
        raise PermissionDenied(f"the {user.role} role may not list providers")
    only = None if user.is_bureau else user.provider_id
    with transaction(request.app.state.reader) as session:
        page = providers.list_providers(session, limit=limit, offset=offset, status=status,
                                        category=category, only_id=only)
    return page_out(page, [provider_out(v, full_bank=user.is_bureau) for v in page.items])


@router.get("/providers/{provider_id}", response_model=ProviderOut, summary="Get a provider")
def get_provider(request: Request, user: CurrentUser, provider_id: Id) -> ProviderOut:
    """One provider, with its category registrations (current and ended)."""
    _visible_provider(user, provider_id)
    with transaction(request.app.state.reader) as session:
        view = providers.get_provider(session, provider_id)
    return provider_out(view, full_bank=user.is_bureau)


@router.post("/providers", status_code=201, response_model=ProviderOut,
             summary="Register a provider")
def create_provider(
    request: Request, user: Operator, body: ProviderIn, key: IdemKey = None
) -> JSONResponse:
    """Register a provider (operators) and the categories it is registered for."""

    def effect(session: Session) -> Done:
        regs = tuple(r.registration() for r in body.categories)
        view = providers.create_provider(session, body.party(), status=body.status,
                                         categories=regs)
        return Done(201, provider_out(view, full_bank=True).model_dump(mode="json"), view.id)

    return mutate(request, user, action="providers.create", object_type="provider",
                  object_id=None, content=body.model_dump(mode="json"), key=key, effect=effect)


@router.post("/providers/{provider_id}/status", response_model=ProviderOut,
             summary="Change a provider's status")
def set_status(
    request: Request, user: Operator, provider_id: Id, body: StatusIn, key: IdemKey = None
) -> JSONResponse:
    """Set a provider active, suspended or blacklisted (operators)."""

    def effect(session: Session) -> Done:
        view = providers.set_provider_status(session, provider_id, body.status)
        return Done(200, provider_out(view, full_bank=True).model_dump(mode="json"), provider_id)

    return mutate(request, user, action=f"providers.status.{body.status}",
                  object_type="provider", object_id=provider_id,
                  content=body.model_dump(mode="json"), key=key, effect=effect)


@router.post("/providers/{provider_id}/categories", status_code=201, response_model=ProviderOut,
             summary="Register a provider for a category")
def add_category(
    request: Request, user: Operator, provider_id: Id, body: RegistrationIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Register the provider (备案) for a service category from a date (operators)."""

    def effect(session: Session) -> Done:
        view = providers.add_category(session, provider_id, body.category, body.registered_on)
        return Done(201, provider_out(view, full_bank=True).model_dump(mode="json"), provider_id)

    return mutate(request, user, action=f"providers.category.add.{body.category}",
                  object_type="provider", object_id=provider_id,
                  content=body.model_dump(mode="json"), key=key, effect=effect)


@router.delete("/providers/{provider_id}/categories/{category}", response_model=ProviderOut,
               summary="End a provider's registration for a category")
def remove_category(
    request: Request,
    user: Operator,
    provider_id: Id,
    category: Category,
    removed_on: Annotated[dt.date | None, Query(description="Default: today (Asia/Shanghai)")]
    = None,
    key: IdemKey = None,
) -> JSONResponse:
    """End the current registration on `removed_on`; its history is kept."""
    day = removed_on or dt.datetime.now(SHANGHAI).date()

    def effect(session: Session) -> Done:
        view = providers.remove_category(session, provider_id, category, day)
        return Done(200, provider_out(view, full_bank=True).model_dump(mode="json"), provider_id)

    return mutate(request, user, action=f"providers.category.remove.{category}",
                  object_type="provider", object_id=provider_id,
                  content={"removed_on": day.isoformat()}, key=key, effect=effect)


@router.post("/providers:import", response_model=ImportOut, summary="Import providers from CSV")
async def import_providers_csv(
    request: Request,
    user: Operator,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 (BOM or not) or GB18030")],
    key: IdemKey = None,
) -> JSONResponse:
    """All rows or none; identical registered rows are skipped; bad rows listed in `errors`."""
    data = await read_upload(file)

    def effect(session: Session) -> Done:
        result = import_providers(session, data)
        body = ImportOut(rows=result.rows, created=len(result.created), skipped=result.skipped,
                         created_ids=result.created)
        return Done(200, body.model_dump(mode="json"), None)

    return await run_in_threadpool(
        mutate, request, user, action="providers.import", object_type="import", object_id=None,
        content={"file_sha256": hashlib.sha256(data).hexdigest()}, key=key, effect=effect,
    )
