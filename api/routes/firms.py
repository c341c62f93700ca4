"""Firms: the shared party routes (api/routes/parties.py) and the firm's certifications."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.mutations import Done, mutate
from api.routes.parties import Operator, PartyRoutes, add_party_routes
from api.schemas import CertificationIn, FirmIn, FirmOut, Id, IdempotencyKeyDoc, firm_out
from ledger.registry import firms
from ledger.registry.party_import import import_firms

router = APIRouter(tags=["firms"])
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


def _create(session: Session, body: FirmIn) -> firms.FirmView:
    certs = tuple(c.certification() for c in body.certifications)
    return firms.create_firm(session, body.party(), status=body.status, certifications=certs)


def _filters(city: Annotated[str | None, Query(max_length=16)] = None) -> dict[str, Any]:
    return {"city": city}


FIRM_ROUTES = PartyRoutes(
    noun="firm", body=FirmIn, out=FirmOut, to_out=firm_out, create=_create,
    get=firms.get_firm, set_status=firms.FIRMS.set_status, list_page=firms.list_firms,
    filters=_filters, import_csv=import_firms,
    set_bank=firms.FIRMS.set_bank_account,
    import_note="Certifications are written kind@YYYY-MM-DD;…",
)
add_party_routes(router, FIRM_ROUTES)


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
