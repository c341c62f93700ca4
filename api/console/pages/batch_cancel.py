"""Cancelling a payment batch before release, shared by the operator's and the approver's
batch pages: the reason is checked, asked once more, then the batch is cancelled."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import read_form
from api.console.submit import Action, submit
from api.mutations import Done
from api.problems import status_of
from api.routes.programs import by
from ledger.core.errors import DomainError
from ledger.payments import batches as payments
from ledger.registry.users import UserView


def cancel_submit(request: Request, user: UserView, batch_id: int, base: str,
                  page: Callable[..., Response]) -> Response:
    """Without `confirm=yes` show the confirmation (or the reason's refusal); with it cancel
    and go back to the batch. `page(form, status, **context)` draws the batch page."""
    form = read_form(request)
    if form.get("confirm") != "yes":
        try:
            payments.check_cancel_reason(form.get("reason"))
        except DomainError as exc:
            form.refuse(exc)
            return page(form, status_of(exc))
        return page(form, 200, confirming="cancel")

    def effect(session: Session) -> Done:
        view = payments.cancel_batch(session, batch_id, by=by(user), reason=form.get("reason"),
                                     approver=user.role == "approver")
        return Done(200, None, view.id)

    return submit(request, user, form,
                  Action("payments.cancel", "batch", batch_id, missing_is_404=True), effect,
                  done=f"{base}/{batch_id}",
                  again=lambda refused, status: page(refused, status))
