"""The operation log: who did what, to which object, and whether it was done or refused.

Every mutating request (API, CLI, console) writes one row in the same transaction as its
effect; a refusal is written in a transaction of its own, since the refused change rolls
back. Database triggers make the table append-only.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.acting import now
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.paging import Page, check_page, count_of, ids_of_page

OUTCOMES: tuple[str, ...] = ("done", "refused")
# The id of the HTTP request being served (set by the API's middleware; None for the CLI):
# every operation records it, so a log line and an operation can be matched.
REQUEST_ID: ContextVar[str | None] = ContextVar("voucher_ledger_request_id", default=None)
CHANNELS: tuple[str, ...] = ("api", "cli", "console")


class Operation(Base):
    """One mutating request and its outcome."""

    __tablename__ = "operations"
    __table_args__ = (
        CheckConstraint("outcome IN ('done', 'refused')", name="outcome_known"),
        CheckConstraint("(outcome = 'refused') = (code IS NOT NULL)", name="code_iff_refused"),
        Index("ix_operations_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(160), index=True)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    outcome: Mapped[str] = mapped_column(String(8))
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str] = mapped_column(String(500), default="")
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class Actor:
    """Who acts: a user id (or a CLI account) with a role, through a channel."""

    name: str
    role: str
    channel: str = "api"


@dataclass(frozen=True)
class OperationView:
    """A logged operation as services return it."""

    id: int
    at: datetime
    channel: str
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    idempotency_key: str | None
    outcome: str
    code: str | None
    message: str
    request_id: str | None = None


# Built once: a request compiles nothing, and the row is written when `record` is called.
RECORD = insert(Operation.__table__)


def _printable(text: str, limit: int) -> str:
    """Control characters escaped, so any refusal can be logged on any engine."""
    if text.isprintable():
        return text[:limit]
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)[:limit]


def row(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    *,
    idempotency_key: str | None = None,
    refused_code: str | None = None,
    message: str = "",
) -> dict[str, object]:
    """The parameters of `RECORD` for one operation (see `record`)."""
    return {
        "at": now(),
        "channel": actor.channel,
        "actor": _printable(actor.name, 160),
        "role": actor.role,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else _printable(str(object_id), 64),
        "idempotency_key": idempotency_key,
        "outcome": "done" if refused_code is None else "refused",
        "code": refused_code,
        "message": _printable(message, 500),
        "request_id": REQUEST_ID.get(),
    }


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None = None,
    *,
    idempotency_key: str | None = None,
    refused_code: str | None = None,
    message: str = "",
) -> None:
    """Append one operation: done, or refused with `refused_code`."""
    # The effect's pending ORM changes first, as when the log row was an ORM object.
    session.flush()
    session.execute(RECORD, row(actor, action, object_type, object_id,
                                idempotency_key=idempotency_key, refused_code=refused_code,
                                message=message))


def list_operations(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    outcome: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> Page[OperationView]:
    """A page of the log, newest first, optionally filtered (`actor`: part of the name, as in
    `demo-approver` for `user:2:demo-approver`; `action`: a prefix, e.g. `claims.`)."""
    check_page(limit, offset)
    query = select(Operation.id)
    if outcome is not None:
        query = query.where(Operation.outcome == outcome)
    if object_type is not None:
        query = query.where(Operation.object_type == object_type)
    if object_id is not None:
        query = query.where(Operation.object_id == object_id)
    if actor is not None:
        query = query.where(Operation.actor.contains(actor, autoescape=True))
    if action is not None:
        query = query.where(Operation.action.startswith(action, autoescape=True))
    total = count_of(session, query)
    # The page's ids first (a deep page read from the far end), then only their rows.
    page = ids_of_page(session, query, limit=limit, offset=offset, total=total)
    rows = session.scalars(select(Operation).where(Operation.id.in_(page))
                           .order_by(Operation.id.desc())) if page else []
    items = [
        OperationView(r.id, r.at, r.channel, r.actor, r.role, r.action, r.object_type,
                      r.object_id, r.idempotency_key, r.outcome, r.code, r.message,
                      r.request_id)
        for r in rows
    ]
    return Page(items, total, limit, offset)
