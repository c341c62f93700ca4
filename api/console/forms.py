"""Forms: what the user typed, and the services' refusals mapped to the fields they concern.

A POST handler reads `form = read_form(request)`, calls a service (through `perform`), and on
a DomainError re-renders with `form.refuse(exc)`: the error shows next to its field (or at the
top) with its stable code, and every field keeps its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from api.console.session import CSRF_FIELD
from ledger.core.errors import DomainError

FORM_LEVEL = ""


@dataclass(frozen=True)
class FieldError:
    """A refusal shown by a field: the stable code and the service's own words."""

    code: str
    detail: str


@dataclass
class Form:
    """Submitted values (text only) and the errors found, keyed by field ("" = the form)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)
    # Extra data a refusal carries (e.g. a policy decision with its trace).
    refusal: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """What the user typed in `name`."""
        return self.values.get(name, default)

    def error(self, name: str) -> FieldError | None:
        """The error shown by field `name` (FORM_LEVEL for the form's own)."""
        return self.errors.get(name)

    def refuse(self, exc: DomainError, fields: dict[str, str] | None = None,
               by_code: dict[str, str] | None = None) -> Form:
        """Record `exc` by the field it names (`fields` maps service names to form names;
        `by_code` places codes that name no field); a decision's trace is kept too."""
        name = exc.detail.get("field")
        target = FORM_LEVEL
        if isinstance(name, str):
            target = (fields or {}).get(name, name)
        elif by_code and exc.code in by_code:
            target = by_code[exc.code]
        known = set(self.values) | set((fields or {}).values()) | set((by_code or {}).values())
        if target not in known:
            target = FORM_LEVEL
        self.errors[target] = FieldError(exc.code, exc.message)
        decision = exc.detail.get("decision")
        if isinstance(decision, dict):
            self.refusal["decision"] = decision
        errors = exc.detail.get("errors")
        if isinstance(errors, list):  # an import's bad rows: line, column, reason
            self.refusal["rows"] = [e for e in errors if isinstance(e, dict) and "line" in e]
        return self

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows an import refused (line, column, reason and maybe a code), else none."""
        return self.refusal.get("rows", [])


def read_form(request: Request) -> Form:
    """The POSTed text fields (already read and CSRF-checked by the route class)."""
    data = request.state.form
    return Form({k: v.strip() if isinstance(v, str) else "" for k, v in data.items()
                 if k != CSRF_FIELD and not isinstance(v, UploadFile)})


def uploads(request: Request) -> dict[str, UploadFile]:
    """The POSTed files that were chosen (an empty file input is left out)."""
    data = request.state.form
    return {k: v for k, v in data.items() if isinstance(v, UploadFile) and v.filename}
