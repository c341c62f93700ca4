"""Redemptions: a provider books, completes or cancels; the firm confirms; approvers claw back."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import CurrentUser, require
from api.mutations import Done, mutate_soon
from api.routes.programs import by
from api.schemas import Id, IdempotencyKeyDoc, PageOut, Search, page_out
from api.voucher_schemas import (
    BookingIn,
    CompleteIn,
    DisputeIn,
    ReasonIn,
    RedemptionOut,
    fen,
    redemption_out,
)
from ledger.core.db import transaction
from ledger.core.errors import PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.core.search import read_query
from ledger.registry.users import UserView
from ledger.vouchers import clawbacks, redemptions

router = APIRouter(tags=["redemptions"])
ProviderUser = Annotated[UserView, Depends(require("provider"))]
FirmUser = Annotated[UserView, Depends(require("firm"))]
Approver = Annotated[UserView, Depends(require("approver"))]
Canceller = Annotated[UserView, Depends(require("provider", "operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
RedemptionStatus = Literal["booked", "completed", "cancelled", "clawed_back"]


def bound(user: UserView, attribute: str) -> int:
    """The firm or provider id the user is bound to, or PermissionDenied."""
    value = getattr(user, attribute)
    if value is None:
        raise PermissionDenied(f"user {user.username} is bound to no {attribute[:-3]}")
    return int(value)


def _scope(user: UserView) -> dict[str, int | None]:
    """Bureau staff see all; a provider or firm only its own."""
    if user.is_bureau:
        return {}
    if user.role == "provider":
        return {"provider_id": bound(user, "provider_id")}
    return {"firm_id": bound(user, "firm_id")}


@router.post("/redemptions", status_code=201, response_model=RedemptionOut,
             summary="Book a service against a voucher")
async def book(request: Request, user: ProviderUser, body: BookingIn, key: IdemKey = None
         ) -> JSONResponse:
    """With the firm's authorisation (its one-time code, for this provider and voucher), the
    policy decides the subsidy and the ledger holds it: `P:provider:S` ← `P:voucher:V`.
    Without one the voucher is as unknown as one that does not exist (404); a used, withdrawn,
    expired (409) or another provider's (403) authorisation is refused and nothing is held.
    A policy refusal is a problem carrying the decision's code and trace."""

    def effect(session: Session) -> Done:
        provider_id = bound(user, "provider_id")
        view = redemptions.book(session, voucher=body.voucher,
                                authorisation=body.authorisation, provider_id=provider_id,
                                category=body.category, cost_fen=fen(body.cost, "cost"),
                                description=body.description, by=by(user))
        return Done(201, redemption_out(view), view.id)

    return await mutate_soon(
        request, user, action="redemptions.book", object_type="redemption", object_id=None,
        content=body.model_dump(mode="json"), key=key, effect=effect,
    )


@router.get("/redemptions", response_model=PageOut[RedemptionOut], summary="List redemptions")
def list_redemptions(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    status: RedemptionStatus | None = None,
    q: Search = None,
) -> dict[str, object]:
    """Bureau staff see every redemption; a provider or a firm its own. `q`: a prefix of the
    voucher's serial, or of the firm's or the provider's name or credit code."""
    with transaction(request.app.state.reader) as session:
        page = redemptions.list_redemptions(session, limit=limit, offset=offset, status=status,
                                            q=read_query(q), **_scope(user))
    return page_out(page, [redemption_out(v) for v in page.items])


@router.get("/redemptions/{redemption_id}", response_model=RedemptionOut,
            summary="Get a redemption")
def get_redemption(request: Request, user: CurrentUser, redemption_id: Id) -> dict[str, object]:
    """One redemption with the policy decision that allowed it."""
    with transaction(request.app.state.reader) as session:
        return redemption_out(redemptions.get_redemption(session, redemption_id,
                                                         **_scope(user)))


@router.post("/redemptions/{redemption_id}/complete", response_model=RedemptionOut,
             summary="Complete a booked service")
async def complete(request: Request, user: ProviderUser, redemption_id: Id, body: CompleteIn,
             key: IdemKey = None) -> JSONResponse:
    """Post the hold in full, or `amount` of it; the rest returns to the voucher."""

    def effect(session: Session) -> Done:
        provider_id = bound(user, "provider_id")
        amount = None if body.amount is None else fen(body.amount)
        view = redemptions.complete(session, redemption_id, provider_id=provider_id,
                                    by=by(user), amount_fen=amount)
        return Done(200, redemption_out(view), redemption_id)

    return await mutate_soon(
        request, user, action="redemptions.complete", object_type="redemption",
        object_id=redemption_id, content=body.model_dump(mode="json"), key=key, effect=effect,
    )


@router.post("/redemptions/{redemption_id}/cancel", response_model=RedemptionOut,
             summary="Cancel a booked service")
async def cancel(request: Request, user: Canceller, redemption_id: Id, key: IdemKey = None
           ) -> JSONResponse:
    """Void the hold (its provider, or an operator)."""

    def effect(session: Session) -> Done:
        provider_id = None if user.role == "operator" else bound(user, "provider_id")
        view = redemptions.cancel(session, redemption_id, by=by(user), provider_id=provider_id)
        return Done(200, redemption_out(view), redemption_id)

    return await mutate_soon(
        request, user, action="redemptions.cancel", object_type="redemption",
        object_id=redemption_id, content={}, key=key, effect=effect,
    )


@router.post("/redemptions/{redemption_id}/confirm", response_model=RedemptionOut,
             summary="The firm confirms completion")
async def confirm(request: Request, user: FirmUser, redemption_id: Id, key: IdemKey = None
            ) -> JSONResponse:
    """Both sides agree the service was delivered before a claim may be filed."""

    def effect(session: Session) -> Done:
        firm_id = bound(user, "firm_id")
        view = redemptions.confirm(session, redemption_id, firm_id=firm_id, by=by(user))
        return Done(200, redemption_out(view), redemption_id)

    return await mutate_soon(
        request, user, action="redemptions.confirm", object_type="redemption",
        object_id=redemption_id, content={}, key=key, effect=effect,
    )


@router.post("/redemptions/{redemption_id}/dispute", response_model=RedemptionOut,
             summary="The firm disputes a completion")
async def dispute(request: Request, user: FirmUser, redemption_id: Id, body: DisputeIn,
            key: IdemKey = None) -> JSONResponse:
    """Instead of confirming: the service was not delivered as booked; no claim until the firm
    confirms."""

    def effect(session: Session) -> Done:
        firm_id = bound(user, "firm_id")
        view = redemptions.dispute(session, redemption_id, firm_id=firm_id, reason=body.reason,
                                   by=by(user))
        return Done(200, redemption_out(view), redemption_id)

    return await mutate_soon(
        request, user, action="redemptions.dispute", object_type="redemption",
        object_id=redemption_id, content=body.model_dump(), key=key, effect=effect,
    )


@router.post("/redemptions/{redemption_id}/clawback", response_model=RedemptionOut,
             summary="Claw back a redemption")
async def clawback(request: Request, user: Approver, redemption_id: Id, body: ReasonIn,
             key: IdemKey = None) -> JSONResponse:
    """Reverse the completion with a linked entry, once; if already paid, the provider owes
    the amount (`P:receivable:S`)."""

    def effect(session: Session) -> Done:
        view = clawbacks.clawback(session, redemption_id, by=by(user), reason=body.reason)
        return Done(200, redemption_out(view), redemption_id)

    return await mutate_soon(
        request, user, action="redemptions.clawback", object_type="redemption",
        object_id=redemption_id, content=body.model_dump(mode="json"), key=key, effect=effect,
    )
