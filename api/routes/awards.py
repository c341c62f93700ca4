"""Awards: a firm (or an operator for it) applies; an approver (not the recorder) decides;
operators claw back. Payment goes through the payment batches (`POST /payments`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import CurrentUser, require
from api.award_schemas import (
    AwardIn,
    AwardOut,
    AwardStatus,
    ClawbackIn,
    Tier,
    TotalsOut,
    award_out,
    totals_out,
)
from api.mutations import Done, mutate
from api.routes.programs import by
from api.schemas import Id, IdempotencyKeyDoc, PageOut, Search, page_out
from api.voucher_schemas import ReasonIn, fen
from ledger.awards import award as awards
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.core.search import read_query
from ledger.registry.users import UserView

router = APIRouter(tags=["awards"])
Applicant = Annotated[UserView, Depends(require("operator", "firm"))]
Approver = Annotated[UserView, Depends(require("approver"))]
Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
Program = Annotated[str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                      description="The award programme's code")]
Region = Annotated[str | None, Query(min_length=1, max_length=16,
                                     description="The firm's city, e.g. 沈阳 or 沈阳市")]
Year = Annotated[int | None, Query(ge=2000, le=2100,
                                   description="The certification's calendar year")]


def _firm_scope(user: UserView) -> int | None:
    """None for bureau staff (every award); the firm's id for a firm; others are refused."""
    if user.is_bureau:
        return None
    if user.role == "firm" and user.firm_id is not None:
        return user.firm_id
    raise PermissionDenied(f"the {user.role} role may not read awards")


def _one_scope(user: UserView) -> int | None:
    """As `_firm_scope`, but an award that is not the caller's is 404, never 403."""
    if user.is_bureau or (user.role == "firm" and user.firm_id is not None):
        return _firm_scope(user)
    return -1  # matches no firm: NotFound


def _applicant(user: UserView, body: AwardIn) -> int:
    """The firm applying: a firm user applies for itself only; an operator names the firm."""
    if user.role == "firm":
        own = _firm_scope(user)
        if body.firm_id is not None and body.firm_id != own:
            raise NotFound(f"no firm {body.firm_id}", firm_id=body.firm_id)
        if body.applied_on is not None:
            raise PermissionDenied("applied_on: only the bureau records a paper application")
        assert own is not None
        return own
    if body.firm_id is None:
        raise InvalidInput("firm_id: name the firm the application is for", field="firm_id")
    return body.firm_id


@router.post("/awards", status_code=201, response_model=AwardOut, summary="Apply for an award")
def apply(request: Request, user: Applicant, body: AwardIn, key: IdemKey = None
          ) -> JSONResponse:
    """A firm applies for itself, or an operator records an application for a firm. The
    policy decides eligibility and the amount; the response carries its `decision` with the
    trace. A refusal is 422 with the policy's `code` and the same `decision`."""

    def effect(session: Session) -> Done:
        requested = None if body.requested is None else fen(body.requested, "requested")
        view = awards.apply_award(
            session, body.program, firm_id=_applicant(user, body), tier=body.tier,
            level=body.level, document_no=body.document_no, certified_on=body.certified_on,
            by=by(user), on=body.applied_on, requested_fen=requested,
            policy_set=request.app.state.policies)
        return Done(201, award_out(view), view.id)

    return mutate(request, user, action="awards.apply", object_type="award", object_id=None,
                  content=body.model_dump(mode="json"), key=key, effect=effect)


@router.get("/awards", response_model=PageOut[AwardOut], summary="List awards")
def list_awards(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    program: Program = None,
    tier: Tier | None = None,
    status: AwardStatus | None = None,
    region: Region = None,
    year: Year = None,
    q: Search = None,
) -> dict[str, object]:
    """Awards newest first (the approver's queue: `status=applied`); a firm sees its own.
    `q`: a prefix of the firm's name or credit code."""
    scope = _firm_scope(user)
    with transaction(request.app.state.reader) as session:
        page = awards.list_awards(session, limit=limit, offset=offset, programme=program,
                                  tier=tier, status=status, city=region, year=year,
                                  firm_id=scope, q=read_query(q))
    return page_out(page, [award_out(v) for v in page.items])


@router.get("/awards/totals", response_model=TotalsOut, summary="Award totals by tier")
def totals(
    request: Request,
    user: CurrentUser,
    program: Program = None,
    tier: Tier | None = None,
    status: AwardStatus | None = None,
    region: Region = None,
    year: Year = None,
) -> dict[str, object]:
    """Count and amount per tier under the list's filters, summed in SQL; a firm its own."""
    scope = _firm_scope(user)
    with transaction(request.app.state.reader) as session:
        return totals_out(awards.totals_by_tier(session, programme=program, tier=tier,
                                                status=status, city=region, year=year,
                                                firm_id=scope))


@router.get("/awards/{award_id}", response_model=AwardOut, summary="Get an award")
def get_award(request: Request, user: CurrentUser, award_id: Id) -> dict[str, object]:
    """One award with its decision and trace."""
    scope = _one_scope(user)
    with transaction(request.app.state.reader) as session:
        return award_out(awards.get_award(session, award_id, firm_id=scope))


@router.post("/awards/{award_id}/approve", response_model=AwardOut, summary="Approve an award")
def approve(request: Request, user: Approver, award_id: Id, body: ReasonIn,
            key: IdemKey = None) -> JSONResponse:
    """Approve (never by whoever recorded the application): `P:award:F` ← `P:budget`."""

    def effect(session: Session) -> Done:
        view = awards.approve_award(session, award_id, by=by(user), reason=body.reason)
        return Done(200, award_out(view), award_id)

    return mutate(request, user, action="awards.approve", object_type="award",
                  object_id=award_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.post("/awards/{award_id}/reject", response_model=AwardOut, summary="Reject an award")
def reject(request: Request, user: Approver, award_id: Id, body: ReasonIn,
           key: IdemKey = None) -> JSONResponse:
    """Reject with a reason (never by whoever recorded the application); nothing is posted."""

    def effect(session: Session) -> Done:
        view = awards.reject_award(session, award_id, by=by(user), reason=body.reason)
        return Done(200, award_out(view), award_id)

    return mutate(request, user, action="awards.reject", object_type="award",
                  object_id=award_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)


@router.post("/awards/{award_id}/clawback", response_model=AwardOut,
             summary="Claw back an award")
def clawback(request: Request, user: Operator, award_id: Id, body: ClawbackIn,
             key: IdemKey = None) -> JSONResponse:
    """Claw back an approved or paid award (certification revoked), once, by a reversal
    linked to its approval; a paid award leaves a receivable from the firm. Not while the
    award is in an open payment batch, and not by whoever recorded the application."""

    def effect(session: Session) -> Done:
        view = awards.clawback_award(session, award_id, by=by(user), reason=body.reason)
        return Done(200, award_out(view), award_id)

    return mutate(request, user, action="awards.clawback", object_type="award",
                  object_id=award_id, content=body.model_dump(mode="json"), key=key,
                  effect=effect)
