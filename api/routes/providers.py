"""Providers: the shared party routes (api/routes/parties.py) and their category registrations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.mutations import Done, mutate
from api.routes.parties import Operator, PartyRoutes, add_party_routes
from api.schemas import (
    Category,
    Id,
    IdempotencyKeyDoc,
    ProviderIn,
    ProviderOut,
    RegistrationIn,
    provider_out,
)
from ledger.core.acting import today
from ledger.registry import providers
from ledger.registry.party_import import import_providers

router = APIRouter(tags=["providers"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


def _create(session: Session, body: ProviderIn) -> providers.ProviderView:
    regs = tuple(r.registration() for r in body.categories)
    return providers.create_provider(session, body.party(), status=body.status, categories=regs)


def _filters(category: Category | None = None,
             city: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    return {"category": category, "city": city}


PROVIDER_ROUTES = PartyRoutes(
    noun="provider", body=ProviderIn, out=ProviderOut, to_out=provider_out,
    create=_create, get=providers.get_provider, set_status=providers.PROVIDERS.set_status,
    list_page=providers.list_providers, filters=_filters, import_csv=import_providers,
    set_bank=providers.PROVIDERS.set_bank_account,
    import_note="Categories are written category@YYYY-MM-DD;…",
)
add_party_routes(router, PROVIDER_ROUTES)


def _registered(request: Request, user: Any, provider_id: int, action: str,
                content: dict[str, object], change: Any, key: str | None,
                status: int) -> JSONResponse:
    def effect(session: Session) -> Done:
        view = change(session)
        return Done(status, provider_out(view, full_bank=True).model_dump(mode="json"),
                    provider_id)

    return mutate(request, user, action=action, object_type="provider", object_id=provider_id,
                  content=content, key=key, effect=effect)


@router.post("/providers/{provider_id}/categories", status_code=201, response_model=ProviderOut,
             summary="Register a provider for a category")
def add_category(
    request: Request, user: Operator, provider_id: Id, body: RegistrationIn,
    key: IdemKey = None,
) -> JSONResponse:
    """Register the provider (备案) for a service category from a date (operators)."""
    return _registered(
        request, user, provider_id, f"providers.category.add.{body.category}",
        body.model_dump(mode="json"),
        lambda s: providers.add_category(s, provider_id, body.category, body.registered_on),
        key, 201)


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
    day = removed_on or today()
    return _registered(
        request, user, provider_id, f"providers.category.remove.{category}",
        {"removed_on": day.isoformat()},
        lambda s: providers.remove_category(s, provider_id, category, day), key, 200)
