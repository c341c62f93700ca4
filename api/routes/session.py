"""Sign-in (`auth/token`), the signed-in user (`me`) and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import text

from api.auth import CurrentUser, issue_token
from api.problems import AuthError
from api.routes.users import UserOut, user_out
from ledger.core.db import transaction
from ledger.registry.users import authenticate

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
    """OAuth2 password flow: a username and password for a short-lived bearer token (JWT)."""
    with transaction(request.app.state.reader) as session:
        user = authenticate(session, form.username, form.password)
    if user is None:
        raise AuthError("wrong username or password")
    settings = request.app.state.token_settings
    return TokenOut(access_token=issue_token(settings, user), token_type="bearer",
                    expires_in=settings.minutes * 60)


@router.get("/me", response_model=UserOut, tags=["auth"], summary="The signed-in user")
def me(user: CurrentUser) -> UserOut:
    """Who the token belongs to: role and the firm or provider it is bound to."""
    return user_out(user)


@router.get("/health", response_model=HealthOut, tags=["health"], summary="Health check")
def health(request: Request) -> HealthOut:
    """200 when the service and its database answer."""
    with transaction(request.app.state.reader) as session:
        session.execute(text("SELECT 1"))
    return HealthOut(status="ok", database="ok")
