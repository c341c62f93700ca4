"""Report PDFs in the console: the same renderer and the same rules as the API's
`/api/v1/reports/{kind}.pdf` (bureau roles any report; a firm or a provider only its own
statement, another party's is 404), signed in by the console's cookie."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from api.console.pages.operator import parse_day
from api.console.session import signed_in
from api.console.web import console_router
from api.routes.reports import report_pdf
from ledger.core.errors import InvalidInput
from ledger.core.paging import MAX_ID
from ledger.registry.users import UserView

router = console_router("/reports")
SignedIn = Annotated[UserView, Depends(signed_in())]


def _day(value: str, name: str) -> dt.date | None:
    return parse_day(value.strip(), name) if value.strip() else None


def _party(value: str, name: str) -> int | None:
    """A party id from the form (empty: none, i.e. the user's own)."""
    text = value.strip()
    if not text:
        return None
    if not text.isdecimal() or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"{name}: a record number", field=name)
    return int(text)


@router.get("/{kind}.pdf")
def report(request: Request, user: SignedIn, kind: str, program: str = "",
           firm_id: str = "", provider_id: str = "") -> Response:
    """A report as PDF (`program`, `from`, `to`; `firm_id` / `provider_id` for statements).

    Empty form fields mean "not given" (a plain GET form sends them all).
    """
    if not program.strip() or len(program) > 64:
        raise InvalidInput("program: the programme's code", field="program")
    params = request.query_params  # `from` is a Python keyword: read the dates directly
    return report_pdf(request, user, kind, program.strip(), _day(params.get("from", ""), "from"),
                      _day(params.get("to", ""), "to"), None, _party(firm_id, "firm_id"),
                      _party(provider_id, "provider_id"))
