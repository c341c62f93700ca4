"""公示 of awards in the console: the operator publishes approved awards and records
objections; an approver decides them; anyone reads a list and its PDF without signing in."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form, read_form
from api.console.i18n import N_
from api.console.pages.operator import OperatorUser, programme_codes
from api.console.session import signed_in
from api.console.submit import Action, submit
from api.console.web import add_nav, console_router, redirect, render
from api.mutations import Done
from api.routes.programs import by
from api.schemas import Id
from ledger.awards import publicity
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.core.seal import seal_committed
from ledger.registry.names import actor_names
from ledger.registry.users import UserView
from reports.fonts import report_font
from reports.publicity import render_publication

router = console_router()
Reader = Annotated[UserView, Depends(signed_in("operator", "approver", "auditor"))]
ApproverUser = Annotated[UserView, Depends(signed_in("approver"))]

add_nav(N_("Award publicity"), "/operator/awards/publications", "operator", "approver",
        "auditor")


def _list_page(request: Request, form: Form, *, status: int = 200) -> Response:
    codes = programme_codes(request, "award")
    with transaction(request.app.state.reader) as session:
        page = publicity.list_publications(session, limit=50)
    return render(request, "operator/publications.html", status=status, form=form,
                  codes=codes, page=page, today=publicity.today())


@router.get("/operator/awards/publications")
def publications(request: Request, user: Reader) -> Response:
    """Every 公示 list, newest first; the operator publishes a programme's approved awards."""
    return _list_page(request, Form({"programme": ""}))


def _ids(text: str) -> list[int] | None:
    """Award ids typed as `3, 5 8` (empty: every approved, unpublished award)."""
    parts = text.replace(",", " ").replace("，", " ").split()
    if not parts:
        return None
    if not all(p.isdecimal() and 0 < int(p) < 2**53 for p in parts):
        raise InvalidInput("award_ids: award numbers separated by commas", field="award_ids")
    return [int(p) for p in parts]


@router.post("/operator/awards/publications")
def publish(request: Request, user: OperatorUser) -> Response:
    """Publish the programme's approved awards (or the ones named) as a list from today."""
    form = read_form(request)

    def effect(session: Session) -> Done:
        view = publicity.publish_awards(session, form.get("programme"), by=by(user),
                                        award_ids=_ids(form.get("award_ids")),
                                        policy_set=request.app.state.policies)
        return Done(201, None, view.id)

    return submit(request, user, form,
                  Action("awards.publish", "award_publication",
                         by_code={"not_found": "programme", "nothing_to_publish": "programme",
                                  "no_publicity_rule": "programme",
                                  "award_not_approved": "award_ids",
                                  "already_published": "award_ids"}),
                  effect, done=lambda done: _to(done.object_id),
                  again=lambda refused, status: _list_page(request, refused, status=status))


def _to(publication_id: object) -> Response:
    return redirect(f"/operator/awards/publications/{publication_id}")


def _page(request: Request, publication_id: int, form: Form, *, status: int = 200) -> Response:
    with transaction(request.app.state.reader) as session:
        pub = publicity.get_publication(session, publication_id)
        people = actor_names(session, [pub.published_by,
                                       *(o.recorded_by for o in pub.objections),
                                       *(o.decided_by for o in pub.objections)])
    return render(request, "operator/publication.html", status=status, form=form, pub=pub,
                  people=people, state=pub.state(publicity.today()))


@router.get("/operator/awards/publications/{publication_id}")
def publication(request: Request, user: Reader, publication_id: Id) -> Response:
    """One list: its period, head hash, awards and objections; the forms that act on it."""
    return _page(request, publication_id, Form({}))


@router.post("/operator/awards/publications/{publication_id}/objections")
def record_objection(request: Request, user: OperatorUser, publication_id: Id) -> Response:
    """Record who objected to which award of the list, and what they said."""
    form = read_form(request)

    def effect(session: Session) -> Done:
        award = form.get("award_id")
        if not award.isdecimal():
            raise InvalidInput("award_id: choose an award of the list", field="award_id")
        view = publicity.record_objection(session, publication_id, award_id=int(award),
                                          raised_by=form.get("raised_by"),
                                          text=form.get("text"), by=by(user))
        return Done(201, None, view.id)

    return submit(request, user, form,
                  Action("awards.object", "award_publication", publication_id,
                         by_code={"not_found": "award_id"}),
                  effect, done=f"/operator/awards/publications/{publication_id}",
                  again=lambda refused, status: _page(request, publication_id, refused,
                                                      status=status))


@router.post("/approver/objections/{objection_id}/decide")
def decide(request: Request, user: ApproverUser, objection_id: Id) -> Response:
    """Uphold (the award is rejected by a reversal) or dismiss a pending objection."""
    form = read_form(request)
    with transaction(request.app.state.reader) as session:
        publication_id = publicity.objection_row(session, objection_id).publication_id

    def effect(session: Session) -> Done:
        publicity.decide_objection(session, objection_id, decision=form.get("decision"),
                                   reason=form.get("reason"), by=by(user))
        return Done(200, None, objection_id)

    return submit(request, user, form,
                  Action("awards.decide_objection", "award_objection", objection_id,
                         by_code={"objection_already_decided": "decision",
                                  "self_approval": "decision"}),
                  effect, done=f"/operator/awards/publications/{publication_id}",
                  again=lambda refused, status: _page(request, publication_id, refused,
                                                      status=status))


# ------------------------------------------------------------------- public, no sign-in


@router.get("/public/awards/publications/{publication_id}.pdf")
def public_pdf(request: Request, publication_id: Id) -> Response:
    """The same list as a PDF (奖励公示), framed like every report."""
    seal_committed(request.app.state.sessions)
    out = io.BytesIO()
    with transaction(request.app.state.reader) as session:
        pub = publicity.get_publication(session, publication_id)
        render_publication(session, out, publication_id,
                           policy_set=request.app.state.policies,
                           made_by=f"{pub.programme} 公示",  # a public document names no person
                           made_at=dt.datetime.now(dt.UTC), font=report_font())
    filename = f"award-publicity-{pub.programme}-{pub.id}.pdf"
    return Response(out.getvalue(), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.get("/public/awards/publications/{publication_id}")
def public_page(request: Request, publication_id: Id) -> Response:
    """A 公示 list as the public reads it: firm, credit code, tier, amount, period, head hash;
    no objections, no personal data."""
    with transaction(request.app.state.reader) as session:
        pub = publicity.get_publication(session, publication_id)
    return render(request, "public/publication.html", pub=pub,
                  state=pub.state(publicity.today()))
