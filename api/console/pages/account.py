"""Sign-in, sign-out, the language switch, the home page every role lands on, and the
account page (change one's own password)."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.console import session
from api.console.forms import FORM_LEVEL, FieldError, Form, read_form
from api.console.i18n import LANG_COOKIE, LANGUAGES
from api.console.submit import Action, submit
from api.console.web import HOMES, console_router, redirect, render
from api.mutations import Done, perform
from api.sign_in import (
    change_own_password,
    check_sign_in,
    count_wrong_password,
    end_own_session,
    refuse_while_locked,
)
from ledger.core.errors import DomainError, InvalidInput, TooManyAttempts
from ledger.registry.users import UserView

router = console_router()
SignedIn = Annotated[UserView, Depends(session.signed_in())]
# The account page admits a user holding a one-time password: it is where they change it.
AnyUser = Annotated[UserView, Depends(session.signed_in(one_time=True))]


@router.get("/")
def home(request: Request, user: SignedIn) -> Response:
    """A role's main page, or the welcome page while a role has none."""
    if user.role in HOMES:
        return redirect(HOMES[user.role])
    return render(request, "welcome.html")


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return render(request, "sign_in.html", form=Form({"username": ""}),
                  next=session.safe_next(next))


@router.post("/sign-in")
def sign_in(request: Request) -> Response:
    """Check the password (Argon2, throttled, as the API does) and start a session."""
    form = read_form(request)
    try:
        user = check_sign_in(request, form.get("username"), form.values.get("password", ""),
                       "console")
    except TooManyAttempts as exc:
        form.values.pop("password", None)
        form.errors[FORM_LEVEL] = FieldError(exc.code, exc.message)
        response = render(request, "sign_in.html", status=429, form=form,
                          next=session.safe_next(form.get("next")))
        response.headers["Retry-After"] = str(exc.detail["retry_after"])
        return response
    if user is None:
        form.values.pop("password", None)
        form.errors[FORM_LEVEL] = FieldError("not_authenticated", "wrong username or password")
        return render(request, "sign_in.html", status=401, form=form,
                      next=session.safe_next(form.get("next")))
    response = redirect(session.safe_next(form.get("next")))
    session.start(request, response, user)
    return response


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    """End the session: its token is refused from now on (not only the cookie dropped), so a
    copy of the cookie stops working too."""
    response = redirect(session.SIGN_IN)
    session.end(response)
    user = session.session_user(request)
    if user is not None:
        # Refused (and logged) or not, the browser forgets the cookie.
        with suppress(DomainError):
            perform(request, user, action="users.sign_out", object_type="user",
                    object_id=user.id,
                    effect=lambda db: Done(200, end_own_session(request, db, user), user.id))
    return response


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str = "/") -> Response:
    """Remember the chosen language in the `lang` cookie and go back."""
    response: Response = RedirectResponse(session.safe_next(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, path="/",
                            samesite="strict", httponly=True)
    return response


def _account_page(request: Request, form: Form, status: int = 200, done: bool = False
                  ) -> Response:
    return render(request, "account.html", status=status, form=form, changed=done)


@router.get("/account")
def account(request: Request, user: AnyUser, changed: str = "") -> Response:
    """Who is signed in, and the form to change one's own password."""
    return _account_page(request, Form({"current_password": "", "new_password": ""}),
                         done=changed == "1")


@router.post("/account/password")
def change_password(request: Request, user: AnyUser) -> Response:
    """Change one's own password (the current one named, a one-time one included)."""
    form = read_form(request)

    def effect(db: Session) -> Done:
        refuse_while_locked(request, db, user.username)
        if form.get("new_password") != form.get("repeat_password"):
            raise InvalidInput("the two new passwords differ", code="passwords_differ",
                               field="repeat_password")
        # Every session ends, this browser's cookie too: it gets a new one below (keeping
        # the old token would leave a copy of the old cookie working after a sign-out).
        view = change_own_password(request, db, user, current=form.get("current_password"),
                                   new=form.get("new_password"), keep=False)
        return Done(200, view, view.id)

    def done(result: Done) -> Response:
        # A new cookie of the new generation: this browser's session goes on.
        response = redirect("/account?changed=1")
        session.start(request, response, result.body)
        return response

    locked: list[TooManyAttempts] = []

    def again(refused: Form, status: int) -> Response:
        # Passwords are never sent back to the browser.
        refused.values = dict.fromkeys(("current_password", "new_password", "repeat_password"),
                                       "")
        response = _account_page(request, refused, status)
        if locked:  # as the sign-in page says it
            response.headers["Retry-After"] = str(locked[0].detail["retry_after"])
        return response

    action = Action("users.change_password", "user", user.id,
                    by_code={"wrong_password": "current_password"})

    def refuse(refused: Form, exc: DomainError) -> None:
        count_wrong_password(request, exc, user)
        if isinstance(exc, TooManyAttempts):
            locked.append(exc)
        refused.refuse(exc, action.fields or None, action.by_code or None)

    return submit(request, user, form, action, effect, done=done, again=again, refuse=refuse)

