"""The operator registers firms and providers one by one or imports them from CSV (every bad
row shown with its line, column and reason; nothing written on error), and lists them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form
from api.console.i18n import N_
from api.console.labels import Shown, certification_text
from api.console.lists import Column, Filter, Listing, search_text, show_list
from api.console.pages.operator import (
    OperatorUser,
    parse_day,
    read_upload,
    refuse_each,
)
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, render
from api.mutations import Done
from ledger.core.acting import today
from ledger.core.errors import DomainError
from ledger.registry import firms, providers
from ledger.registry import party_import as csv_import
from ledger.registry.firms import CERTIFICATIONS, Certification
from ledger.registry.parties import LIAONING_CITIES, SIZE_CLASSES, PartyData, split_shareholders
from ledger.registry.providers import CATEGORIES, Registration

router = console_router("/operator")

add_nav(N_("Firms"), "/operator/firms", "operator")
add_nav(N_("Providers"), "/operator/providers", "operator")

PARTY_FIELDS = ("credit_code", "name", "city", "district", "size_class", "legal_rep",
                "shareholders", "bank_name", "bank_account")
FIRM_FIELDS = (*PARTY_FIELDS, "cert_kind", "cert_date")


def _party(form: Form) -> PartyData:
    return PartyData(form.get("credit_code"), form.get("name"), form.get("city"),
                     form.get("district"), form.get("size_class"), form.get("legal_rep"),
                     split_shareholders(form.get("shareholders")),
                     form.get("bank_name") or None, form.get("bank_account") or None)


# Parties have no serial: their box searches the name and the credit code.
PARTY_SEARCH = Filter("q", N_("Name or credit code"))


def _party_columns() -> tuple[Column, ...]:
    return (
        Column(N_("Number"), lambda p: p.id),
        Column(N_("Credit code"), lambda p: p.party.credit_code),
        Column(N_("Name"), lambda p: p.party.name),
        Column(N_("City"), lambda p: p.party.city),
        Column(N_("District"), lambda p: p.party.district),
        Column(N_("Size"), lambda p: p.party.size_class, "label"),
        Column(N_("Status"), lambda p: p.status, "label"),
        Column(N_("Registered on"), lambda p: p.created_at, "time"),
    )


def _certifications(firm: Any) -> str:
    return "、".join(certification_text(c.kind, c.year) for c in firm.certifications)


def firm_listing() -> Listing:
    """Every firm, by number, filtered by city."""
    return Listing(
        title=N_("Firms"),
        columns=(*_party_columns(),
                 Column(N_("Certifications"), lambda f: Shown(_certifications, f))),
        fetch=lambda s, limit, offset, f: firms.list_firms(
            s, limit=limit, offset=offset, city=f.get("city"), q=search_text(f)),
        filters=(PARTY_SEARCH, Filter("city", N_("City"), LIAONING_CITIES)),
        filename="firms",
    )


def provider_listing() -> Listing:
    """Every provider, by number, filtered by city."""
    return Listing(
        title=N_("Providers"),
        columns=(*_party_columns(),
                 Column(N_("Services"), lambda p: p.current_categories, "labels")),
        fetch=lambda s, limit, offset, f: providers.list_providers(
            s, limit=limit, offset=offset, city=f.get("city"), q=search_text(f)),
        filters=(PARTY_SEARCH, Filter("city", N_("City"), LIAONING_CITIES)),
        filename="providers",
    )


@router.get("/firms")
def firm_list(request: Request, user: OperatorUser) -> Response:
    """Registered firms (XLSX with ?format=xlsx)."""
    return show_list(request, firm_listing(), template="operator/list.html",
                     actions=(("/operator/firms/new", N_("Register or import firms")),))


@router.get("/providers")
def provider_list(request: Request, user: OperatorUser) -> Response:
    """Registered providers (XLSX with ?format=xlsx)."""
    return show_list(request, provider_listing(), template="operator/list.html",
                     actions=(("/operator/providers/new", N_("Register or import providers")),))


def _page(request: Request, kind: str, form: Form, *, status: int = 200,
          categories: tuple[str, ...] = (), rows: list[dict[str, Any]] | None = None,
          upload: Form | None = None, imported: csv_import.ImportResult | None = None,
          created: object = None) -> Response:
    return render(request, "operator/party_new.html", status=status, kind=kind, form=form,
                  cities=LIAONING_CITIES, sizes=SIZE_CLASSES, cert_kinds=tuple(CERTIFICATIONS),
                  all_categories=CATEGORIES, categories=categories, rows=rows or [],
                  upload=upload or Form(), imported=imported, created=created,
                  columns=(csv_import.FIRM_COLUMNS if kind == "firm"
                           else csv_import.PROVIDER_COLUMNS))


def _blank(kind: str) -> Form:
    return Form({name: "" for name in (FIRM_FIELDS if kind == "firm" else PARTY_FIELDS)})


@router.get("/firms/new")
def new_firm(request: Request, user: OperatorUser) -> Response:
    """Register a firm, or import a CSV file of them."""
    return _page(request, "firm", _blank("firm"))


@router.get("/providers/new")
def new_provider(request: Request, user: OperatorUser) -> Response:
    """Register a provider, or import a CSV file of them."""
    return _page(request, "provider", _blank("provider"))


@router.post("/firms")
def create_firm(request: Request, user: OperatorUser) -> Response:
    """Register one firm with the certification it holds (if any)."""
    form = read_form(request)

    def effect(session: Session) -> Done:
        certs: tuple[Certification, ...] = ()
        if form.get("cert_kind") or form.get("cert_date"):
            day = parse_day(form.get("cert_date"), "cert_date")
            certs = (Certification(form.get("cert_kind"), day.year, day),)
        view = firms.create_firm(session, _party(form), certifications=certs)
        return Done(201, view, view.id)

    fields = {"kind": "cert_kind", "year": "cert_date", "valid_until": "cert_date",
              "certified_on": "cert_date"}
    return _register(request, user, "firm", form, effect,
                     lambda refused, exc: refuse_each(refused, exc, fields=fields))


@router.post("/providers")
def create_provider(request: Request, user: OperatorUser) -> Response:
    """Register one provider for the services it offers, from today."""
    form = read_form(request)
    chosen = tuple(str(c) for c in request.state.form.getlist("categories"))
    day = today()

    def effect(session: Session) -> Done:
        view = providers.create_provider(
            session, _party(form), categories=tuple(Registration(c, day) for c in chosen))
        return Done(201, view, view.id)

    return _register(request, user, "provider", form, effect, refuse_each, categories=chosen)


def _register(request: Request, user: OperatorUser, kind: str, form: Form,
              effect: Callable[[Session], Done],
              refuse: Callable[[Form, DomainError], object], **context: Any) -> Response:
    """Register one party of `kind`: a blank form with what was created, or the refusal."""
    return submit(request, user, form, Action(f"{kind}s.create", kind), effect,
                  done=lambda done: _page(request, kind, _blank(kind), created=done.body),
                  again=lambda refused, status: _page(request, kind, refused, status=status,
                                                      **context),
                  refuse=refuse)


def _import(request: Request, user: OperatorUser, kind: str,
            run: Callable[[Session, bytes], csv_import.ImportResult]) -> Response:
    upload = read_form(request)
    blank = _blank(kind)
    return submit(
        request, user, upload, Action(f"{kind}s.import", "import"),
        lambda session: Done(200, run(session, read_upload(request)), None),
        done=lambda done: _page(request, kind, blank, imported=done.body),
        again=lambda refused, status: _page(request, kind, blank, status=status, upload=refused,
                                            rows=refused.rows))


@router.post("/firms/import")
def import_firms(request: Request, user: OperatorUser) -> Response:
    """Import firms from CSV: all rows or none; identical registered rows are left unchanged."""
    return _import(request, user, "firm", csv_import.import_firms)


@router.post("/providers/import")
def import_providers(request: Request, user: OperatorUser) -> Response:
    """Import providers from CSV: all rows or none; identical rows are left unchanged."""
    return _import(request, user, "provider", csv_import.import_providers)
