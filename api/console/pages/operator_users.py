"""The operator's user list: reset a firm's or provider's password to a one-time one (shown
once, to be changed at the next sign-in). Staff passwords are reset at the command line."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console import session
from api.console.forms import read_form
from api.console.i18n import N_
from api.console.lists import Column, Filter, Listing, show_list
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, render
from api.mutations import Done
from api.schemas import Id
from ledger.registry import users
from ledger.registry.users import UserView

router = console_router("/operator/users")
OperatorUser = Annotated[UserView, Depends(session.signed_in("operator"))]

add_nav(N_("Users"), "/operator/users", "operator")


def user_listing() -> Listing:
    """Every user; firm and provider users carry a button to reset their password."""
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


@router.get("")
def user_list(request: Request, user: OperatorUser) -> Response:
    """Every user; firm and provider users carry a reset button."""
    return show_list(request, user_listing())


@router.post("/{user_id}/reset-password")
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
