"""PDF reports over HTTP: the same renderer as `voucher-ledger report`."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.auth import require
from ledger.db import is_sqlite, transaction
from ledger.users import UserView
from reports.catalogue import check_kind, render_report, resolve_period
from reports.fonts import report_font

router = APIRouter(tags=["reports"])
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
PDF = {200: {"content": {"application/pdf": {}}, "description": "The report as a PDF"}}


@router.get("/reports/{kind}.pdf", response_class=Response, responses=PDF,
            summary="A PDF report: certificate (完整性证明) or trial-balance (试算平衡表)")
def get_report(
    request: Request,
    user: Bureau,
    kind: str,
    program: Annotated[str, Query(min_length=1, max_length=64, description="Ledger code")],
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    as_of: dt.date | None = None,
) -> Response:
    """Render the report now, from one snapshot of the ledger (bureau roles)."""
    check_kind(kind)
    policies = request.app.state.policies
    with transaction(request.app.state.reader) as session:
        if not is_sqlite(request.app.state.engine):
            # One snapshot for every query of the report (SQLite's read transaction is one).
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        period = resolve_period(session, kind, date_from, date_to, as_of)
        pdf = io.BytesIO()
        render_report(session, pdf, kind, programme=program, period=period,
                      policy_set=policies, made_by=user.username, font=report_font())
    filename = f"{kind}-{program}-{period.end.isoformat()}.pdf"
    return Response(pdf.getvalue(), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
