"""Client idempotency keys: the same key with the same content returns the first result."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger.core.errors import IdempotencyConflict, InvalidInput
from ledger.core.models import IdempotencyKey

MAX_KEY_LENGTH = 255


def content_hash(content: Any) -> str:
    """SHA-256 of `content` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str) -> str:
    """Refuse an empty or over-long key."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"idempotency key must be 1–{MAX_KEY_LENGTH} printable characters")
    return key


def recall(session: Session, scope: str, key: str, request_hash: str) -> str | None:
    """The stored result for (scope, key), None if unseen; a conflict if the content differs."""
    row = session.execute(
        select(IdempotencyKey.request_hash, IdempotencyKey.result).where(
            IdempotencyKey.scope == scope, IdempotencyKey.key == check_key(key)
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used before with different content", key=key
        )
    return row.result


def remember(session: Session, scope: str, key: str, request_hash: str, result: str) -> None:
    """Store the result of the first request made with (scope, key)."""
    session.add(
        IdempotencyKey(
            scope=scope,
            key=check_key(key),
            request_hash=request_hash,
            result=result,
            created_at=datetime.now(UTC),
        )
    )


def serialise(session: Session, scope: str, key: str) -> None:
    """Make concurrent requests with one (scope, key) run one after the other.

    On PostgreSQL a transaction-scoped advisory lock: the second request waits for the first
    to commit, then `recall` finds its result. SQLite's BEGIN IMMEDIATE already serialises.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
            {"name": f"{scope}\x1f{key}"},
        )
