"""The web console: server-rendered pages at `/`, on the same services as the JSON API.

`install(app)` mounts the static files and every page module listed in PAGES. To add pages,
write a module under `api/console/pages/` with a `router = console_router(...)` and append
it to PAGES (see docs/console.md).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from api.console.pages import (
    account,
    applications,
    approver,
    auditor,
    award_publicity,
    firm,
    firm_authorisations,
    operator,
    operator_parties,
    operator_payments,
    operator_users,
    provider,
    reports,
)
from api.console.web import STATIC

# Page modules in menu order; each exposes `router`.
PAGES = (account, firm, firm_authorisations, applications, provider, operator,
         operator_parties, operator_payments, operator_users, award_publicity, approver, auditor,
         reports)
# Where the stylesheet and scripts are served.
ASSETS = "/assets"


def console_routes() -> list[APIRoute]:
    """Every console route (path and methods), from the page modules."""
    return [r for module in PAGES for r in module.router.routes if isinstance(r, APIRoute)]


def install(app: FastAPI, *, strict_i18n: bool = False) -> None:
    """Serve the console on `app`; `strict_i18n` makes a missing translation an error."""
    app.state.console_strict_i18n = strict_i18n
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="console-static")
    for module in PAGES:
        app.include_router(module.router)
