"""The approver's pages: the queue of filed claims and applied awards, each with its evidence
and the policy's decision trace, approved or rejected with a reason (maker-checker is the
services' own: a refusal shows with its code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form
from api.console.i18n import N_
from api.console.labels import BATCH_WORDS, batch_status
from api.console.lists import SEARCH, Column, Filter, Listing, search_text, show_list
from api.console.pages.batch_cancel import cancel_submit
from api.console.pages.provider import evidence_download
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, render, set_home
from api.mutations import Done
from api.routes.programs import by
from api.schemas import Id
from ledger.awards import award as awards
from ledger.core.db import transaction
from ledger.payments import batches as payments
from ledger.registry.names import actor_names
from ledger.registry.users import UserView
from ledger.vouchers import claims, redemptions

router = console_router("/approver")
ApproverUser = Annotated[UserView, Depends(signed_in("approver"))]

add_nav(N_("Claims to decide"), "/approver", "approver")
add_nav(N_("Awards to decide"), "/approver/awards", "approver")
add_nav(N_("Batches to release"), "/approver/batches", "approver")
set_home("approver", "/approver")


def claim_queue() -> Listing:
    """Claims, filed ones (awaiting a decision) unless another status is chosen."""
    return Listing(
        title=N_("Claims to decide"),
        columns=(
            Column(N_("Claim"), lambda c: c.id, link=lambda c: f"/approver/claims/{c.id}"),
            Column(N_("Programme"), lambda c: c.programme),
            Column(N_("Provider"), lambda c: c.provider_name),
            Column(N_("Firm"), lambda c: c.firm_name),
            Column(N_("Voucher"), lambda c: c.voucher_serial),
            Column(N_("Amount (yuan)"), lambda c: c.amount_fen, "yuan"),
            Column(N_("Filed on"), lambda c: c.filed_on, "date"),
            Column(N_("Evidence files"), lambda c: len(c.evidence), "int"),
            Column(N_("Status"), lambda c: c.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: claims.list_claims(
            s, limit=limit, offset=offset, status=f.get("status"), q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), claims.STATUSES, default="filed")),
        filename="claims",
    )


@router.get("")
def claim_list(request: Request, user: ApproverUser) -> Response:
    """The approver's main page: claims waiting for a decision."""
    return show_list(request, claim_queue())


def _claim_page(request: Request, claim_id: int, form: Form, status: int = 200) -> Response:
    with transaction(request.app.state.reader) as session:
        claim = claims.get_claim(session, claim_id)
        booking = redemptions.get_redemption(session, claim.redemption_id)
        people = actor_names(session, [claim.decided_by])
    return render(request, "approver/claim.html", status=status, claim=claim, booking=booking,
                  decision=booking.decision, form=form, people=people)


@router.get("/claims/{claim_id}")
def claim_detail(request: Request, user: ApproverUser, claim_id: Id) -> Response:
    """One claim: its evidence, the booking's decision trace, approve or reject."""
    return _claim_page(request, claim_id, Form({"reason": ""}))


@router.get("/claims/{claim_id}/evidence/{kind}")
def claim_evidence(request: Request, user: ApproverUser, claim_id: Id, kind: str) -> Response:
    """An evidence file of any claim, as stored."""
    return evidence_download(request, claim_id, kind)


def _decide(request: Request, user: UserView, action: str, object_type: str, object_id: int,
            decide: Callable[[Session, str], object], again: Callable[[Form, int], Response],
            done_url: str) -> Response:
    """Run a decision through the operation log; a refusal re-renders the page with it."""
    form = read_form(request)

    def effect(session: Session) -> Done:
        decide(session, form.get("reason"))
        return Done(200, None, object_id)

    return submit(request, user, form, Action(action, object_type, object_id, missing_is_404=True),
                  effect, done=done_url, again=again)


# Other review queues (voucher applications) decide through the same form handling.
decide_and_show = _decide


@router.post("/claims/{claim_id}/approve")
def approve_claim(request: Request, user: ApproverUser, claim_id: Id) -> Response:
    """Approve a filed claim (not one this user filed or booked)."""
    return _decide(request, user, "claims.approve", "claim", claim_id,
                   lambda s, reason: claims.approve(s, claim_id, by=by(user), reason=reason),
                   lambda form, status: _claim_page(request, claim_id, form, status),
                   f"/approver/claims/{claim_id}")


@router.post("/claims/{claim_id}/reject")
def reject_claim(request: Request, user: ApproverUser, claim_id: Id) -> Response:
    """Reject a filed claim with a reason."""
    return _decide(request, user, "claims.reject", "claim", claim_id,
                   lambda s, reason: claims.reject(s, claim_id, by=by(user), reason=reason),
                   lambda form, status: _claim_page(request, claim_id, form, status),
                   f"/approver/claims/{claim_id}")


# ------------------------------------------------------------------------------ awards


def award_queue() -> Listing:
    """Award applications, applied ones (awaiting a decision) unless another status is chosen."""
    return Listing(
        title=N_("Awards to decide"),
        columns=(
            Column(N_("Application"), lambda a: a.id, link=lambda a: f"/approver/awards/{a.id}"),
            Column(N_("Programme"), lambda a: a.programme),
            Column(N_("Firm"), lambda a: a.firm_name),
            Column(N_("Tier"), lambda a: a.tier, "label"),
            Column(N_("Level"), lambda a: a.level, "label"),
            Column(N_("Certificate"), lambda a: a.document_no),
            Column(N_("Applied on"), lambda a: a.applied_on, "date"),
            Column(N_("Amount (yuan)"), lambda a: a.amount_fen, "yuan"),
            Column(N_("Status"), lambda a: a.status, "label"),
        ),
        fetch=lambda s, limit, offset, f: awards.list_awards(
            s, limit=limit, offset=offset, status=f.get("status"), q=search_text(f)),
        filters=(SEARCH, Filter("status", N_("Status"), awards.STATUSES, default="applied")),
        filename="awards",
    )


@router.get("/awards")
def award_list(request: Request, user: ApproverUser) -> Response:
    """Award applications waiting for a decision."""
    return show_list(request, award_queue())


def _award_page(request: Request, award_id: int, form: Form, status: int = 200) -> Response:
    with transaction(request.app.state.reader) as session:
        award = awards.get_award(session, award_id)
        documents = awards.award_documents(session, award_id)
        people = actor_names(session, [award.recorded_by, award.decided_by])
    return render(request, "approver/award.html", status=status, award=award,
                  decision=award.decision, form=form, documents=documents,
                  documents_base=f"/approver/awards/{award_id}/documents/", people=people)


@router.get("/awards/{award_id}")
def award_detail(request: Request, user: ApproverUser, award_id: Id) -> Response:
    """One application: the certification, the policy's decision trace, approve or reject."""
    return _award_page(request, award_id, Form({"reason": ""}))


@router.get("/awards/{award_id}/documents/{kind}")
def award_document(request: Request, user: ApproverUser, award_id: Id, kind: str) -> Response:
    """A file the firm attached to its award application, as stored."""
    with transaction(request.app.state.reader) as session:
        view, data = awards.read_award_document(session, award_id, kind)
    return Response(data, media_type=view.content_type,
                    headers={"X-Content-SHA256": view.sha256})


@router.post("/awards/{award_id}/approve")
def approve_award(request: Request, user: ApproverUser, award_id: Id) -> Response:
    """Approve an application (not one this user recorded): the amount is set aside."""
    return _decide(request, user, "awards.approve", "award", award_id,
                   lambda s, reason: awards.approve_award(s, award_id, by=by(user),
                                                          reason=reason),
                   lambda form, status: _award_page(request, award_id, form, status),
                   f"/approver/awards/{award_id}")


@router.post("/awards/{award_id}/reject")
def reject_award(request: Request, user: ApproverUser, award_id: Id) -> Response:
    """Reject an application with a reason."""
    return _decide(request, user, "awards.reject", "award", award_id,
                   lambda s, reason: awards.reject_award(s, award_id, by=by(user),
                                                         reason=reason),
                   lambda form, status: _award_page(request, award_id, form, status),
                   f"/approver/awards/{award_id}")


# ------------------------------------------------------------------------ payment batches


def batch_queue() -> Listing:
    """Payment batches waiting for release unless another status is chosen."""
    return Listing(
        title=N_("Batches to release"),
        columns=(
            Column(N_("Batch"), lambda b: b.id, link=lambda b: f"/approver/batches/{b.id}"),
            Column(N_("Programme"), lambda b: b.programme),
            Column(N_("Lines"), lambda b: len(b.lines), "int"),
            Column(N_("Total (yuan)"), lambda b: b.total_fen, "yuan"),
            Column(N_("Created"), lambda b: b.created_at, "time"),
            Column(N_("Status"), lambda b: batch_status(b.status), "label"),
        ),
        fetch=lambda s, limit, offset, f: payments.list_batches(
            s, limit=limit, offset=offset, status=f.get("status")),
        filters=(Filter("status", N_("Status"), payments.STATUSES, default="created",
                        words=BATCH_WORDS),),
        filename="batches",
    )


@router.get("/batches")
def batch_list(request: Request, user: ApproverUser) -> Response:
    """Payment batches waiting for an approver's release."""
    return show_list(request, batch_queue())


def _batch_page(request: Request, batch_id: int, form: Form, status: int = 200,
                **context: object) -> Response:
    with transaction(request.app.state.reader) as session:
        batch = payments.get_batch(session, batch_id)
        people = actor_names(session, [batch.created_by, batch.released_by, batch.paid_by,
                                       batch.cancelled_by])
    return render(request, "approver/batch.html", status=status, batch=batch, form=form,
                  people=people, **context)


@router.get("/batches/{batch_id}")
def batch_detail(request: Request, user: ApproverUser, batch_id: Id) -> Response:
    """One batch: its lines, payees, bank accounts and total; release it."""
    return _batch_page(request, batch_id, Form())


@router.post("/batches/{batch_id}/release")
def release_batch(request: Request, user: ApproverUser, batch_id: Id) -> Response:
    """Release the batch (not one this user made): its bank file becomes available."""
    return submit(request, user, Form(),
                  Action("payments.release", "batch", batch_id, missing_is_404=True),
                  lambda session: Done(200, None, payments.release_batch(
                      session, batch_id, by=by(user)).id),
                  done=f"/approver/batches/{batch_id}",
                  again=lambda form, status: _batch_page(request, batch_id, form, status))


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(request: Request, user: ApproverUser, batch_id: Id) -> Response:
    """Withdraw a batch this approver will not release, with a reason: asked once more."""
    return cancel_submit(request, user, batch_id, "/approver/batches",
                         lambda form, status, **context: _batch_page(
                             request, batch_id, form, status, **context))
