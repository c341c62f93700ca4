"""The firm's consent pages: find a provider in the directory (服务机构库), authorise it to
book once on one of its vouchers, see its authorisations and withdraw an unused one."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form
from api.console.i18n import N_
from api.console.lists import Column, Filter, Listing, show_list
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render
from api.mutations import Done, perform
from api.routes.programs import by
from api.schemas import Id
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.registry.directory import DirectoryEntry, find_providers
from ledger.registry.users import UserView
from ledger.vouchers import authorisations
from ledger.vouchers import voucher as vouchers
from rules.schema import CATEGORIES

router = console_router("/firm")
FirmUser = Annotated[UserView, Depends(signed_in("firm"))]

add_nav(N_("Find a provider"), "/firm/providers", "firm")
add_nav(N_("Authorisations"), "/firm/authorisations", "firm")

# Where a refusal of the authorisation form shows.
AUTHORISE_CODES = {"not_found": "voucher", "voucher_expired": "voucher",
                   "provider_not_found": "provider_credit_code",
                   "provider_not_active": "provider_credit_code"}
# How many of the firm's active vouchers the form offers (a firm holds a handful).
VOUCHER_CHOICES = 100


def _firm(user: UserView) -> int:
    assert user.firm_id is not None  # the users table ties a firm user to its firm
    return user.firm_id


def directory_listing() -> Listing:
    """Registered active providers, found by service, city, name or credit code."""
    def authorise_link(e: DirectoryEntry) -> str:
        return f"/firm/authorisations/new?{urlencode({'provider': e.credit_code})}"

    return Listing(
        title=N_("Find a provider"),
        columns=(
            Column(N_("Provider"), lambda e: e.name),
            Column(N_("Credit code"), lambda e: e.credit_code),
            Column(N_("City"), lambda e: e.city),
            Column(N_("District"), lambda e: e.district),
            Column(N_("Services"), lambda e: e.categories, "labels"),
            Column(N_("Next step"), lambda e: "authorise", "label", link=authorise_link),
        ),
        fetch=lambda s, limit, offset, f: find_providers(
            s, limit=limit, offset=offset, category=f.get("category"), city=f.get("city"),
            name=f.get("name"), credit_code=f.get("credit_code")),
        filters=(Filter("category", N_("Service"), CATEGORIES), Filter("city", N_("City")),
                 Filter("name", N_("Name")), Filter("credit_code", N_("Credit code"))),
        filename="providers",
    )


@router.get("/providers")
def provider_directory(request: Request, user: FirmUser) -> Response:
    """The provider directory: choose a provider, then authorise it."""
    return show_list(request, directory_listing())


def authorisation_listing(firm_id: int) -> Listing:
    """The firm's authorisations, newest first; an open one can be withdrawn."""
    def withdraw(a: authorisations.AuthorisationView) -> tuple[str, str] | None:
        if a.status == "open":
            return (f"/firm/authorisations/{a.id}/withdraw", N_("Withdraw"))
        return None

    return Listing(
        title=N_("Authorisations"),
        columns=(
            Column(N_("Authorisation code"), lambda a: a.code,
                   link=lambda a: f"/firm/authorisations/{a.id}"),
            Column(N_("Voucher"), lambda a: a.voucher_serial),
            Column(N_("Provider"), lambda a: a.provider_name),
            Column(N_("Granted on"), lambda a: a.granted_on, "date"),
            Column(N_("Usable through"), lambda a: a.expires_on, "date"),
            Column(N_("Status"), lambda a: a.status, "label"),
            Column(N_("Action"), lambda a: None, action=withdraw),
        ),
        fetch=lambda s, limit, offset, f: authorisations.list_authorisations(
            s, limit=limit, offset=offset, firm_id=firm_id, status=f.get("status")),
        filters=(Filter("status", N_("Status"), authorisations.SHOWN_STATUSES),),
        filename="authorisations",
    )


@router.get("/authorisations")
def authorisation_list(request: Request, user: FirmUser) -> Response:
    """The firm's authorisations and what became of each."""
    return show_list(request, authorisation_listing(_firm(user)))


def _voucher_choices(request: Request, firm_id: int) -> list[tuple[str, str]]:
    """(form value, shown text) of the firm's active vouchers: `programme:serial`."""
    with transaction(request.app.state.reader) as session:
        page = vouchers.list_vouchers(session, limit=VOUCHER_CHOICES, firm_id=firm_id,
                                      status="active")
    return [(f"{v.programme}:{v.serial}", f"{v.serial} ({v.programme})") for v in page.items]


def _authorise_page(request: Request, user: UserView, form: Form, status: int = 200
                    ) -> Response:
    return render(request, "firm/authorise.html", status=status, form=form,
                  vouchers=_voucher_choices(request, _firm(user)))


@router.get("/authorisations/new")
def authorise_form(request: Request, user: FirmUser, provider: str = "", voucher: str = ""
                   ) -> Response:
    """The authorisation form: which voucher, which provider (from the directory)."""
    return _authorise_page(request, user, Form({"voucher": voucher,
                                                "provider_credit_code": provider}))


@router.post("/authorisations")
def authorise(request: Request, user: FirmUser) -> Response:
    """Grant the authorisation, then show it with the code to hand to the provider."""
    form = read_form(request)
    firm_id = _firm(user)

    def effect(session: Session) -> Done:
        programme, _, serial = form.get("voucher").rpartition(":")
        if not serial.strip():
            raise InvalidInput("voucher: choose one of your vouchers", field="voucher")
        view = authorisations.authorise(
            session, firm_id=firm_id, voucher=serial, programme=programme or None,
            provider_credit_code=form.get("provider_credit_code"), by=by(user))
        return Done(201, None, view.id)

    return submit(request, user, form,
                  Action("authorisations.create", "authorisation",
                         by_code=AUTHORISE_CODES),
                  effect, done=lambda done: redirect(f"/firm/authorisations/{done.object_id}"),
                  again=lambda refused, status: _authorise_page(request, user, refused, status))


@router.get("/authorisations/{authorisation_id}")
def authorisation_detail(request: Request, user: FirmUser, authorisation_id: Id) -> Response:
    """One authorisation (only the firm's own): the code to give the provider, or its fate."""
    with transaction(request.app.state.reader) as session:
        grant = authorisations.get_authorisation(session, authorisation_id,
                                                 firm_id=_firm(user))
    return render(request, "firm/authorisation.html", grant=grant)


@router.post("/authorisations/{authorisation_id}/withdraw")
def withdraw(request: Request, user: FirmUser, authorisation_id: Id) -> Response:
    """Withdraw an unused authorisation: the provider can no longer book with it."""
    firm_id = _firm(user)

    def effect(session: Session) -> Done:
        view = authorisations.withdraw(session, authorisation_id, firm_id=firm_id, by=by(user))
        return Done(200, None, view.id)

    perform(request, user, action="authorisations.withdraw", object_type="authorisation",
            object_id=authorisation_id, effect=effect)
    return redirect(f"/firm/authorisations/{authorisation_id}")
