"""Firms and providers over HTTP: the routes both kinds share, written once.

Bureau staff read every party and operators register them, change their status and import
them from CSV; a firm or provider user reads only itself (anyone else gets 404, not 403). A
`PartyRoutes` names what differs (the body and output models, the list filters, the services)
and `add_party_routes` puts the five shared routes on a kind's router. The kind's own routes
(certifications, category registrations) stay in its module.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations, which
# name the kind's models through the closure, when they are defined.

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import CurrentUser, require
from api.mutations import Done, mutate
from api.schemas import (
    BankIn,
    IdempotencyKeyDoc,
    ImportOut,
    PageOut,
    Search,
    Status,
    StatusIn,
    page_out,
)
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, NotFound, PermissionDenied
from ledger.core.paging import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, MAX_OFFSET
from ledger.core.search import read_query
from ledger.registry.csv_files import MAX_BYTES
from ledger.registry.users import UserView

Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]


@dataclass(frozen=True)
class PartyRoutes:
    """What one kind of party (firm, provider) brings to the shared routes."""

    noun: str  # "firm" or "provider": the role bound to it, its path and its `<noun>_id`
    body: type[BaseModel]  # what an operator posts to register one
    out: type[BaseModel]  # what the API shows
    to_out: Callable[..., BaseModel]  # (view, full_bank=) -> out
    create: Callable[[Session, Any], Any]  # (session, body) -> view
    get: Callable[[Session, int], Any]
    set_status: Callable[[Session, int, str], Any]
    list_page: Callable[..., Any]  # (session, limit=, offset=, status=, only_id=, **filters)
    filters: Callable[..., dict[str, Any]]  # a dependency reading the kind's list filters
    import_csv: Callable[[Session, bytes], Any]  # -> ImportResult
    import_note: str  # what the kind's import does beyond the shared rules
    set_bank: Callable[[Session, int, str, str], Any]  # (session, id, bank, account) -> view

    @property
    def plural(self) -> str:
        return f"{self.noun}s"

    @property
    def id_name(self) -> str:
        return f"{self.noun}_id"


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded file's bytes, refused past the import size bound."""
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise InvalidInput("the file is too large", field="file")
    return data


def visible(user: UserView, kind: PartyRoutes, party_id: int) -> None:
    """Bureau staff see every party of the kind, a party's user only itself; else 404."""
    if user.is_bureau or (user.role == kind.noun and getattr(user, kind.id_name) == party_id):
        return
    raise NotFound(f"no {kind.noun} {party_id}", **{kind.id_name: party_id})


def add_party_routes(router: APIRouter, kind: PartyRoutes) -> None:
    """List, get, register, change status and import: the routes firms and providers share."""
    PartyId = Annotated[int, Path(ge=1, le=MAX_ID, alias=kind.id_name,
                                  description="The object's id")]
    Filters = Annotated[dict[str, Any], Depends(kind.filters)]

    def out(view: Any, user: UserView) -> dict[str, Any]:
        return kind.to_out(view, full_bank=user.is_bureau).model_dump(mode="json")

    @router.get(f"/{kind.plural}", response_model=PageOut[kind.out],
                summary=f"List {kind.plural}")
    def list_parties(
        request: Request,
        user: CurrentUser,
        filters: Filters,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        status: Status | None = None,
        q: Search = None,
    ) -> dict[str, object]:
        if not user.is_bureau and user.role != kind.noun:
            raise PermissionDenied(f"the {user.role} role may not list {kind.plural}")
        only = None if user.is_bureau else getattr(user, kind.id_name)
        with transaction(request.app.state.reader) as session:
            page = kind.list_page(session, limit=limit, offset=offset, status=status,
                                  only_id=only, q=read_query(q), **filters)
        return page_out(page, [kind.to_out(v, full_bank=user.is_bureau) for v in page.items])

    list_parties.__doc__ = (f"Bureau staff list every {kind.noun}; a {kind.noun} user gets a "
                            "page holding only itself. `q`: a prefix of the name or credit "
                            "code.")

    @router.get(f"/{kind.plural}/{{{kind.id_name}}}", response_model=kind.out,
                summary=f"Get a {kind.noun}")
    def get_party(request: Request, user: CurrentUser, party_id: PartyId) -> dict[str, Any]:
        visible(user, kind, party_id)
        with transaction(request.app.state.reader) as session:
            return out(kind.get(session, party_id), user)

    get_party.__doc__ = f"One {kind.noun}, with what it carries beside its identity."

    @router.post(f"/{kind.plural}", status_code=201, response_model=kind.out,
                 summary=f"Register a {kind.noun}")
    def create_party(request: Request, user: Operator, body: kind.body,  # type: ignore[name-defined]
                     key: IdemKey = None) -> JSONResponse:
        def effect(session: Session) -> Done:
            view = kind.create(session, body)
            return Done(201, out(view, user), view.id)

        return mutate(request, user, action=f"{kind.plural}.create", object_type=kind.noun,
                      object_id=None, content=body.model_dump(mode="json"), key=key,
                      effect=effect)

    create_party.__doc__ = (f"Register a {kind.noun} (operators); its credit code must be "
                            "valid and new.")

    @router.post(f"/{kind.plural}/{{{kind.id_name}}}/status", response_model=kind.out,
                 summary=f"Change a {kind.noun}'s status")
    def set_status(request: Request, user: Operator, party_id: PartyId, body: StatusIn,
                   key: IdemKey = None) -> JSONResponse:
        def effect(session: Session) -> Done:
            return Done(200, out(kind.set_status(session, party_id, body.status), user),
                        party_id, message=body.reason)

        return mutate(request, user, action=f"{kind.plural}.status.{body.status}",
                      object_type=kind.noun, object_id=party_id,
                      content=body.model_dump(mode="json"), key=key, effect=effect)

    set_status.__doc__ = f"Set a {kind.noun} active, suspended or blacklisted (operators)."

    @router.post(f"/{kind.plural}/{{{kind.id_name}}}/bank-account", response_model=kind.out,
                 summary=f"Correct a {kind.noun}'s bank account")
    def set_bank(request: Request, user: Operator, party_id: PartyId, body: BankIn,
                 key: IdemKey = None) -> JSONResponse:
        def effect(session: Session) -> Done:
            view = kind.set_bank(session, party_id, body.bank_name, body.bank_account)
            return Done(200, out(view, user), party_id)

        return mutate(request, user, action=f"{kind.plural}.bank_account",
                      object_type=kind.noun, object_id=party_id,
                      content=body.model_dump(mode="json"), key=key, effect=effect)

    set_bank.__doc__ = (f"Record a {kind.noun}'s corrected bank and account (operators): a "
                        "payment the bank returned is payable again once it differs.")

    @router.post(f"/{kind.plural}:import", response_model=ImportOut,
                 summary=f"Import {kind.plural} from CSV")
    async def import_csv(
        request: Request,
        user: Operator,
        file: Annotated[UploadFile, File(description="CSV, UTF-8 (BOM or not) or GB18030")],
        key: IdemKey = None,
    ) -> JSONResponse:
        data = await read_upload(file)

        def effect(session: Session) -> Done:
            result = kind.import_csv(session, data)
            body = ImportOut(rows=result.rows, created=len(result.created),
                             skipped=result.skipped, created_ids=result.created)
            return Done(200, body.model_dump(mode="json"), None)

        return await run_in_threadpool(
            mutate, request, user, action=f"{kind.plural}.import", object_type="import",
            object_id=None, content={"file_sha256": hashlib.sha256(data).hexdigest()}, key=key,
            effect=effect,
        )

    import_csv.__doc__ = ("All rows or none; identical registered rows are skipped; bad rows "
                          f"listed in `errors`. {kind.import_note}")
