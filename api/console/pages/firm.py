"""The firm's pages: its vouchers (balance, expiry, history), services to confirm, its award
applications (apply with the certification's scan; each decision's trace), and its
statement (PDF)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form, uploads
from api.console.i18n import N_
from api.console.lists import SEARCH, Column, Filter, Listing, search_text, show_list
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render, set_home
from api.mutations import Done, perform
from api.routes.programs import by
from api.schemas import Id
from ledger.awards import award as awards
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.programmes.programme import list_programmes, programme_codes
from ledger.registry import evidence
from ledger.registry.users import UserView
from ledger.vouchers import redemptions
from ledger.vouchers import voucher as vouchers

router = console_router("/firm")
FirmUser = Annotated[UserView, Depends(signed_in("firm"))]

add_nav(N_("My vouchers"), "/firm", "firm")
add_nav(N_("Services to confirm"), "/firm/confirmations", "firm")
add_nav(N_("Award applications"), "/firm/awards", "firm")
set_home("firm", "/firm")


def _firm(user: UserView) -> int:
    assert user.firm_id is not None  # the users table ties a firm user to its firm
    return user.firm_id


def voucher_listing(firm_id: int) -> Listing:
    """The firm's vouchers, newest first, with balances."""
    return Listing(
        title=N_("My vouchers"),
        columns=(
            Column(N_("Voucher"), lambda v: v.serial, link=lambda v: f"/firm/vouchers/{v.id}"),
            Column(N_("Programme"), lambda v: v.programme),
            Column(N_("Amount issued (yuan)"), lambda v: v.amount_fen, "yuan"),
            Column(N_("Available (yuan)"), lambda v: v.available_fen, "yuan"),
            Column(N_("Held (yuan)"), lambda v: v.held_fen, "yuan"),
            Column(N_("Spent (yuan)"), lambda v: v.spent_fen, "yuan"),
            Column(N_("Issued on"), lambda v: v.issued_on, "date"),
            Column(N_("Expires on"), lambda v: v.expires_on, "date"),
            Column(N_("Status"), lambda v: v.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: vouchers.list_vouchers(
            s, limit=limit, offset=offset, firm_id=firm_id, q=search_text(f)),
        filters=(SEARCH,),
        filename="vouchers",
    )


@router.get("")
def my_vouchers(request: Request, user: FirmUser) -> Response:
    """The firm's main page: its vouchers and what each still holds."""
    return show_list(request, voucher_listing(_firm(user)), template="firm/vouchers.html",
                     # The programmes a statement can be asked for (the /reports route).
                     read=lambda session: {"programmes": [
                         code for code, _ in programme_codes(session)]})


@router.get("/vouchers/{voucher_id}")
def voucher_detail(request: Request, user: FirmUser, voucher_id: Id) -> Response:
    """One voucher (only the firm's own, else 404) with every movement on it."""
    with transaction(request.app.state.reader) as session:
        voucher = vouchers.get_voucher(session, voucher_id, firm_id=_firm(user))
        history = vouchers.voucher_history(session, voucher_id, firm_id=_firm(user))
    return render(request, "firm/voucher.html", voucher=voucher, history=history)


def confirmation_listing(firm_id: int) -> Listing:
    """Services booked on the firm's vouchers; completed ones wait for its confirmation."""
    def confirm(r: redemptions.RedemptionView) -> tuple[str, str] | None:
        if r.status == "completed" and not r.confirmed:
            return (f"/firm/redemptions/{r.id}/confirm", N_("Confirm delivery"))
        return None

    return Listing(
        title=N_("Services to confirm"),
        columns=(
            Column(N_("Booking"), lambda r: r.id, link=lambda r: f"/firm/redemptions/{r.id}"),
            Column(N_("Voucher"), lambda r: r.voucher_serial,
                   link=lambda r: f"/firm/vouchers/{r.voucher_id}"),
            Column(N_("Provider"), lambda r: r.provider_name),
            Column(N_("Service"), lambda r: r.category, "label"),
            Column(N_("Cost (yuan)"), lambda r: r.cost_fen, "yuan"),
            Column(N_("Subsidy (yuan)"), lambda r: r.amount_fen, "yuan"),
            Column(N_("Status"), lambda r: r.status, "label"),
            Column(N_("Completed on"), lambda r: r.completed_on, "date"),
            Column(N_("Confirmed"), lambda r: "yes" if r.confirmed else "no", "label"),
            Column(N_("Action"), lambda r: None, action=confirm),
        ),
        fetch=lambda s, limit, offset, f: redemptions.list_redemptions(
            s, limit=limit, offset=offset, firm_id=firm_id, status=f.get("status"),
            q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), redemptions.STATUSES)),
        filename="services",
    )


@router.get("/confirmations")
def confirmations(request: Request, user: FirmUser) -> Response:
    """Completed services wait here for the firm to confirm delivery."""
    return show_list(request, confirmation_listing(_firm(user)))


@router.post("/redemptions/{redemption_id}/confirm")
def confirm(request: Request, user: FirmUser, redemption_id: Id) -> Response:
    """Confirm that a completed service was delivered (the API's `confirm`)."""
    firm_id = _firm(user)

    def effect(session: Session) -> Done:
        view = redemptions.confirm(session, redemption_id, firm_id=firm_id, by=by(user))
        return Done(200, None, view.id)

    perform(request, user, action="redemptions.confirm", object_type="redemption",
            object_id=redemption_id, effect=effect)
    return redirect("/firm/confirmations")


@router.get("/redemptions/{redemption_id}")
def redemption_detail(request: Request, user: FirmUser, redemption_id: Id) -> Response:
    """One service booked on the firm's voucher: confirm it, or dispute it with a reason."""
    with transaction(request.app.state.reader) as session:
        booking = redemptions.get_redemption(session, redemption_id, firm_id=_firm(user))
    return render(request, "firm/redemption.html", booking=booking, form=Form({"reason": ""}))


@router.post("/redemptions/{redemption_id}/dispute")
def dispute(request: Request, user: FirmUser, redemption_id: Id) -> Response:
    """The service was not delivered as booked: no claim until the firm confirms."""
    form = read_form(request)
    firm_id = _firm(user)

    def effect(session: Session) -> Done:
        view = redemptions.dispute(session, redemption_id, firm_id=firm_id,
                                   reason=form.get("reason"), by=by(user))
        return Done(200, None, view.id)

    def again(refused: Form, status: int) -> Response:
        with transaction(request.app.state.reader) as session:
            booking = redemptions.get_redemption(session, redemption_id, firm_id=firm_id)
        return render(request, "firm/redemption.html", status=status, booking=booking,
                      form=refused)

    return submit(request, user, form,
                  Action("redemptions.dispute", "redemption", redemption_id, missing_is_404=True),
                  effect, done=f"/firm/redemptions/{redemption_id}", again=again)


def award_listing(firm_id: int) -> Listing:
    """The firm's award applications, newest first."""
    return Listing(
        title=N_("Award applications"),
        columns=(
            Column(N_("Application"), lambda a: a.id, link=lambda a: f"/firm/awards/{a.id}"),
            Column(N_("Programme"), lambda a: a.programme),
            Column(N_("Tier"), lambda a: a.tier, "label"),
            Column(N_("Level"), lambda a: a.level, "label"),
            Column(N_("Certificate"), lambda a: a.document_no),
            Column(N_("Applied on"), lambda a: a.applied_on, "date"),
            Column(N_("Amount (yuan)"), lambda a: a.amount_fen, "yuan"),
            Column(N_("Status"), lambda a: a.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: awards.list_awards(
            s, limit=limit, offset=offset, firm_id=firm_id, status=f.get("status")),
        filters=(Filter("status", N_("Status"), awards.STATUSES),),
        filename="awards",
    )


@router.get("/awards")
def my_awards(request: Request, user: FirmUser) -> Response:
    """The firm's award applications."""
    return show_list(request, award_listing(_firm(user)), template="firm/awards.html")


def _award_programmes(request: Request) -> list[str]:
    with transaction(request.app.state.reader) as session:
        return [p.code for p in list_programmes(session, limit=100).items
                if awards.is_award_policy(p.policy)]


def _award_form(request: Request, form: Form, status: int = 200) -> Response:
    return render(request, "firm/award_new.html", status=status, form=form,
                  programmes=_award_programmes(request), tiers=awards.TIERS,
                  levels=awards.LEVELS, decision=form.refusal.get("decision"))


@router.get("/awards/new")
def new_award(request: Request, user: FirmUser) -> Response:
    """The award application form: tier, level, certification number and date, its scan."""
    return _award_form(request, Form({"programme": "", "tier": "", "level": "",
                                      "document_no": "", "certified_on": ""}))


@router.post("/awards")
def apply_award(request: Request, user: FirmUser) -> Response:
    """Apply (the API's `POST /awards`); a refusal shows the form with the policy's trace."""
    form = read_form(request)
    firm_id = _firm(user)
    scan = uploads(request).get("award_certificate")

    def effect(session: Session) -> Done:
        try:
            certified_on = dt.date.fromisoformat(form.get("certified_on"))
        except ValueError as exc:
            raise InvalidInput("certified_on: a date (YYYY-MM-DD)",
                               field="certified_on") from exc
        attachment = None
        if scan is not None:
            data = scan.file.read(evidence.MAX_BYTES + 1)
            if len(data) > evidence.MAX_BYTES:
                raise InvalidInput("larger than the file bound", code="evidence_too_large",
                                   field="award_certificate")
            attachment = evidence.Upload("award_certificate", scan.filename or "", data)
        view = awards.apply_award(
            session, form.get("programme"), firm_id=firm_id, tier=form.get("tier"),
            level=form.get("level"), document_no=form.get("document_no"),
            certified_on=certified_on, by=by(user), policy_set=request.app.state.policies,
            attachment=attachment)
        return Done(201, None, view.id)

    return submit(request, user, form,
                  Action("awards.apply", "award", fields={"programme": "programme"},
                         by_code={"certification_not_new": "certified_on",
                                  "certification_mismatch": "certified_on",
                                  "wrong_programme_kind": "programme"}),
                  effect, done=lambda done: redirect(f"/firm/awards/{done.object_id}"),
                  again=lambda refused, status: _award_form(request, refused, status))


@router.get("/awards/{award_id}")
def award_detail(request: Request, user: FirmUser, award_id: Id) -> Response:
    """One application (only the firm's own) with the policy's decision trace and its scan."""
    with transaction(request.app.state.reader) as session:
        award = awards.get_award(session, award_id, firm_id=_firm(user))
        documents = awards.award_documents(session, award_id, firm_id=_firm(user))
    return render(request, "firm/award.html", award=award, decision=award.decision,
                  documents=documents, documents_base=f"/firm/awards/{award_id}/documents/")


@router.get("/awards/{award_id}/documents/{kind}")
def award_document(request: Request, user: FirmUser, award_id: Id, kind: str) -> Response:
    """The firm's own attached certification document, as stored."""
    with transaction(request.app.state.reader) as session:
        view, data = awards.read_award_document(session, award_id, kind, firm_id=_firm(user))
    return Response(data, media_type=view.content_type,
                    headers={"X-Content-SHA256": view.sha256})
