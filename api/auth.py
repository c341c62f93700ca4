"""Sign-in tokens (JWT, HS256 only) and the dependencies that authenticate and authorise."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from jose import JWTError, jwt

from api.problems import AuthError
from ledger.core import oplog
from ledger.core.db import transaction
from ledger.core.errors import NotFound, PermissionDenied
from ledger.registry.users import UserView, get_user

# One pinned algorithm: a token naming any other (`none`, RS256, ES256 …) is refused.
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "role")
TOKEN_URL = "/api/v1/auth/token"
# A user id: a positive 64-bit integer, written in ASCII digits.
_SUBJECT = re.compile(r"[1-9][0-9]{0,17}")

oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


@dataclass(frozen=True)
class TokenSettings:
    """The signing key and the lifetime of a token."""

    key: str
    minutes: int


def issue_token(settings: TokenSettings, user: UserView, now: datetime | None = None) -> str:
    """A signed token naming the user (`sub`) and role, valid for `settings.minutes`."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=settings.minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.key, algorithm=ALGORITHM)


def read_token(settings: TokenSettings, token: str) -> dict[str, Any]:
    """The token's claims once its signature, algorithm, expiry and required claims check out."""
    try:
        claims = jwt.decode(
            token,
            settings.key,
            algorithms=[ALGORITHM],
            options={f"require_{c}": True for c in ("exp", "iat", "sub")},
        )
    except JWTError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    for claim in REQUIRED_CLAIMS:
        if claim not in claims:
            raise AuthError(f"invalid token: the {claim!r} claim is missing")
    if not isinstance(claims["sub"], str) or not _SUBJECT.fullmatch(claims["sub"]):
        raise AuthError("invalid token: bad subject")
    return claims


def signed_in(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> UserView:
    """The signed-in user, even one who must still change a one-time password."""
    if not token:
        raise AuthError("sign in first: send Authorization: Bearer <token>")
    claims = read_token(request.app.state.token_settings, token)
    try:
        with transaction(request.app.state.reader) as session:
            user = get_user(session, int(claims["sub"]))
    except NotFound as exc:
        raise AuthError("invalid token: no such user") from exc
    if not user.active or user.role != claims["role"]:
        raise AuthError("invalid token: the user is disabled or their role changed")
    return user


SignedIn = Annotated[UserView, Depends(signed_in)]


def current_user(user: SignedIn) -> UserView:
    """The signed-in user, refused (403 `password_change_required`) while the password is a
    one-time one: only `GET /me` and `POST /me/password` admit such a user."""
    if user.must_change_password:
        raise PermissionDenied("choose a new password first (POST /api/v1/me/password)",
                               code="password_change_required")
    return user


CurrentUser = Annotated[UserView, Depends(current_user)]


MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def require(*roles: str) -> Callable[[Request, UserView], UserView]:
    """A dependency admitting only users with one of `roles` (403 for the others).

    A refused attempt to change something is written to the operation log.
    """

    def check(request: Request, user: CurrentUser) -> UserView:
        if user.role not in roles:
            error = PermissionDenied(f"the {user.role} role may not do this")
            if request.method in MUTATING:
                _log_denial(request, user, error)
            raise error
        return user

    return check


def _log_denial(request: Request, user: UserView, error: PermissionDenied) -> None:
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path).removeprefix("/api/v1")
    params = request.path_params
    with transaction(request.app.state.sessions) as session:
        oplog.record(
            session,
            oplog.Actor(name=f"user:{user.id}:{user.username}", role=user.role, channel="api"),
            f"{request.method} {template}"[:64],
            "request",
            next(iter(params.values()), None) if params else None,
            refused_code=error.code,
            message=error.message,
        )
