"""Console sessions: a signed token (the API's own JWT, HS256) in an HttpOnly, SameSite=Strict
cookie, and a CSRF token derived from it for every POST form.

No session table: the cookie holds the same token `/api/v1/auth/token` issues, checked by the
same `api.auth.signed_in`, so expiry, disabled users and changed roles behave alike. Before
sign-in, an anonymous random cookie stands in for the session in the CSRF derivation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.auth import issue_token
from api.auth import signed_in as token_user
from api.problems import AuthError
from ledger.core.errors import PermissionDenied
from ledger.registry.users import UserView

SESSION_COOKIE = "vl_session"
ANON_COOKIE = "vl_anon"
CSRF_FIELD = "csrf_token"
SIGN_IN = "/sign-in"
ACCOUNT = "/account"


class SignInRequired(Exception):
    """No valid session: the page sends the user to sign in."""


class PasswordChangeRequired(Exception):
    """The user signed in with a one-time password: only the account page opens."""


class CsrfRefused(Exception):
    """A POST without the form's CSRF token (or with another session's)."""


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start(request: Request, response: Response, user: UserView) -> None:
    """Sign `user` in: set the session cookie, living as long as the token."""
    settings = request.app.state.token_settings
    response.set_cookie(SESSION_COOKIE, issue_token(settings, user),
                        max_age=settings.minutes * 60, path="/", httponly=True,
                        samesite="strict", secure=_secure(request))


def end(response: Response) -> None:
    """Sign out: drop the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def session_user(request: Request) -> UserView | None:
    """The user of a valid, unexpired session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return token_user(request, token)
    except AuthError:
        return None


def signed_in(*roles: str, one_time: bool = False) -> Callable[[Request], UserView]:
    """A dependency: the signed-in user (else off to sign-in), of one of `roles` if given.

    A user holding a one-time password is sent to the account page to choose a new one,
    except where `one_time` admits them (that page itself).
    """

    def check(request: Request) -> UserView:
        user = session_user(request)
        if user is None:
            raise SignInRequired
        request.state.user = user
        if user.must_change_password and not one_time:
            raise PasswordChangeRequired
        if roles and user.role not in roles:
            raise PermissionDenied(f"the {user.role} role may not open this page")
        return user

    return check


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in (anything else: home)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def to_sign_in(request: Request) -> RedirectResponse:
    """Send the user to sign in, remembering the page they wanted; drop a stale cookie."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        wanted = "/"
    response = RedirectResponse(f"{SIGN_IN}?next={quote(wanted, safe='')}", status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        end(response)
    return response


def _anonymous(request: Request) -> str:
    """The anonymous cookie's value, made up for this response if the browser has none."""
    value = request.cookies.get(ANON_COOKIE) or getattr(request.state, "anonymous", None)
    if value is None:
        value = secrets.token_urlsafe(32)
        request.state.anonymous = value
    return value


def keep_anonymous_cookie(request: Request, response: Response) -> None:
    """Send the anonymous cookie made up while rendering this page."""
    value = getattr(request.state, "anonymous", None)
    if value is not None and not request.cookies.get(ANON_COOKIE):
        response.set_cookie(ANON_COOKIE, value, path="/", httponly=True, samesite="strict",
                            secure=_secure(request))


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: an HMAC of its session (or anonymous) cookie."""
    basis = request.cookies.get(SESSION_COOKIE) or _anonymous(request)
    key = request.app.state.token_settings.key.encode()
    return hmac.new(key, b"console-csrf\0" + basis.encode(), hashlib.sha256).hexdigest()


async def check_csrf(request: Request) -> None:
    """Read the POSTed form (kept in `request.state.form`) and check its CSRF token."""
    form = await request.form()
    request.state.form = form
    sent = form.get(CSRF_FIELD)
    if not request.cookies.get(SESSION_COOKIE) and not request.cookies.get(ANON_COOKIE):
        raise CsrfRefused
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise CsrfRefused
