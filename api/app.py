"""The FastAPI application: `/api/v1`, OpenAPI at `/docs`, problem+json errors."""

from __future__ import annotations

import gc
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine

from api import console, docs_ui, metrics, problems
from api.auth import TokenSettings
from api.middleware import ServiceMiddleware
from api.mutations import WriteTurns
from api.problem_language import localized_detail
from api.routes import (
    applications,
    authorisations,
    award_publicity,
    awards,
    claims,
    firms,
    ledger,
    operations,
    payments,
    programs,
    providers,
    redemptions,
    reports,
    session,
    sign_in_locks,
    users,
    vouchers,
)
from ledger.core.config import secret_key, token_minutes
from ledger.core.db import is_sqlite, make_engine, make_sessionmaker
from ledger.registry.sign_in_throttle import ThrottlePolicy
from rules.loader import load_policies

PREFIX = "/api/v1"
# Every operation may answer with these; each is a problem+json body.
ERROR_STATUSES = {
    "400": "Refused by the domain",
    "401": "Not signed in, or the token is invalid or expired",
    "403": "The role may not do this",
    "404": "No such object (or not yours)",
    "409": "Conflict: exists already, or the idempotency key was used with another body",
    "422": "Invalid input; `errors` names each failing field or row",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Answers only some operations give: sign-in is throttled, and so is a password change, whose
# wrong current password counts as a failed sign-in (api.sign_in).
_LOCKED = "Too many failed sign-ins for this account or address: wait `Retry-After` seconds"
OPERATION_STATUSES = {
    ("post", f"{PREFIX}/auth/token"): {"429": _LOCKED},
    ("post", f"{PREFIX}/me/password"): {"429": _LOCKED},
}


def create_app(
    engine: Engine | None = None,
    *,
    url: str | None = None,
    key: str | None = None,
    minutes: int | None = None,
    throttle: ThrottlePolicy | None = None,
) -> FastAPI:
    """The app on `engine` (or a new engine on `url`, or the configured database)."""
    engine = engine or make_engine(url)
    app = FastAPI(
        title="voucher-ledger",
        version="1",
        summary="Innovation vouchers (科技创新券) and tiered awards: a double-entry ledger.",
        docs_url=None,  # served by api.docs_ui from local assets
        openapi_url="/openapi.json",
    )
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    # SQLite is a file in this process: small writes (api.mutations.mutate_soon) run on the
    # event loop, taking turns, with no network round trip to hold it up.
    app.state.embedded_database = is_sqlite(engine)
    app.state.write_turns = WriteTurns()
    app.state.reader = make_sessionmaker(engine, read_only=True)
    # Loaded once: a broken policy file stops the app at start, not at the first decision.
    app.state.policies = load_policies()
    app.state.token_settings = TokenSettings(key or secret_key(), minutes or token_minutes())
    app.state.throttle = throttle or ThrottlePolicy()
    problems.install(app)
    app.state.localize_detail = localized_detail
    docs_ui.install(app, "/openapi.json")
    for module in (session, sign_in_locks, firms, providers, users, operations, programs,
                   vouchers, applications, authorisations, redemptions, claims, payments,
                   ledger, reports, awards, award_publicity):
        app.include_router(module.router, prefix=PREFIX)
    app.include_router(metrics.router)
    console.install(app)
    app.add_middleware(ServiceMiddleware, docs_paths=docs_ui.PAGES,
                       docs_hashes=docs_ui.inline_script_hashes(app.title, "/openapi.json"))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema with every error response documented as problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = problems.Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name, sub in components["Problem"].pop("$defs", {}).items():
        components[name] = sub
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            statuses = ERROR_STATUSES | OPERATION_STATUSES.get((method, path), {})
            for status, description in statuses.items():
                responses[status] = {
                    "description": description,
                    "content": {problems.PROBLEM_JSON: {"schema": PROBLEM_REF}},
                }
    app.openapi_schema = schema
    return schema


def app_from_environment() -> FastAPI:
    """The app on the configured database: the factory `serve` gives uvicorn's workers."""
    app = create_app()
    # What is built by now (routes, models, schemas, policies, catalogues, templates) lives as
    # long as the process: frozen, the cycle collector's full passes no longer walk it (they
    # stalled every request in flight for 50–110 ms: docs/performance.md). Garbage first.
    gc.collect()
    gc.freeze()
    return app
