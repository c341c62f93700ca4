"""Every mutating request goes through `mutate`: idempotency key, effect and log, one transaction.

The same key with the same content returns the first response and writes nothing again; the
same key with other content is 409 `idempotency_conflict`. Concurrent requests with one key
run one after the other, so the second sees the first's result. A refusal is logged in a
transaction of its own, since the refused change rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.auth import loaded
from api.metrics import observe_operation
from ledger.core import oplog
from ledger.core.db import transaction
from ledger.core.errors import DomainError
from ledger.core.idempotency import check_key, content_hash, recall, remember, serialise
from ledger.registry.users import UserView

REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Done:
    """What an effect produced: the status, the JSON body and the object it touched."""

    status: int
    body: Any
    object_id: str | int | None = None


def _loggable(key: str | None) -> str | None:
    """The key as the log may store it (a malformed key is refused, not stored)."""
    try:
        return None if key is None else check_key(key)
    except DomainError:
        return None


def _replay(stored: str) -> JSONResponse:
    first = json.loads(stored)
    return JSONResponse(first["body"], status_code=first["status"],
                        headers={REPLAYED_HEADER: "true"})


def mutate(
    request: Request,
    user: UserView,
    *,
    action: str,
    object_type: str,
    object_id: str | int | None,
    content: Any,
    key: str | None,
    effect: Callable[[Session], Done],
) -> JSONResponse:
    """Run `effect` once per idempotency key, logging the operation with its outcome.

    A `Pending` user (a write's token, not yet read) is read and checked first, in the same
    transaction: a user refused there (401, or 403 `password_change_required`) is not logged.
    """
    sessions = request.app.state.sessions
    digest = content_hash(content)
    admitted: UserView | None = None
    try:
        with transaction(sessions) as session:
            admitted = loaded(session, user)
            scope = f"http:{admitted.id}:{request.method} {request.url.path}"[:160]
            if key is not None:
                check_key(key)
                serialise(session, scope, key)
                if (stored := recall(session, scope, key, digest)) is not None:
                    return _replay(stored)
            done = effect(session)
            oplog.record(session, actor_of(admitted, "api"), action, object_type,
                         done.object_id or object_id, idempotency_key=key)
            if key is not None:
                remember(session, scope, key, digest,
                         json.dumps({"status": done.status, "body": done.body},
                                    ensure_ascii=False))
    except DomainError as exc:
        if admitted is None:
            raise
        with transaction(sessions) as session:
            oplog.record(session, actor_of(admitted, "api"), action, object_type, object_id,
                         idempotency_key=_loggable(key),
                         refused_code=exc.code, message=exc.message)
        observe_operation(action, exc.code)
        raise
    observe_operation(action, None)
    return JSONResponse(done.body, status_code=done.status)


def actor_of(user: UserView, channel: str) -> oplog.Actor:
    """The operation log's actor for a signed-in user acting through `channel`."""
    return oplog.Actor(name=f"user:{user.id}:{user.username}", role=user.role, channel=channel)


def perform(
    request: Request,
    user: UserView,
    *,
    action: str,
    object_type: str,
    object_id: str | int | None,
    effect: Callable[[Session], Done],
    channel: str = "console",
) -> Done:
    """Run `effect` once and log it (no idempotency key: the console's forms); refusals too."""
    sessions = request.app.state.sessions
    actor = actor_of(user, channel)
    try:
        with transaction(sessions) as session:
            done = effect(session)
            oplog.record(session, actor, action, object_type, done.object_id or object_id)
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, actor, action, object_type, object_id,
                         refused_code=exc.code, message=exc.message)
        observe_operation(action, exc.code)
        raise
    observe_operation(action, None)
    return done
