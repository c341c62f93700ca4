"""The small set of domain errors that services raise; the API maps each `code` to HTTP once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal with a stable machine `code`, a human message and optional details."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(DomainError):
    """A value is malformed or out of range (bad amount, unknown flag, …)."""

    code = "invalid_input"


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""

    code = "not_found"


class AlreadyExists(DomainError):
    """An object with the same identity already exists."""

    code = "already_exists"


class Conflict(DomainError):
    """The request contradicts the object's state (reversed twice, hold already posted, …)."""

    code = "conflict"


class InsufficientBalance(DomainError):
    """A limited account would pass its limit, pending holds counted."""

    code = "insufficient_balance"


class IdempotencyConflict(DomainError):
    """The idempotency key was used before with different content."""

    code = "idempotency_conflict"


class PermissionDenied(DomainError):
    """The actor may not do this (maker-checker, wrong role)."""

    code = "permission_denied"


class PolicyRefused(DomainError):
    """The policy engine refused; `detail['decision']` carries the decision and its trace."""

    code = "policy_refused"


class ImportRejected(InvalidInput):
    """A CSV file was refused as a whole; `detail['errors']` lists every bad row."""

    code = "import_rejected"


class TooManyAttempts(DomainError):
    """Too many failed sign-ins: refused without checking, for `detail['retry_after']` seconds."""

    code = "too_many_attempts"
