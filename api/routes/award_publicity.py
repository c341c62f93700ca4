"""公示 of awards: an operator publishes approved awards of a programme as a list for the
policy's period and records objections; an approver (not the recorder) decides each once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import require
from api.award_schemas import (
    DecisionIn,
    ObjectionIn,
    ObjectionOut,
    PublicationOut,
    PublishIn,
    objection_out,
    publication_out,
)
from api.mutations import Done, mutate
from api.routes.programs import by
from api.schemas import Id, IdempotencyKeyDoc, PageOut, page_out
from ledger.awards import publicity
from ledger.core.db import transaction
from ledger.core.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from ledger.registry.users import UserView

router = APIRouter(tags=["awards"])
Approver = Annotated[UserView, Depends(require("approver"))]
Operator = Annotated[UserView, Depends(require("operator"))]
# Objections name who raised them: bureau staff only (the public page shows the list alone).
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
Program = Annotated[str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
                                      description="The award programme's code")]


@router.post("/award-publications", status_code=201, response_model=PublicationOut,
             summary="Publish approved awards (公示)")
def publish(request: Request, user: Operator, body: PublishIn, key: IdemKey = None
            ) -> JSONResponse:
    """Publish approved awards of the programme as a list starting today; the end date
    follows the award policy's `publicity` rule. Until it has passed (and while an objection
    is pending) the awards are not payable."""

    def effect(session: Session) -> Done:
        view = publicity.publish_awards(session, body.program, by=by(user),
                                        award_ids=body.award_ids,
                                        policy_set=request.app.state.policies)
        return Done(201, publication_out(view), view.id)

    return mutate(request, user, action="awards.publish", object_type="award_publication",
                  object_id=None, content=body.model_dump(mode="json"), key=key, effect=effect)


@router.get("/award-publications", response_model=PageOut[PublicationOut],
            summary="List 公示 publications")
def list_publications(
    request: Request,
    user: Bureau,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    program: Program = None,
) -> dict[str, object]:
    """Publications newest first, with their awards and objections."""
    with transaction(request.app.state.reader) as session:
        page = publicity.list_publications(session, limit=limit, offset=offset,
                                           programme=program)
    return page_out(page, [publication_out(p) for p in page.items])


@router.get("/award-publications/{publication_id}", response_model=PublicationOut,
            summary="Get a 公示 publication")
def get_publication(request: Request, user: Bureau, publication_id: Id) -> dict[str, object]:
    """One publication with its awards and objections."""
    with transaction(request.app.state.reader) as session:
        return publication_out(publicity.get_publication(session, publication_id))


@router.post("/award-publications/{publication_id}/objections", status_code=201,
             response_model=ObjectionOut, summary="Record an objection")
def record_objection(request: Request, user: Operator, publication_id: Id, body: ObjectionIn,
                     key: IdemKey = None) -> JSONResponse:
    """Record an objection to an award of the list, raised on a day inside its period."""

    def effect(session: Session) -> Done:
        view = publicity.record_objection(
            session, publication_id, award_id=body.award_id, raised_by=body.raised_by,
            text=body.text, by=by(user), on=body.raised_on)
        return Done(201, objection_out(view), view.id)

    return mutate(request, user, action="awards.object", object_type="award_objection",
                  object_id=None, content=body.model_dump(mode="json"), key=key, effect=effect)


@router.post("/award-objections/{objection_id}/decide", response_model=ObjectionOut,
             summary="Decide an objection")
def decide(request: Request, user: Approver, objection_id: Id, body: DecisionIn,
           key: IdemKey = None) -> JSONResponse:
    """Decide a pending objection once, never by whoever recorded it: `upheld` rejects the
    award by a reversal linked to its approval entry; `dismissed` leaves it approved."""

    def effect(session: Session) -> Done:
        view, _ = publicity.decide_objection(session, objection_id, decision=body.decision,
                                             reason=body.reason, by=by(user))
        return Done(200, objection_out(view), objection_id)

    return mutate(request, user, action="awards.decide_objection",
                  object_type="award_objection", object_id=objection_id,
                  content=body.model_dump(mode="json"), key=key, effect=effect)
