"""PDF reports over HTTP: the same renderer as `voucher-ledger report`."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.auth import CurrentUser
from ledger.core.db import is_sqlite, transaction
from ledger.core.paging import MAX_ID
from ledger.core.seal import seal_committed
from ledger.registry.users import UserView
from reports.catalogue import (
    check_kind,
    maker_name,
    party_scope,
    render_report,
    resolve_period,
)
from reports.fonts import report_font

router = APIRouter(tags=["reports"])
PartyId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PDF = {200: {"content": {"application/pdf": {}}, "description": "The report as a PDF"}}


@router.get("/reports/{kind}.pdf", response_class=Response, responses=PDF,
            summary="A PDF report: audit, trial-balance, firm-statement, provider-statement, "
                    "exceptions, award-publicity or certificate")
def get_report(
    request: Request,
    user: CurrentUser,
    kind: str,
    program: Annotated[str, Query(min_length=1, max_length=64, description="Ledger code")],
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    as_of: dt.date | None = None,
    firm_id: PartyId = None,
    provider_id: PartyId = None,
) -> Response:
    """Render the report now, from one snapshot of the ledger.

    Bureau roles read every kind; a firm its own firm-statement, a provider its own
    provider-statement (`firm_id` / `provider_id` name the party; theirs by default).
    """
    return report_pdf(request, user, kind, program, date_from, date_to, as_of, firm_id,
                      provider_id)


def report_pdf(request: Request, user: UserView, kind: str, program: str,
               date_from: dt.date | None, date_to: dt.date | None, as_of: dt.date | None,
               firm_id: int | None, provider_id: int | None) -> Response:
    """The report as a PDF download, rendered from one snapshot of the ledger, as `user` may
    see it (the JSON API and the console both answer with this)."""
    check_kind(kind)
    party_id = party_scope(user, kind, firm_id, provider_id)
    policies = request.app.state.policies
    # Every report states the head it covers: chain what is committed first.
    seal_committed(request.app.state.sessions)
    with transaction(request.app.state.reader) as session:
        if not is_sqlite(request.app.state.engine):
            # One snapshot for every query of the report (SQLite's read transaction is one).
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        period = resolve_period(session, kind, date_from, date_to, as_of)
        pdf = io.BytesIO()
        render_report(session, pdf, kind, programme=program, period=period,
                      policy_set=policies, made_by=maker_name(user), font=report_font(),
                      party_id=party_id)
    party = "" if party_id is None else f"-{party_id}"
    filename = f"{kind}-{program}{party}-{period.end.isoformat()}.pdf"
    return Response(pdf.getvalue(), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
