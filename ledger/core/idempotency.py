"""Client idempotency keys: the same key with the same content returns the first result."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session

from ledger.core.errors import IdempotencyConflict, InvalidInput
from ledger.core.models import IdempotencyKey

MAX_KEY_LENGTH = 255

# Built once, with bound parameters: a request compiles nothing (Core, not the ORM's unit of
# work: the key's row is written when `remember` is called, not at the next flush).
_KEYS = IdempotencyKey.__table__
RECALL = select(_KEYS.c.request_hash, _KEYS.c.result).where(
    _KEYS.c.scope == bindparam("scope"), _KEYS.c.key == bindparam("key"))
REMEMBER = insert(_KEYS)
SERIALISE = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


def content_hash(content: Any) -> str:
    """SHA-256 of `content` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str) -> str:
    """Refuse an empty or over-long key."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"idempotency key must be 1–{MAX_KEY_LENGTH} printable characters",
                           field="Idempotency-Key")
    return key


def recall(session: Session, scope: str, key: str, request_hash: str) -> str | None:
    """The stored result for (scope, key), None if unseen; a conflict if the content differs."""
    row = session.execute(RECALL, {"scope": scope, "key": check_key(key)}).first()
    return None if row is None else stored_result(key, request_hash, row[0], row[1])


def stored_result(key: str, request_hash: str, stored_hash: str | None,
                  result: str | None) -> str | None:
    """`result` if the key was seen (`stored_hash` not None) with this content; None if unseen;
    a conflict if the content differs."""
    if stored_hash is None:
        return None
    if stored_hash != request_hash:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used before with different content", key=key
        )
    return result


def remember(session: Session, scope: str, key: str, request_hash: str, result: str) -> None:
    """Store the result of the first request made with (scope, key)."""
    session.execute(REMEMBER, {"scope": scope, "key": check_key(key),
                               "request_hash": request_hash, "result": result,
                               "created_at": datetime.now(UTC)})


def serialise(session: Session, scope: str, key: str) -> None:
    """Make concurrent requests with one (scope, key) run one after the other.

    On PostgreSQL a transaction-scoped advisory lock: the second request waits for the first
    to commit, then `recall` finds its result. SQLite's BEGIN IMMEDIATE already serialises.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(SERIALISE, {"name": lock_name(scope, key)})


def lock_name(scope: str, key: str) -> str:
    """The text whose hash names (scope, key)'s advisory lock."""
    return f"{scope}\x1f{key}"
