"""The provider's pages: book a service with a live preview of the policy's decision, complete
or cancel it, claim with evidence, and see what it is owed and was paid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.console.forms import Form, read_form, uploads
from api.console.i18n import N_
from api.console.lists import SEARCH, Column, Filter, Listing, search_text, show_list
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render, set_home
from api.mutations import Done, perform
from api.routes.programs import by
from api.schemas import Id
from api.voucher_schemas import fen
from ledger.core.accounts import Balance
from ledger.core.db import transaction
from ledger.core.errors import DomainError, InvalidInput, NotFound
from ledger.core.paging import Page
from ledger.payments.returns import returned_to_provider_by_programme
from ledger.programmes.programme import account, list_programmes
from ledger.reading.ledger_queries import balances_of
from ledger.registry import evidence
from ledger.registry.providers import get_provider
from ledger.registry.users import UserView
from ledger.vouchers import authorisations, claims, redemptions
from ledger.vouchers.clawbacks import clawed_back_by_programme

router = console_router("/provider")
ProviderUser = Annotated[UserView, Depends(signed_in("provider"))]

add_nav(N_("Bookings"), "/provider", "provider")
add_nav(N_("Authorisations"), "/provider/authorisations", "provider")
add_nav(N_("Book a service"), "/provider/book", "provider")
add_nav(N_("Claims"), "/provider/claims", "provider")
add_nav(N_("Owed and paid"), "/provider/money", "provider")
set_home("provider", "/provider")

BOOK_FIELDS = ("voucher", "authorisation", "category", "cost", "description")
# Where a policy refusal shows: by the field it concerns, else at the top of the form.
BOOK_CODES = {"cap_exceeded": "cost", "zero_subsidy": "cost", "insufficient_balance": "cost",
              "voucher_expired": "voucher", "voucher_not_yet_valid": "voucher",
              "not_found": "voucher", "unknown_category": "category",
              "provider_not_registered": "category",
              **dict.fromkeys(("authorisation_used", "authorisation_withdrawn",
                               "authorisation_expired", "authorisation_other_provider"),
                              "authorisation")}


def _provider(user: UserView) -> int:
    assert user.provider_id is not None  # the users table ties a provider user to its provider
    return user.provider_id


def booking_listing(provider_id: int) -> Listing:
    """The provider's bookings, newest first."""
    def claimable(r: redemptions.RedemptionView) -> bool:
        return r.status == "completed" and r.confirmed

    return Listing(
        title=N_("Bookings"),
        columns=(
            Column(N_("Booking"), lambda r: r.id, link=lambda r: f"/provider/bookings/{r.id}"),
            Column(N_("Voucher"), lambda r: r.voucher_serial),
            Column(N_("Firm"), lambda r: r.firm_name),
            Column(N_("Service"), lambda r: r.category, "label"),
            Column(N_("Cost (yuan)"), lambda r: r.cost_fen, "yuan"),
            Column(N_("Subsidy (yuan)"), lambda r: r.amount_fen, "yuan"),
            Column(N_("Booked on"), lambda r: r.booked_on, "date"),
            Column(N_("Status"), lambda r: r.status, "label"),
            Column(N_("Confirmed"), lambda r: "yes" if r.confirmed else "no", "label"),
            Column(N_("Next step"), lambda r: "claim" if claimable(r) else "", "label",
                   link=lambda r: (f"/provider/claims/new?redemption_id={r.id}"
                                   if claimable(r) else None)),
        ),
        fetch=lambda s, limit, offset, f: redemptions.list_redemptions(
            s, limit=limit, offset=offset, provider_id=provider_id, status=f.get("status"),
            q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), redemptions.STATUSES)),
        filename="bookings",
    )


@router.get("")
def bookings(request: Request, user: ProviderUser) -> Response:
    """The provider's main page: its bookings and what comes next for each."""
    return show_list(request, booking_listing(_provider(user)), template="provider/bookings.html")


# ------------------------------------------------------------------------------ booking


def _categories(request: Request, provider_id: int) -> tuple[str, ...]:
    with transaction(request.app.state.reader) as session:
        return get_provider(session, provider_id).current_categories


class _DryRun(Exception):
    """Carries a preview's result out of the transaction it rolls back."""

    def __init__(self, view: redemptions.RedemptionView) -> None:
        super().__init__("dry run")
        self.view = view


def _booking_args(form: Form) -> dict[str, object]:
    """The service's arguments from the form (InvalidInput names the field at fault)."""
    if not form.get("voucher").strip():
        raise InvalidInput("voucher: the voucher's serial, e.g. V000262", field="voucher")
    if not form.get("authorisation").strip():
        raise InvalidInput("authorisation: the firm's authorisation code",
                           field="authorisation")
    if not form.get("category"):
        raise InvalidInput("category: choose a service", field="category")
    return {"voucher": form.get("voucher"), "authorisation": form.get("authorisation"),
            "category": form.get("category"), "cost_fen": fen(form.get("cost"), "cost"),
            "description": form.get("description")}


def preview(request: Request, user: UserView, form: Form) -> dict[str, object] | None:
    """The policy's decision on this booking, by running the booking service itself in a
    transaction that is rolled back: nothing is held, nothing is logged."""
    try:
        args = _booking_args(form)
        with transaction(request.app.state.sessions) as session:
            raise _DryRun(redemptions.book(session, provider_id=_provider(user), by=by(user),
                                           **args))  # type: ignore[arg-type]
    except _DryRun as done:
        return done.view.decision
    except DomainError as exc:
        form.refuse(exc, by_code=BOOK_CODES)
        return None


def _book_page(request: Request, user: UserView, form: Form, decision: dict[str, object] | None,
               status: int = 200) -> Response:
    return render(request, "provider/book.html", status=status, form=form, decision=decision,
                  categories=_categories(request, _provider(user)))


@router.get("/book")
def book_page(request: Request, user: ProviderUser, voucher: str = "",
              authorisation: str = "") -> Response:
    """The booking form (from an authorisation: its voucher and code filled in)."""
    form = Form({"voucher": voucher, "authorisation": authorisation, "category": "",
                 "cost": "", "description": ""})
    return _book_page(request, user, form, None)


def authorisation_listing(provider_id: int) -> Listing:
    """The firms' authorisations naming this provider, newest first; an open one is booked."""
    def book_link(a: authorisations.AuthorisationView) -> str | None:
        if a.status != "open":
            return None
        return f"/provider/book?{urlencode({'voucher': a.voucher_serial, 'authorisation': a.code})}"

    return Listing(
        title=N_("Authorisations"),
        columns=(
            Column(N_("Authorisation code"), lambda a: a.code),
            Column(N_("Voucher"), lambda a: a.voucher_serial),
            Column(N_("Programme"), lambda a: a.programme),
            Column(N_("Firm"), lambda a: a.firm_name),
            Column(N_("Granted on"), lambda a: a.granted_on, "date"),
            Column(N_("Usable through"), lambda a: a.expires_on, "date"),
            Column(N_("Status"), lambda a: a.status, "label"),
            Column(N_("Next step"), lambda a: "book" if a.status == "open" else "", "label",
                   link=book_link),
        ),
        fetch=lambda s, limit, offset, f: authorisations.list_authorisations(
            s, limit=limit, offset=offset, provider_id=provider_id, status=f.get("status")),
        filters=(Filter("status", N_("Status"), authorisations.SHOWN_STATUSES),),
        filename="authorisations",
    )


@router.get("/authorisations")
def authorisation_list(request: Request, user: ProviderUser) -> Response:
    """What firms authorised this provider to book; each open one leads to the booking form."""
    return show_list(request, authorisation_listing(_provider(user)))


@router.post("/book/preview")
def book_preview(request: Request, user: ProviderUser) -> Response:
    """The preview panel alone (the page's script asks for it as the user types)."""
    form = read_form(request)
    decision = preview(request, user, form)
    return render(request, "provider/_preview.html", form=form, decision=decision)


@router.post("/book")
def book(request: Request, user: ProviderUser) -> Response:
    """Preview (the `preview` button, without script) or book for real."""
    form = read_form(request)
    if form.get("action") == "preview":
        decision = preview(request, user, form)
        return _book_page(request, user, form, decision)
    provider_id = _provider(user)

    def effect(session: Session) -> Done:
        view = redemptions.book(session, provider_id=provider_id, by=by(user),
                                **_booking_args(form))  # type: ignore[arg-type]
        return Done(201, None, view.id)

    # Every refusal of a booking form is the form's (422), a missing voucher included.
    return submit(request, user, form,
                  Action("redemptions.book", "redemption", by_code=BOOK_CODES), effect,
                  done=lambda done: redirect(f"/provider/bookings/{done.object_id}"),
                  again=lambda refused, _: _book_page(
                      request, user, refused, refused.refusal.get("decision"),  # type: ignore[arg-type]
                      status=422))


@router.get("/bookings/{redemption_id}")
def booking_detail(request: Request, user: ProviderUser, redemption_id: Id) -> Response:
    """One booking (only the provider's own) with its decision and what can be done next."""
    with transaction(request.app.state.reader) as session:
        booking = redemptions.get_redemption(session, redemption_id,
                                             provider_id=_provider(user))
    return render(request, "provider/booking.html", booking=booking, decision=booking.decision,
                  form=Form({"amount": ""}))


@router.post("/bookings/{redemption_id}/complete")
def complete(request: Request, user: ProviderUser, redemption_id: Id) -> Response:
    """Complete a booked service, in full or for a smaller amount."""
    form = read_form(request)
    provider_id = _provider(user)

    def effect(session: Session) -> Done:
        amount = fen(form.get("amount"), "amount") if form.get("amount") else None
        view = redemptions.complete(session, redemption_id, provider_id=provider_id,
                                    by=by(user), amount_fen=amount)
        return Done(200, None, view.id)

    def again(refused: Form, status: int) -> Response:
        with transaction(request.app.state.reader) as session:
            booking = redemptions.get_redemption(session, redemption_id,
                                                 provider_id=provider_id)
        return render(request, "provider/booking.html", status=status, booking=booking,
                      decision=booking.decision, form=refused)

    return submit(request, user, form,
                  Action("redemptions.complete", "redemption", redemption_id,
                         missing_is_404=True),
                  effect, done=f"/provider/bookings/{redemption_id}", again=again)


@router.post("/bookings/{redemption_id}/cancel")
def cancel(request: Request, user: ProviderUser, redemption_id: Id) -> Response:
    """Cancel a booked service: the hold goes back to the voucher."""
    provider_id = _provider(user)

    def effect(session: Session) -> Done:
        view = redemptions.cancel(session, redemption_id, by=by(user), provider_id=provider_id)
        return Done(200, None, view.id)

    perform(request, user, action="redemptions.cancel", object_type="redemption",
            object_id=redemption_id, effect=effect)
    return redirect(f"/provider/bookings/{redemption_id}")


# ------------------------------------------------------------------------------ claims


def claim_listing(provider_id: int) -> Listing:
    """The provider's claims, newest first."""
    return Listing(
        title=N_("Claims"),
        columns=(
            Column(N_("Claim"), lambda c: c.id, link=lambda c: f"/provider/claims/{c.id}"),
            Column(N_("Booking"), lambda c: c.redemption_id,
                   link=lambda c: f"/provider/bookings/{c.redemption_id}"),
            Column(N_("Voucher"), lambda c: c.voucher_serial),
            Column(N_("Firm"), lambda c: c.firm_name),
            Column(N_("Programme"), lambda c: c.programme),
            Column(N_("Amount (yuan)"), lambda c: c.amount_fen, "yuan"),
            Column(N_("Filed on"), lambda c: c.filed_on, "date"),
            Column(N_("Status"), lambda c: c.status, "label"),
            Column(N_("Payment batch"), lambda c: c.batch_id),
        ),
        fetch=lambda s, limit, offset, f: claims.list_claims(
            s, limit=limit, offset=offset, provider_id=provider_id, status=f.get("status"),
            q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), claims.STATUSES)),
        filename="claims",
    )


@router.get("/claims")
def claim_list(request: Request, user: ProviderUser) -> Response:
    """The provider's claims and their status."""
    return show_list(request, claim_listing(_provider(user)))


@router.get("/claims/new")
def claim_form(request: Request, user: ProviderUser, redemption_id: str = "") -> Response:
    """The claim form: a confirmed booking and its three evidence files."""
    return render(request, "provider/claim_new.html", form=Form({"redemption_id": redemption_id}),
                  kinds=evidence.KINDS)


@router.post("/claims")
def file_claim(request: Request, user: ProviderUser) -> Response:
    """File the claim with the uploaded evidence (each file checked by the evidence service)."""
    form = read_form(request)
    provider_id = _provider(user)
    files = uploads(request)

    def effect(session: Session) -> Done:
        raw = form.get("redemption_id")
        if not raw.isdecimal() or not 1 <= int(raw) <= 2**63 - 1:
            raise InvalidInput("redemption_id: the booking's number", field="redemption_id")
        view = claims.file_claim(session, int(raw), provider_id=provider_id,
                                 files=_evidence(files), by=by(user))
        return Done(201, None, view.id)

    booking_codes = ("not_found", "not_completed", "not_confirmed", "already_claimed")
    return submit(request, user, form,
                  Action("claims.file", "claim", fields={k: k for k in evidence.KINDS},
                         by_code=dict.fromkeys(booking_codes, "redemption_id")),
                  effect, done=lambda done: redirect(f"/provider/claims/{done.object_id}"),
                  again=lambda refused, _: render(request, "provider/claim_new.html",
                                                  status=422, form=refused,
                                                  kinds=evidence.KINDS))


def _evidence(files: dict[str, UploadFile]) -> list[evidence.Upload]:
    """The chosen evidence files, each refused past the evidence size bound."""
    chosen = []
    for kind in evidence.KINDS:
        if kind in files:
            data = files[kind].file.read(evidence.MAX_BYTES + 1)
            if len(data) > evidence.MAX_BYTES:
                raise InvalidInput(f"{kind}: larger than {evidence.MAX_BYTES} bytes",
                                   code="evidence_too_large", field=kind)
            chosen.append(evidence.Upload(kind, files[kind].filename or kind, data))
    return chosen


@router.get("/claims/{claim_id}")
def claim_detail(request: Request, user: ProviderUser, claim_id: Id) -> Response:
    """One claim (only the provider's own) with its evidence."""
    with transaction(request.app.state.reader) as session:
        claim = claims.get_claim(session, claim_id, provider_id=_provider(user))
    return render(request, "provider/claim.html", claim=claim)


def evidence_download(request: Request, claim_id: int, kind: str,
                      provider_id: int | None = None) -> Response:
    """A claim's evidence file as stored (only the provider's own claim when it is given)."""
    if kind not in evidence.KINDS:
        raise NotFound(f"no evidence kind {kind}")
    with transaction(request.app.state.reader) as session:
        claims.claim_row(session, claim_id, provider_id=provider_id)
        view, data = evidence.read(session, claim_id, kind)
    return Response(data, media_type=view.content_type,
                    headers={"X-Content-SHA256": view.sha256})


@router.get("/claims/{claim_id}/evidence/{kind}")
def claim_evidence(request: Request, user: ProviderUser, claim_id: Id, kind: str) -> Response:
    """An evidence file as stored."""
    return evidence_download(request, claim_id, kind, provider_id=_provider(user))


# ------------------------------------------------------------------------------ money


@dataclass(frozen=True)
class MoneyLine:
    """Where a provider's money stands in one programme, in fen."""

    programme: str
    booked: int
    owed: int
    in_payment: int
    paid: int
    owed_back: int


def _money_line(programme: str, b: Balance | None, owed: Balance | None,
                not_paid: int) -> MoneyLine:
    """The line of one programme from its provider account `b`, receivable `owed`, and the
    credits to it that paid nothing (clawed-back completions, payments the bank returned)."""
    if b is None:
        return MoneyLine(programme, 0, 0, 0, 0, 0)
    # P:receivable:S is credited with what a clawback of a paid claim asks back.
    owed_back = -owed.debit_balance if owed is not None else 0
    # P:provider:S: holds are pending debits, completions posted debits, batches pending
    # credits, payments posted credits; so are clawbacks (reversed completions), and a bank
    # return debits back what its payment credited.
    return MoneyLine(programme, b.debits_pending, b.debit_balance - b.credits_pending,
                     b.credits_pending, b.credits_posted - not_paid, owed_back)


def money_listing(provider_id: int) -> Listing:
    """Per programme: booked, owed, in payment, paid and owed back (after a clawback)."""
    def fetch(session: Session, limit: int, offset: int, _f: dict[str, str]) -> Page[MoneyLine]:
        # A provider is paid in voucher programmes only (awards go to firms).
        page = list_programmes(session, limit=limit, offset=offset, kind="voucher")
        # The page's provider and receivable accounts in one query, not two per programme.
        found = balances_of(session, [account(p.code, kind, provider_id)
                                      for p in page.items for kind in ("provider", "receivable")])
        ids = [p.id for p in page.items]
        clawed = clawed_back_by_programme(session, provider_id, ids)
        returned = returned_to_provider_by_programme(session, provider_id, ids)
        lines = [_money_line(p.code, found.get(account(p.code, "provider", provider_id)),
                             found.get(account(p.code, "receivable", provider_id)),
                             clawed.get(p.id, 0) + returned.get(p.id, 0))
                 for p in page.items]
        return Page(lines, page.total, page.limit, page.offset)

    return Listing(
        title=N_("Owed and paid"),
        columns=(
            Column(N_("Programme"), lambda m: m.programme),
            Column(N_("Booked, not completed (yuan)"), lambda m: m.booked, "yuan"),
            Column(N_("Owed (yuan)"), lambda m: m.owed, "yuan"),
            Column(N_("In payment (yuan)"), lambda m: m.in_payment, "yuan"),
            Column(N_("Paid (yuan)"), lambda m: m.paid, "yuan"),
            Column(N_("Owed back (yuan)"), lambda m: m.owed_back, "yuan"),
            Column(N_("Statement"), lambda m: "statement", "label",
                   link=lambda m: f"/reports/provider-statement.pdf?program={m.programme}"),
        ),
        fetch=fetch,
        filename="owed-and-paid",
    )


@router.get("/money")
def money(request: Request, user: ProviderUser) -> Response:
    """What the provider is owed and was paid, by programme (from its ledger accounts)."""
    return show_list(request, money_listing(_provider(user)))
