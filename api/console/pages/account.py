"""Sign-in, sign-out, the language switch, the home page every role lands on, the account
page (change one's password) and the operator's user list (reset a firm's or provider's
password to a one-time one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.console import session
from api.console.forms import FORM_LEVEL, FieldError, Form, read_form
from api.console.i18n import LANG_COOKIE, LANGUAGES, N_
from api.console.lists import Column, Filter, Listing, show_list
from api.console.submit import Action, submit
from api.console.web import HOMES, add_nav, console_router, redirect, render
from api.mutations import Done
from api.schemas import Id
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.registry import users
from ledger.registry.users import UserView, authenticate

router = console_router()
SignedIn = Annotated[UserView, Depends(session.signed_in())]
# The account page admits a user holding a one-time password: it is where they change it.
AnyUser = Annotated[UserView, Depends(session.signed_in(one_time=True))]
OperatorUser = Annotated[UserView, Depends(session.signed_in("operator"))]

add_nav(N_("Users"), "/operator/users", "operator")


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
    """Check the password (Argon2, as the API does) and start a session."""
    form = read_form(request)
    with transaction(request.app.state.reader) as db:
        user = authenticate(db, form.get("username"), form.values.get("password", ""))
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
        if form.get("new_password") != form.get("repeat_password"):
            raise InvalidInput("the two new passwords differ", code="passwords_differ",
                               field="repeat_password")
        view = users.change_password(db, user.id, current=form.get("current_password"),
                                     new=form.get("new_password"))
        return Done(200, None, view.id)

    def again(refused: Form, status: int) -> Response:
        # Passwords are never sent back to the browser.
        refused.values = dict.fromkeys(("current_password", "new_password", "repeat_password"),
                                       "")
        return _account_page(request, refused, status)

    return submit(request, user, form, Action("users.change_password", "user", user.id,
                                              by_code={"wrong_password": "current_password"}),
                  effect, done="/account?changed=1", again=again)


def user_listing() -> Listing:
    """Firm and provider users: the ones an operator may give a one-time password."""
    def reset(u: UserView) -> tuple[str, str] | None:
        if u.role in users.RESETTABLE_BY_OPERATOR:
            return (f"/operator/users/{u.id}/reset-password", N_("Reset password"))
        return None

    return Listing(
        title=N_("Users"),
        columns=(
            Column(N_("Username"), lambda u: u.username),
            Column(N_("Name"), lambda u: u.display_name),
            Column(N_("Role"), lambda u: u.role, "label"),
            Column(N_("Must change password"), lambda u: "yes" if u.must_change_password
                   else "no", "label"),
            Column(N_("Action"), lambda u: None, action=reset),
        ),
        fetch=lambda s, limit, offset, f: users.list_users(s, limit=limit, offset=offset,
                                                           role=f.get("role")),
        filters=(Filter("role", N_("Role"), users.RESETTABLE_BY_OPERATOR),),
        filename="users",
    )


@router.get("/operator/users")
def user_list(request: Request, user: OperatorUser) -> Response:
    """Every user; firm and provider users carry a reset button."""
    return show_list(request, user_listing())


@router.post("/operator/users/{user_id}/reset-password")
def reset_password(request: Request, user: OperatorUser, user_id: Id) -> Response:
    """Reset a firm's or provider's password; the one-time password is shown once, here."""
    form = read_form(request)

    def effect(db: Session) -> Done:
        target = users.get_user(db, user_id)
        view, password = users.reset_password(db, target.username)
        return Done(200, {"username": view.username, "password": password}, view.id)

    return submit(request, user, form,
                  Action("users.reset_password", "user", user_id, missing_is_404=True),
                  effect,
                  done=lambda done: render(request, "operator/password_reset.html",
                                           username=done.body["username"],
                                           password=done.body["password"]),
                  again=lambda refused, status: render(
                      request, "error.html", status=status, status_code=status,
                      code=refused.errors[""].code, detail=refused.errors[""].detail))
