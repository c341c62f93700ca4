"""Sign-in, sign-out, the language switch and the home page every role lands on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.console import session
from api.console.forms import FORM_LEVEL, FieldError, Form, read_form
from api.console.i18n import LANG_COOKIE, LANGUAGES
from api.console.web import HOMES, console_router, redirect, render
from api.sign_in import check_sign_in
from ledger.core.errors import TooManyAttempts
from ledger.registry.users import UserView

router = console_router()
SignedIn = Annotated[UserView, Depends(session.signed_in())]


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
    """End the session."""
    response = redirect(session.SIGN_IN)
    session.end(response)
    return response


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str = "/") -> Response:
    """Remember the chosen language in the `lang` cookie and go back."""
    response: Response = RedirectResponse(session.safe_next(next), status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, path="/",
                            samesite="strict", httponly=True)
    return response
