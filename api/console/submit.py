"""A console form's POST, once: perform the action, or show the page again with the refusal.

Every page that changes something does the same: run the service through `perform` (one
transaction, logged, refusals logged too), then answer with the next page; if the service
refuses, render the form's page again with the error by the field it concerns and the HTTP
status of the refusal, every typed value kept. Parsing a field belongs inside `effect`, so a
bad value is refused (and logged) like any other refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.forms import Form
from api.console.web import redirect
from api.mutations import Done, perform
from api.problems import status_of
from ledger.core.errors import DomainError, NotFound
from ledger.registry.users import UserView


@dataclass(frozen=True)
class Action:
    """What the operation log records: the action's name and the object it concerns."""

    name: str
    object_type: str
    object_id: str | int | None = None
    # Service field names → form field names, and codes that name no field → form fields.
    fields: dict[str, str] = field(default_factory=dict)
    by_code: dict[str, str] = field(default_factory=dict)
    # A page about one object answers 404 when the object itself is missing.
    missing_is_404: bool = False


def submit(
    request: Request,
    user: UserView,
    form: Form,
    action: Action,
    effect: Callable[[Session], Done],
    *,
    done: str | Callable[[Done], Response],
    again: Callable[[Form, int], Response],
    refuse: Callable[[Form, DomainError], object] | None = None,
) -> Response:
    """Perform `action` through `effect`; then `done` (a URL to go to, or a page from the
    result), or on a refusal `again(form with the error, status)`."""
    try:
        result = perform(request, user, action=action.name, object_type=action.object_type,
                         object_id=action.object_id, effect=effect)
    except DomainError as exc:
        if action.missing_is_404 and isinstance(exc, NotFound):
            raise
        if refuse is not None:
            refuse(form, exc)
        else:
            form.refuse(exc, action.fields or None, action.by_code or None)
        return again(form, status_of(exc))
    return redirect(done) if isinstance(done, str) else done(result)
