"""Sign-in tokens (JWT, HS256 only) and the dependencies that authenticate and authorise."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from jose import JWTError, jwt
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.problems import AuthError
from ledger.core import oplog
from ledger.core.db import transaction
from ledger.core.errors import NotFound, PermissionDenied
from ledger.registry.users import User, UserView, ended_ids, get_user

# One pinned algorithm: a token naming any other (`none`, RS256, ES256 …) is refused.
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "role")
TOKEN_URL = "/api/v1/auth/token"
# A user id: a positive 64-bit integer, written in ASCII digits.
_SUBJECT = re.compile(r"[1-9][0-9]{0,17}")

oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# A write's user, read in the write's transaction by a statement built once (`USER_COLUMNS`
# first: `mutate` reads them with the idempotency key's row in one statement).
_USERS = User.__table__
USER_COLUMNS = tuple(_USERS.c[name] for name in (
    "id", "username", "display_name", "role", "firm_id", "provider_id", "active", "created_at",
    "must_change_password", "token_generation", "kept_token", "ended_tokens"))
READ_USER = select(*USER_COLUMNS).where(_USERS.c.id == bindparam("user_id"))


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
        # The user's token generation (a password change, reset or disabling moves it on, and
        # earlier tokens are refused) and the token's own id (the session that changed the
        # password keeps working).
        "gen": user.token_generation,
        "jti": secrets.token_urlsafe(16),
        "exp": int((issued + timedelta(minutes=settings.minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.key, algorithm=ALGORITHM)


# Tokens already verified, by (key, token): a client sends its token with every request,
# and its signature and claims do not change; only the expiry is checked again at each use.
_VERIFIED: dict[tuple[str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 1024


def read_token(settings: TokenSettings, token: str) -> dict[str, Any]:
    """The token's claims once its signature, algorithm, expiry and required claims check out."""
    known = _VERIFIED.get((settings.key, token))
    if known is not None:
        # As jose's own check (its message too): expired once `exp` is in the past.
        if int(known["exp"]) < _now():
            raise AuthError("invalid token: Signature has expired.")
        return dict(known)
    claims = _verify(settings, token)
    if "nbf" not in claims:  # a not-before time is checked by jose at each use
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[(settings.key, token)] = dict(claims)
    return claims


def _now() -> int:
    return int(time.time())


def _verify(settings: TokenSettings, token: str) -> dict[str, Any]:
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
    signed = _signed(request, token)
    with transaction(request.app.state.reader) as session:
        return admit(session, signed)


@dataclass(frozen=True)
class Signed:
    """What a verified token says: whose it is, the role, its generation, its id and expiry
    (epoch seconds)."""

    user_id: int
    role: str
    generation: int
    token_id: str | None
    expires: int

    @classmethod
    def of(cls, claims: dict[str, Any]) -> Signed:
        """From `read_token`'s claims (a token signed before generations has neither `gen`,
        read as 0, nor `jti`)."""
        gen, jti = claims.get("gen", 0), claims.get("jti")
        if isinstance(gen, bool) or not isinstance(gen, int):
            raise AuthError("invalid token: bad generation")
        return cls(int(claims["sub"]), claims["role"], gen, jti if isinstance(jti, str) else None,
                   int(claims["exp"]))


def _signed(request: Request, token: str) -> Signed:
    """What the verified token says, also kept on the request (`token_id` reads it)."""
    signed = Signed.of(read_token(request.app.state.token_settings, token))
    request.state.signed = signed
    return signed


def signature(request: Request) -> Signed | None:
    """What the token this request was signed in with says (None before it was checked)."""
    return getattr(request.state, "signed", None)


def token_id(request: Request) -> str | None:
    """The id (`jti`) of the token this request was signed in with, if it has one."""
    signed = signature(request)
    return None if signed is None else signed.token_id


def admit(session: Session, signed: Signed, *, party_name: bool = True) -> UserView:
    """The token's user read in `session`: refused (401) when unknown, disabled, no longer
    of the role the token names, or the token was signed before the password last changed."""
    try:
        user = get_user(session, signed.user_id, party_name=party_name)
    except NotFound as exc:
        raise AuthError("invalid token: no such user") from exc
    return _check_admitted(user, signed)


def _check_admitted(user: UserView, signed: Signed) -> UserView:
    if not user.active or user.role != signed.role:
        raise AuthError("invalid token: the user is disabled or their role changed")
    if user.signed_out(signed.token_id):
        raise AuthError("invalid token: signed out; sign in again")
    if not user.accepts_token(signed.generation, signed.token_id):
        raise AuthError("invalid token: signed before the password was last changed or "
                        "reset; sign in again")
    return user


async def _signed_in_api(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> UserView:
    """As `signed_in`; on a write, the token's claims only (see `Pending`).

    Asynchronous: a write's check is CPU only and runs on the event loop, not as another hop
    through the thread pool (each costs the loop more than the check); a read's, which reads
    the user, goes to the pool."""
    if request.method not in MUTATING:
        return await run_in_threadpool(signed_in, request, token)
    if not token:
        raise AuthError("sign in first: send Authorization: Bearer <token>")
    return Pending.of(_signed(request, token), one_time=True)


SignedIn = Annotated[UserView, Depends(_signed_in_api)]


async def current_user(user: SignedIn) -> UserView:
    """The signed-in user, refused (403 `password_change_required`) while the password is a
    one-time one: only `GET /me` and `POST /me/password` admit such a user (CPU only)."""
    if isinstance(user, Pending):
        return cast(UserView, Pending.of(user.signed, one_time=False))
    _refuse_one_time(user)
    return user


def _refuse_one_time(user: UserView) -> None:
    if user.must_change_password:
        raise PermissionDenied("choose a new password first (POST /api/v1/me/password)",
                               code="password_change_required")


CurrentUser = Annotated[UserView, Depends(current_user)]


class Pending:
    """A write request's user before it is read: the signed token's subject and role only.

    Writes read (and check) their user inside the write's own transaction (`mutate` calls
    `load`), so a write opens one transaction, not a reading one before it. Until then every
    attribute of the user is refused (RuntimeError): nothing can act on an unchecked user.
    """

    __slots__ = ("_user", "one_time", "signed")

    signed: Signed
    one_time: bool
    _user: UserView | None

    @classmethod
    def of(cls, signed: Signed, *, one_time: bool) -> UserView:
        """A pending user, typed as the user it stands for once `load`ed."""
        pending = object.__new__(cls)
        object.__setattr__(pending, "signed", signed)
        object.__setattr__(pending, "one_time", one_time)
        object.__setattr__(pending, "_user", None)
        return cast(UserView, pending)

    @property
    def pending_id(self) -> int:
        """The user id the token names."""
        return self.signed.user_id

    @property
    def pending_role(self) -> str:
        """The role the token names."""
        return self.signed.role

    def load(self, session: Session) -> UserView:
        """Read and check the user in `session`: 401 unknown, disabled or role changed; 403
        `password_change_required` unless the route admits a one-time password."""
        # A write does not show the user's party name: not read.
        return self.admit_row(
            session.execute(READ_USER, {"user_id": self.pending_id}).first())

    def admit_row(self, row: Row[Any] | None) -> UserView:
        """As `load`, from a row already read (`USER_COLUMNS` first; None: no such user)."""
        if row is None or row[0] is None:
            raise AuthError("invalid token: no such user")
        user = _check_admitted(
            UserView(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7],
                     bool(row[8]), token_generation=row[9], kept_token=row[10],
                     ended_tokens=ended_ids(row[11])), self.signed)
        if not self.one_time:
            _refuse_one_time(user)
        object.__setattr__(self, "_user", user)
        return user

    def __getattr__(self, name: str) -> Any:
        user = object.__getattribute__(self, "_user")
        if user is None:
            raise RuntimeError(f"user.{name} before the write's transaction read the user")
        return getattr(user, name)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a pending user is read-only")


def subject(user: UserView) -> int:
    """The user's id as the signed token names it (a `Pending` user is not read for it)."""
    return user.pending_id if isinstance(user, Pending) else user.id


def loaded(session: Session, user: UserView) -> UserView:
    """The request's user, read and checked in `session` if it is still `Pending`."""
    return user.load(session) if isinstance(user, Pending) else user



def require(*roles: str) -> Callable[[Request, UserView], Awaitable[UserView]]:
    """A dependency admitting only users with one of `roles` (403 for the others).

    A refused attempt to change something is written to the operation log. On a write the
    admitted user is `Pending`: the write's transaction reads and checks it.
    """

    async def check(request: Request, user: CurrentUser) -> UserView:
        # Admitted: decided on the event loop. A refusal reads the user or logs: in the pool.
        role = user.pending_role if isinstance(user, Pending) else user.role
        if role in roles:
            return user
        return await run_in_threadpool(refuse, request, user)

    def refuse(request: Request, user: UserView) -> UserView:
        if isinstance(user, Pending):
            # Refused: read the user as a read would, so that a disabled user or a changed
            # role is still 401 and a one-time password 403, before the role's 403.
            pending = cast(Pending, user)
            with transaction(request.app.state.reader) as session:
                user = admit(session, pending.signed)
            _refuse_one_time(user)
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
