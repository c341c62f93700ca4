"""Errors as RFC 9457 problem details: every domain error is mapped to HTTP here, and only here."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.core.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRefused,
    TooManyAttempts,
)

PROBLEM_JSON = "application/problem+json"
# (request, code, message, details) -> the `detail` a caller reads.
DetailTranslator = Callable[[Request, str, str, Mapping[str, Any]], str]
log = logging.getLogger("voucher_ledger.api")

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (TooManyAttempts, 429),
    (IdempotencyConflict, 409),
    (PolicyRefused, 422),
    (InvalidInput, 422),
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (InsufficientBalance, 409),
    (PermissionDenied, 403),
)
TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Too large", 415: "Unsupported media type",
    422: "Unprocessable content", 429: "Too many requests", 500: "Internal error",
    503: "Service unavailable",
}
CODE_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}


class ProblemItem(BaseModel):
    """One failing field (validation) or one bad row (import)."""

    model_config = ConfigDict(extra="allow")

    reason: str
    field: str | None = None
    line: int | None = None
    column: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem; `code` is stable and meant for programs."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemItem] | None = None


class AuthError(Exception):
    """The request carries no valid sign-in token (401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def problem(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body = {"type": f"urn:voucher-ledger:problem:{code}", "title": TITLES.get(status, "Error"),
            "status": status, "detail": detail, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain error."""
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    # A policy refusal carries its decision (code, amount, trace) as a mapping.
    kinds = str | int | float | bool | list | dict
    extra = {k: v for k, v in exc.detail.items() if isinstance(v, kinds)}
    headers = None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.detail["retry_after"])}
    detail = _in_callers_language(request, exc.code, exc.message, exc.detail)
    return problem(status_of(exc), exc.code, detail, headers=headers, **extra)


def _in_callers_language(request: Request, code: str, message: str,
                         detail: Mapping[str, Any]) -> str:
    """`message` as the app translates it for the caller (api/problem_language.py, installed
    by api/app.py: the console's catalogues live above this module); `code` never changes."""
    localize: DetailTranslator | None = getattr(request.app.state, "localize_detail", None)
    return message if localize is None else localize(request, code, message, detail)


# Pydantic names the member of a union that failed (`amount.constrained-str`, `amount.int`);
# the caller's field is `amount`, so such tags are left out of the field's name.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "bytes", "decimal", "list", "dict",
                        "tuple", "set", "none", "date", "datetime"})
_TAG = re.compile(r"[a-z]+(?:-[a-z]+)+|.*\[.*")


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in _TYPE_TAGS or _TAG.fullmatch(part) is not None)


def _field(loc: tuple[Any, ...]) -> str:
    where = {"body", "query", "path", "header", "cookie"}
    parts = loc[1:] if loc and loc[0] in where else loc
    return ".".join(str(p) for p in parts if not _is_tag(p)) or "body"


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_validation_item(e) for e in exc.errors()]
    first = errors[0] if errors else {"field": "body", "reason": "invalid"}
    # `field` names the first, as a domain error's does; `errors` lists them all.
    return problem(422, "validation_failed", f"{first['field']}: {first['reason']}",
                   field=first["field"], errors=errors)


def _validation_item(error: dict[str, Any]) -> dict[str, Any]:
    """One refused value: its field, the reason and pydantic's type."""
    loc, kind = tuple(error.get("loc", ())), error.get("type", "")
    if kind == "json_invalid":
        # FastAPI puts the character offset where the field would be: the body is at fault.
        where = loc[-1] if loc and isinstance(loc[-1], int) else None
        cause = (error.get("ctx") or {}).get("error", "")
        reason = "malformed JSON" + ("" if where is None else f" at character {where}")
        return {"field": "body", "reason": f"{reason}: {cause}" if cause else reason,
                "type": kind}
    return {"field": _field(loc), "reason": error.get("msg", "invalid"), "type": kind}


def _auth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthError)
    detail = _in_callers_language(request, "not_authenticated", exc.message, {})
    return problem(401, "not_authenticated", detail, headers={"WWW-Authenticate": "Bearer"})


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), headers=exc.headers)


def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # A concurrent request won a uniqueness race that the service's own check could not see.
    log.info("integrity error mapped to 409: %s", exc)
    return problem(409, "conflict", "the request conflicts with a concurrent change; retry")


def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the validators let through (e.g. a NUL byte on PostgreSQL).
    log.info("data error mapped to 422: %s", exc)
    return problem(422, "invalid_input", "a value cannot be stored (control characters?)")


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "an unexpected error occurred; it has been logged")


def install(app: FastAPI) -> None:
    """Register the one mapping from errors to problem responses."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(AuthError, _auth_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
