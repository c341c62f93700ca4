"""Sign-in (`auth/token`), the signed-in user (`me`), the health and readiness checks."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.auth import SignedIn, issue_token, subject
from api.mutations import Done, mutate
from api.problems import AuthError, problem
from api.routes.users import NoKey, UserOut, refuse_key, user_out
from api.schemas import Strict
from api.sign_in import (
    change_own_password,
    check_sign_in,
    count_wrong_password,
    end_own_session,
    refuse_while_locked,
)
from ledger.core.db import transaction
from ledger.core.errors import DomainError
from ledger.core.migrations import schema_problem
from rules.loader import SHIPPED_POLICIES, check_policies

router = APIRouter()


class TokenOut(BaseModel):
    """An OAuth2 bearer token and its lifetime in seconds."""

    access_token: str
    token_type: str
    expires_in: int


class HealthOut(BaseModel):
    """The service answers and its database too."""

    status: str
    database: str


@router.post("/auth/token", response_model=TokenOut, tags=["auth"], summary="Sign in")
def token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    """OAuth2 password flow: a username and password for a short-lived bearer token (JWT).
    Failed sign-ins are throttled per account and per address: 429 with `Retry-After`."""
    user = check_sign_in(request, form.username, form.password, "api")
    if user is None:
        raise AuthError("wrong username or password")
    settings = request.app.state.token_settings
    return TokenOut(access_token=issue_token(settings, user), token_type="bearer",
                    expires_in=settings.minutes * 60)


class SignedOutOut(BaseModel):
    """What a sign-out ended: the token that sent it, or every session of the user (a token
    from before token ids, or more than 32 tokens of the user signed out at once)."""

    ended: Literal["this_token", "every_session"]


@router.post("/auth/sign-out", response_model=SignedOutOut, tags=["auth"], summary="Sign out")
def sign_out(request: Request, user: SignedIn) -> JSONResponse:
    """End the token sending this request before it expires: from now on it gets 401. The
    user's other tokens keep working; sign in again for a new one. Takes no body."""

    def effect(session: Session) -> Done:
        only = end_own_session(request, session, user)
        return Done(200, {"ended": "this_token" if only else "every_session"}, subject(user))

    return mutate(request, user, action="users.sign_out", object_type="user",
                  object_id=subject(user), content={}, key=None, effect=effect)


@router.get("/me", response_model=UserOut, tags=["auth"], summary="The signed-in user")
def me(user: SignedIn) -> UserOut:
    """Who the token belongs to: role, the firm or provider it is bound to, and whether the
    password must be changed before anything else."""
    return user_out(user)


class PasswordIn(Strict):
    """The current password and the new one (10–256 characters)."""

    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Annotated[str, Field(min_length=10, max_length=256)]


@router.post("/me/password", response_model=UserOut, tags=["auth"],
             summary="Change your password")
def change_password(request: Request, user: SignedIn, body: PasswordIn,
                    key: NoKey = None) -> JSONResponse:
    """Every user changes its own password, naming the current one (also a one-time one,
    which this ends). The token sending this request keeps working; every other token the
    user was given before is refused from now on (401): sign in again there. No idempotency
    key: the request holds passwords, kept nowhere."""
    refuse_key(key)

    def effect(session: Session) -> Done:
        refuse_while_locked(request, session, user.username)
        view = change_own_password(request, session, user, current=body.current_password,
                                   new=body.new_password)
        return Done(200, user_out(view).model_dump(mode="json"), view.id)

    try:
        return mutate(request, user, action="users.change_password", object_type="user",
                      object_id=subject(user), content={}, key=None, effect=effect)
    except DomainError as exc:
        count_wrong_password(request, exc, user)
        raise


@router.get("/health", response_model=HealthOut, tags=["health"], summary="Health check")
def health(request: Request) -> HealthOut:
    """200 when the service and its database answer."""
    with transaction(request.app.state.reader) as session:
        session.execute(text("SELECT 1"))
    return HealthOut(status="ok", database="ok")


class ReadyOut(BaseModel):
    """Each check the service must pass before it takes traffic."""

    status: str
    database: str
    migrations: str
    policies: str


@router.get("/ready", response_model=ReadyOut, tags=["health"], summary="Readiness check",
            responses={503: {"description": "Not ready: `errors` names each failing check"}})
def ready(request: Request) -> JSONResponse:
    """200 when the database answers, its schema is at the code's head and the policy files
    load; else 503 naming each failing check (a load balancer keeps traffic away)."""
    failing: list[dict[str, str]] = []
    try:
        with transaction(request.app.state.reader) as session:
            session.execute(text("SELECT 1"))
        behind = schema_problem(request.app.state.engine)
        if behind is not None:
            failing.append({"field": "migrations",
                            "reason": f"{behind}: run `voucher-ledger db upgrade`"})
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        failing.append({"field": "database", "reason": reason})
    _, policy_errors = check_policies([SHIPPED_POLICIES])
    failing += [{"field": "policies", "reason": f"{e.path}: {e.key}: {e.reason}"}
                for e in policy_errors[:5]]
    if failing:
        first = failing[0]
        return problem(503, "not_ready", f"{first['field']}: {first['reason']}", errors=failing)
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "ok",
                         "policies": "ok"})
