"""Users: operators create firm and provider users; bureau staff accounts come from the CLI.

Keeping staff accounts off the API means no operator can mint an approver for themselves,
which would defeat maker-checker.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.auth import require
from api.mutations import Done, mutate
from api.schemas import Id, IdempotencyKeyDoc, JsonInt, PageOut, Strict, page_out
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.core.paging import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, MAX_OFFSET
from ledger.registry import users
from ledger.registry.users import UserView

router = APIRouter(tags=["users"])
Bureau = Annotated[UserView, Depends(require("operator", "approver", "auditor"))]
Operator = Annotated[UserView, Depends(require("operator"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description=IdempotencyKeyDoc)]
NoKey = Annotated[str | None, Header(alias="Idempotency-Key", description=(
    "Refused (422): a replay would have to store a password"))]


def refuse_key(key: str | None) -> None:
    """A request that makes or holds a password takes no idempotency key: refused rather
    than ignored, since a client sending one counts on a replay."""
    if key is not None:
        raise InvalidInput("this request takes no idempotency key: a replay would have to "
                           "store a password", field="Idempotency-Key")
Role = Literal["firm", "provider", "operator", "approver", "auditor"]


class UserIn(Strict):
    """A firm or provider user to create; `password` is hashed (Argon2) and never shown."""

    username: Annotated[str, Field(min_length=3, max_length=64)]
    password: Annotated[str, Field(min_length=10, max_length=256)]
    role: Literal["firm", "provider"]
    display_name: Annotated[str, Field(max_length=100)] = ""
    firm_id: Annotated[JsonInt | None, Field(ge=1, le=MAX_ID)] = None
    provider_id: Annotated[JsonInt | None, Field(ge=1, le=MAX_ID)] = None


class UserOut(BaseModel):
    """A user (never the password or its hash)."""

    id: int
    username: str
    display_name: str
    role: str
    firm_id: int | None
    provider_id: int | None
    active: bool
    must_change_password: bool


def user_out(view: UserView) -> UserOut:
    """A user as the API shows it."""
    return UserOut(id=view.id, username=view.username, display_name=view.display_name,
                   role=view.role, firm_id=view.firm_id, provider_id=view.provider_id,
                   active=view.active, must_change_password=view.must_change_password)


class ResetOut(BaseModel):
    """A reset's one-time password: shown once, to hand to the user; it must be changed at
    the next sign-in."""

    username: str
    one_time_password: str


@router.get("/users", response_model=PageOut[UserOut], summary="List users")
def list_users(
    request: Request,
    user: Bureau,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    role: Role | None = None,
) -> dict[str, object]:
    """Every user, for bureau staff."""
    with transaction(request.app.state.reader) as session:
        page = users.list_users(session, limit=limit, offset=offset, role=role)
    return page_out(page, [user_out(v) for v in page.items])


@router.post("/users", status_code=201, response_model=UserOut, summary="Create a user")
def create_user(
    request: Request, user: Operator, body: UserIn, key: IdemKey = None
) -> JSONResponse:
    """Create a firm user bound to a firm or a provider user bound to a provider (operators)."""

    def effect(session: Session) -> Done:
        view = users.create_user(session, username=body.username, password=body.password,
                                 role=body.role, display_name=body.display_name,
                                 firm_id=body.firm_id, provider_id=body.provider_id)
        return Done(201, user_out(view).model_dump(mode="json"), view.id)

    # The idempotency store keeps a hash of the request; the password enters it only keyed with
    # the server's secret, so the stored hash cannot be brute-forced offline.
    secret = request.app.state.token_settings.key.encode()
    content = {**body.model_dump(mode="json", exclude={"password"}),
               "password": hmac.new(secret, body.password.encode(), hashlib.sha256).hexdigest()}
    return mutate(request, user, action=f"users.create.{body.role}", object_type="user",
                  object_id=None, content=content, key=key, effect=effect)


@router.post("/users/{user_id}/reset-password", response_model=ResetOut,
             summary="Reset a firm's or provider's password")
def reset_password(request: Request, user: Operator, user_id: Id,
                   key: NoKey = None) -> JSONResponse:
    """Give a firm or provider user a one-time password (operators); the user must change it
    at the next sign-in. A staff password is reset only at the command line (403
    `staff_reset_refused`). No idempotency key: a replay would have to store the password."""
    refuse_key(key)

    def effect(session: Session) -> Done:
        target = users.get_user(session, user_id)
        view, password = users.reset_password(session, target.username)
        return Done(200, ResetOut(username=view.username,
                                  one_time_password=password).model_dump(mode="json"), view.id)

    return mutate(request, user, action="users.reset_password", object_type="user",
                  object_id=user_id, content={}, key=None, effect=effect)
