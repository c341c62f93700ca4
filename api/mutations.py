"""Every mutating request goes through `mutate`: idempotency key, effect and log, one transaction.

The same key with the same content returns the first response and writes nothing again; the
same key with other content is 409 `idempotency_conflict`. Concurrent requests with one key
run one after the other, so the second sees the first's result. A refusal is logged in a
transaction of its own, since the refused change rolls back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, bindparam, select, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import USER_COLUMNS, Pending, subject
from api.metrics import observe_operation
from ledger.core import idempotency, oplog
from ledger.core.base import UTCDateTime
from ledger.core.db import WriterBusy, transaction, without_waiting
from ledger.core.errors import DomainError
from ledger.core.idempotency import check_key, content_hash, remember, stored_result
from ledger.registry.users import UserView

REPLAYED_HEADER = "Idempotent-Replayed"

# A write's statements, built once with bound parameters (nothing compiled per request).
_KEYS = idempotency.REMEMBER.table
_USERS = USER_COLUMNS[0].table
# The write's user and the key's stored row (if any) in one statement.
_USER_AND_KEY = select(*USER_COLUMNS, _KEYS.c.request_hash, _KEYS.c.result).select_from(
    _USERS.outerjoin(_KEYS, and_(_KEYS.c.scope == bindparam("scope"),
                                 _KEYS.c.key == bindparam("key")))
).where(_USERS.c.id == bindparam("user_id"))
# PostgreSQL: the operation's row and the key's row in one statement (a data-modifying WITH
# runs whether or not the outer statement reads it).
_LOG_AND_REMEMBER = text(
    "WITH op AS (INSERT INTO operations (at, channel, actor, role, action, object_type, "
    "object_id, idempotency_key, outcome, code, message, request_id) VALUES (:at, :channel, "
    ":actor, :role, :action, :object_type, :object_id, :idempotency_key, :outcome, :code, "
    ":message, :request_id)) "
    "INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at) "
    "VALUES (:scope, :key, :request_hash, :result, :created_at)"
).bindparams(bindparam("at", type_=UTCDateTime()),
             bindparam("created_at", type_=UTCDateTime()))


@dataclass(frozen=True)
class Done:
    """What an effect produced: the status, the JSON body, the object it touched and what
    the operation log says of it (e.g. the reason a request gave)."""

    status: int
    body: Any
    object_id: str | int | None = None
    message: str = ""


def _loggable(key: str | None) -> str | None:
    """The key as the log may store it (a malformed key is refused, not stored)."""
    try:
        return None if key is None else check_key(key)
    except DomainError:
        return None


def _valid(key: str) -> bool:
    try:
        check_key(key)
    except DomainError:
        return False
    return True


def _render(body: Any) -> str:
    """The body as JSONResponse renders it, so it is rendered once for the reply and the key."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":"))


def _admit(session: Session, user: UserView, scope: str, key: str | None
           ) -> tuple[UserView, tuple[str | None, str | None]]:
    """The write's user read and checked (if `Pending`), and the key's stored request hash
    and result (None, None if unseen): one statement where there were two."""
    if isinstance(user, Pending):
        if key is None:
            return user.load(session), (None, None)
        row = session.execute(_USER_AND_KEY, {"user_id": user.pending_id, "scope": scope,
                                              "key": key}).first()
        admitted = user.admit_row(row)
        assert row is not None
        return admitted, (row[-2], row[-1])
    if key is None:
        return user, (None, None)
    row = session.execute(idempotency.RECALL, {"scope": scope, "key": key}).first()
    return user, (None, None) if row is None else (row[0], row[1])


class _Rendered(JSONResponse):
    """A JSON response whose body is already rendered (`_render`'s bytes)."""

    def render(self, content: Any) -> bytes:
        return bytes(content)


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
    scope = f"http:{subject(user)}:{request.method} {request.url.path}"[:160]
    # A malformed key: the user is still read first, and the key's refusal logged.
    valid = key if key is not None and _valid(key) else None
    try:
        with transaction(sessions) as session:
            postgresql = session.get_bind().dialect.name == "postgresql"
            if valid is not None and postgresql:
                # Before the reads: the second of two concurrent requests then reads the key
                # the first wrote (PostgreSQL's statement snapshot starts after the lock).
                session.execute(idempotency.SERIALISE,
                                {"name": idempotency.lock_name(scope, valid)})
            admitted, (stored_hash, result) = _admit(session, user, scope, valid)
            if key is not None:
                check_key(key)
                if (stored := stored_result(key, digest, stored_hash, result)) is not None:
                    return _replay(stored)
            done = effect(session)
            body = _render(done.body)
            operation = oplog.row(actor_of(admitted, "api"), action, object_type,
                                  done.object_id or object_id, idempotency_key=key,
                                  message=done.message)
            first = f'{{"status":{done.status},"body":{body}}}'
            session.flush()  # the effect's pending ORM changes first, as before
            if key is not None and postgresql:
                session.execute(_LOG_AND_REMEMBER, {
                    **operation, "scope": scope, "key": key, "request_hash": digest,
                    "result": first, "created_at": operation["at"]})
            else:
                session.execute(oplog.RECORD, operation)
                if key is not None:
                    remember(session, scope, key, digest, first)
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
    return _Rendered(body.encode(), status_code=done.status)


class WriteTurns:
    """Small writes on the event loop take turns: one at a time, in arrival order, and each
    only after the loop has gone once round whatever else is ready (sockets, the thread
    pool's results), so that reads and probes are not held up behind a queue of writes."""

    def __init__(self) -> None:
        # An asyncio.Lock serves one event loop; an app may serve several (tests' clients,
        # each on a loop of its own thread). The database's own lock still orders them all.
        self._locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary())

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the write turn."""
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            await asyncio.sleep(0)
            yield


async def mutate_soon(request: Request, user: UserView, **fields: Any) -> JSONResponse:
    """`mutate` for a small write (a booking, say). On SQLite it runs on the event loop, in
    its turn (`WriteTurns`), when the write lock is free at once: SQLite takes one writer at a
    time anyway, and a write in a thread paid for the hop and fought the loop for the GIL.
    Otherwise, and on PostgreSQL (whose round trips would hold up the loop), it runs in the
    thread pool like any other endpoint."""
    call = partial(mutate, request, user, **fields)
    if request.app.state.embedded_database:
        async with request.app.state.write_turns.turn():
            with suppress(WriterBusy):
                return without_waiting(call)
    # Busy (nothing was written), or PostgreSQL: the same call in a thread, where it may wait.
    return await run_in_threadpool(call)


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
            oplog.record(session, actor, action, object_type, done.object_id or object_id,
                         message=done.message)
    except DomainError as exc:
        with transaction(sessions) as session:
            oplog.record(session, actor, action, object_type, object_id,
                         refused_code=exc.code, message=exc.message)
        observe_operation(action, exc.code)
        raise
    observe_operation(action, None)
    return done
