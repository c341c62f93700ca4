"""Voucher applications (申领) in the console: the firm applies, follows its applications and
sees each decision's trace; the approver reviews the queue and approves (the voucher is
issued at once) or rejects with a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form, uploads
from api.console.i18n import N_
from api.console.lists import SEARCH, Column, Filter, Listing, search_text, show_list
from api.console.pages.approver import ApproverUser, decide_and_show
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render
from api.mutations import Done
from api.routes.programs import by
from api.schemas import Id
from ledger.core.db import transaction
from ledger.core.errors import DomainError, InvalidInput, NotFound, PolicyRefused
from ledger.core.money import yuan_to_fen
from ledger.registry import evidence
from ledger.registry.names import actor_names
from ledger.registry.users import UserView
from ledger.vouchers import applications as apps

router = console_router()
FIRM, APPROVER = "/firm/applications", "/approver/applications"
FirmUser = Annotated[UserView, Depends(signed_in("firm"))]

add_nav(N_("Voucher applications"), "/firm/applications", "firm")
add_nav(N_("Applications to review"), "/approver/applications", "approver")


def _firm(user: UserView) -> int:
    assert user.firm_id is not None  # the users table ties a firm user to its firm
    return user.firm_id


def firm_listing(firm_id: int) -> Listing:
    """The firm's applications, newest first."""
    return Listing(
        title=N_("Voucher applications"),
        columns=(
            Column(N_("Application"), lambda a: a.id,
                   link=lambda a: f"/firm/applications/{a.id}"),
            Column(N_("Programme"), lambda a: a.programme),
            Column(N_("Window"), lambda a: a.window),
            Column(N_("Amount (yuan)"), lambda a: a.amount_fen, "yuan"),
            Column(N_("Applied on"), lambda a: a.applied_on, "date"),
            Column(N_("Status"), lambda a: a.status, "label"),
            Column(N_("Voucher"), lambda a: a.voucher_serial,
                   link=lambda a: f"/firm/vouchers/{a.voucher_id}" if a.voucher_id else None),
        ),
        fetch=lambda s, limit, offset, f: apps.list_applications(
            s, limit=limit, offset=offset, firm_id=firm_id, status=f.get("status"),
            q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), apps.STATUSES)),
        filename="applications",
    )


@router.get(FIRM)
def my_applications(request: Request, user: FirmUser) -> Response:
    """The firm's applications and their status."""
    return show_list(request, firm_listing(_firm(user)), template="firm/applications.html")


def _form_page(request: Request, form: Form, status: int = 200) -> Response:
    with transaction(request.app.state.reader) as session:
        windows = apps.open_windows(session, policy_set=request.app.state.policies)
    return render(request, "firm/application_new.html", status=status, form=form,
                  windows=windows, kinds=apps.DOCUMENTS, decision=form.refusal.get("decision"))


@router.get(f"{FIRM}/new")
def new_application(request: Request, user: FirmUser) -> Response:
    """The application form: the windows open today, the amounts they offer, the documents."""
    return _form_page(request, Form({"programme": "", "amount": ""}))


def _documents(request: Request) -> list[evidence.Upload]:
    """The chosen documents, each refused past the evidence size bound."""
    files = uploads(request)
    chosen = []
    for kind in apps.DOCUMENTS:
        if kind in files:
            data = files[kind].file.read(evidence.MAX_BYTES + 1)
            if len(data) > evidence.MAX_BYTES:
                raise InvalidInput(f"{kind}: larger than {evidence.MAX_BYTES} bytes",
                                   code="evidence_too_large", field=kind)
            chosen.append(evidence.Upload(kind, files[kind].filename or kind, data))
    return chosen


@router.post(FIRM)
def apply(request: Request, user: FirmUser) -> Response:
    """Apply; a refusal shows the form again with the code and the policy's trace, and the
    refused application is kept (as the API keeps it)."""
    form = read_form(request)
    firm_id = _firm(user)
    programme = form.get("programme")
    amount: list[int] = []

    def effect(session: Session) -> Done:
        if not programme:
            raise InvalidInput("programme: choose a programme", field="programme")
        amount.append(yuan_to_fen(form.get("amount"), field="amount"))
        view = apps.apply_for_voucher(session, programme, firm_id=firm_id,
                                      amount_fen=amount[0], documents=_documents(request),
                                      by=by(user), policy_set=request.app.state.policies)
        return Done(201, None, view.id)

    def refuse(refused: Form, exc: DomainError) -> None:
        if isinstance(exc, PolicyRefused) and amount:
            with transaction(request.app.state.sessions) as session:
                apps.record_refusal(session, programme, firm_id=firm_id, amount_fen=amount[0],
                                    decision=exc.detail["decision"], by=by(user))
        refused.refuse(exc, {k: k for k in apps.DOCUMENTS},
                       {"amount_not_allowed": "amount", "documents_missing": "business_licence"})

    return submit(request, user, form, Action("applications.apply", "application"), effect,
                  done=lambda done: redirect(f"/firm/applications/{done.object_id}"),
                  again=lambda refused, status: _form_page(request, refused, status),
                  refuse=refuse)


@router.get(FIRM + "/{application_id}")
def application_detail(request: Request, user: FirmUser, application_id: Id) -> Response:
    """One application (only the firm's own) with the policy's trace and its review."""
    with transaction(request.app.state.reader) as session:
        application = apps.get_application(session, application_id, firm_id=_firm(user))
        people = actor_names(session, [application.reviewed_by])
    return render(request, "firm/application.html", application=application, people=people,
                  decision=application.decision,
                  documents_base=f"/firm/applications/{application_id}/documents/")


def _download(request: Request, application_id: int, kind: str, firm_id: int | None
              ) -> Response:
    if kind not in apps.DOCUMENTS:
        raise NotFound(f"no document kind {kind}")
    with transaction(request.app.state.reader) as session:
        view, data = apps.read_document(session, application_id, kind, firm_id=firm_id)
    return Response(data, media_type=view.content_type,
                    headers={"X-Content-SHA256": view.sha256,
                             "Content-Disposition": f'attachment; filename="{kind}"'})


@router.get(FIRM + "/{application_id}/documents/{kind}")
def firm_document(request: Request, user: FirmUser, application_id: Id, kind: str
                  ) -> Response:
    """A document the firm attached, as stored."""
    return _download(request, application_id, kind, _firm(user))


# ------------------------------------------------------------------------------ approver


def review_queue() -> Listing:
    """Applications, applied ones (awaiting review) unless another status is chosen."""
    return Listing(
        title=N_("Applications to review"),
        columns=(
            Column(N_("Application"), lambda a: a.id,
                   link=lambda a: f"/approver/applications/{a.id}"),
            Column(N_("Programme"), lambda a: a.programme),
            Column(N_("Firm"), lambda a: a.firm_name),
            Column(N_("Window"), lambda a: a.window),
            Column(N_("Amount (yuan)"), lambda a: a.amount_fen, "yuan"),
            Column(N_("Applied on"), lambda a: a.applied_on, "date"),
            Column(N_("Status"), lambda a: a.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: apps.list_applications(
            s, limit=limit, offset=offset, status=f.get("status"), q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), apps.STATUSES, default="applied")),
        filename="applications",
    )


@router.get(APPROVER)
def queue(request: Request, user: ApproverUser) -> Response:
    """Applications waiting for review."""
    return show_list(request, review_queue())


def _review_page(request: Request, application_id: int, form: Form, status: int = 200
                 ) -> Response:
    with transaction(request.app.state.reader) as session:
        application = apps.get_application(session, application_id)
        people = actor_names(session, [application.reviewed_by])
    return render(request, "approver/application.html", status=status, people=people,
                  application=application, decision=application.decision, form=form,
                  documents_base=f"/approver/applications/{application_id}/documents/")


@router.get(APPROVER + "/{application_id}")
def review(request: Request, user: ApproverUser, application_id: Id) -> Response:
    """One application: documents, the policy's trace, approve or reject."""
    return _review_page(request, application_id, Form({"reason": ""}))


@router.get(APPROVER + "/{application_id}/documents/{kind}")
def approver_document(request: Request, user: ApproverUser, application_id: Id, kind: str
                      ) -> Response:
    """A document of any application, as stored."""
    return _download(request, application_id, kind, None)


@router.post(APPROVER + "/{application_id}/approve")
def approve(request: Request, user: ApproverUser, application_id: Id) -> Response:
    """Approve: the voucher is issued in the same transaction."""
    return decide_and_show(
        request, user, "applications.approve", "application", application_id,
        lambda s, reason: apps.approve_application(s, application_id, by=by(user),
                                                   reason=reason),
        lambda form, status: _review_page(request, application_id, form, status),
        f"{APPROVER}/{application_id}")


@router.post(APPROVER + "/{application_id}/reject")
def reject(request: Request, user: ApproverUser, application_id: Id) -> Response:
    """Reject with a reason."""
    return decide_and_show(
        request, user, "applications.reject", "application", application_id,
        lambda s, reason: apps.reject_application(s, application_id, by=by(user),
                                                  reason=reason),
        lambda form, status: _review_page(request, application_id, form, status),
        f"{APPROVER}/{application_id}")
