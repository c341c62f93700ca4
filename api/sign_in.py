"""Sign-in with throttling, shared by `/api/v1/auth/token` and the console's sign-in form.

A locked account or address is refused (429, `Retry-After`) before the password is checked;
each failure is counted (in the database, so every worker agrees) and written to the
operation log; a success clears the account's count. A password change naming a wrong current
password counts as a failed sign-in too, and is refused while the account is locked: a stolen
session cannot be used to guess the password.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy.orm import Session

from api.auth import signature, token_id
from api.metrics import observe_operation
from ledger.core import oplog
from ledger.core.db import transaction
from ledger.core.errors import DomainError, TooManyAttempts
from ledger.registry import sign_in_throttle
from ledger.registry.users import UserView, authenticate, change_password, sign_out

ACTION = "auth.sign_in"
WRONG = "not_authenticated"
WRONG_PASSWORD = "wrong_password"


def client_address(request: Request) -> str:
    """The client's address (the proxy's forwarded one when `serve --proxy-headers`)."""
    return request.client.host if request.client else "unknown"


def check_sign_in(request: Request, username: str, password: str, channel: str) -> UserView | None:
    """The user for these credentials, None when wrong; TooManyAttempts while locked."""
    state = request.app.state
    address = client_address(request)
    now = datetime.now(UTC)
    with transaction(state.reader) as session:
        wait = sign_in_throttle.retry_after(session, username, address, now)
    if wait is not None:
        error = _locked(wait)
        _log_refusal(request, username, channel, error.code, f"from {address}: locked")
        raise error
    with transaction(state.reader) as session:
        user = authenticate(session, username, password)
    if user is not None:
        with transaction(state.sessions) as session:
            sign_in_throttle.clear_account(session, username)
        return user
    with transaction(state.sessions) as session:
        locked = sign_in_throttle.record_failure(session, username, address, now,
                                                 state.throttle)
        note = f"from {address}" + ("" if locked is None else f": locked for {locked} s")
        oplog.record(session, _actor(username, channel), ACTION, "user", None,
                     refused_code=WRONG, message=note)
    observe_operation(ACTION, WRONG)
    return None


def _locked(wait: int) -> TooManyAttempts:
    return TooManyAttempts(f"too many failed sign-ins: try again in {wait} s", retry_after=wait)


def refuse_while_locked(request: Request, session: Session, username: str) -> None:
    """In a password change, before the current password is checked: 429 while the account
    or the address is locked, as a sign-in would be."""
    address = client_address(request)
    wait = sign_in_throttle.retry_after(session, username, address, datetime.now(UTC))
    if wait is not None:
        raise _locked(wait)


def count_wrong_password(request: Request, refusal: DomainError, user: UserView) -> None:
    """After a password change was refused: a wrong current password counts as a failed
    sign-in of the account and the address (in a transaction of its own: the change's own
    rolled back). The user is read only then: a write's user is known once it was checked."""
    if refusal.code != WRONG_PASSWORD:
        return
    state = request.app.state
    with transaction(state.sessions) as session:
        sign_in_throttle.record_failure(session, user.username, client_address(request),
                                        datetime.now(UTC), state.throttle)


def change_own_password(request: Request, session: Session, user: UserView, *, current: str,
                        new: str, keep: bool = True) -> UserView:
    """The signed-in user's password change (ledger.registry.users.change_password): the
    request's own token keeps working unless `keep` is False (the console gives its browser
    a new one), and the account's failures are forgotten, as after a successful sign-in."""
    view = change_password(session, user.id, current=current, new=new,
                           keep_token=token_id(request) if keep else None)
    sign_in_throttle.clear_account(session, view.username)
    return view


def end_own_session(request: Request, session: Session, user: UserView) -> bool:
    """Sign out: the token this request was signed in with is refused from now on (True), or
    every session of the user ends (False: see ledger.registry.users.sign_out)."""
    signed = signature(request)
    assert signed is not None, "a signed-in request"
    return sign_out(session, user.id, signed.token_id, signed.expires,
                    int(datetime.now(UTC).timestamp()))


def _actor(username: str, channel: str) -> oplog.Actor:
    return oplog.Actor(name=f"sign-in:{username.strip().lower()}", role="anonymous",
                       channel=channel)


def _log_refusal(request: Request, username: str, channel: str, code: str, note: str) -> None:
    with transaction(request.app.state.sessions) as session:
        oplog.record(session, _actor(username, channel), ACTION, "user", None,
                     refused_code=code, message=note)
    observe_operation(ACTION, code)
