"""One journal entry posted by one statement on PostgreSQL: `SELECT * FROM ledger_post(...)`.

The server function (migration 0018; current version 0021) locks, checks and writes exactly
as the Python path in ledger.core.journal does; a refusal comes back as a tag and arguments,
turned here into the same domain error with the same message. ledger.core.journal checks
requests (pure checks), builds the arguments and turns the result into a PostedEntry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ledger.core.acting import business_clock_set
from ledger.core.db import driver_rows
from ledger.core.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
)
from ledger.core.idempotency import check_key

# Tests switch this off to run the Python path on PostgreSQL too (same semantics, both ways).
ENABLED = True

_CALL = (
    "SELECT * FROM ledger_post(%s::text[], %s::text[], %s::text[], %s::bigint[], "
    "%s::bigint[], %s, %s, %s, %s, %s::timestamptz, %s::bigint, %s, %s, %s)"
)


@dataclass(frozen=True)
class ServerTransfers:
    """An entry's transfers as the function's parallel arrays (None where a kind has none)."""

    kinds: list[str]
    debits: list[str | None]
    credits: list[str | None]
    amounts: list[int | None]
    pending_ids: list[int | None]


@dataclass(frozen=True)
class ServerEntry:
    """What ledger_post() wrote, or, when `replayed`, only the id its key returned."""

    id: int
    posted_at: datetime | None
    replayed: bool
    transfers: tuple[tuple[int, str, str, int, str, int | None], ...]


@dataclass(frozen=True)
class EntryFields:
    """The entry's own fields, its idempotency key (with scope and content hash) and time."""

    flow: str
    ref: str
    actor: str
    memo: str
    posted_at: datetime | None
    reverses_entry_id: int | None
    key: str | None
    key_hash: str | None
    scope: str


def on_server(session: Session) -> bool:
    """True when this session posts single entries through the server function; not while a
    dated history is replayed (the function stamps entries with the server's clock, the
    Python path with the business clock)."""
    return (ENABLED and not business_clock_set()
            and session.get_bind().dialect.name == "postgresql")


def ledger_post(session: Session, transfers: ServerTransfers, entry: EntryFields) -> ServerEntry:
    """Post one checked entry in one round trip; raise the Python path's domain errors."""
    if entry.key is not None:
        check_key(entry.key)
    posted_at = None if entry.posted_at is None else entry.posted_at.astimezone(UTC)
    # Objects added to the session but not yet flushed must be visible to the function.
    session.flush()
    (row,) = driver_rows(
        session.connection(),
        _CALL,
        (
            _array(transfers.kinds), _array(transfers.debits), _array(transfers.credits),
            _array(transfers.amounts), _array(transfers.pending_ids), entry.flow, entry.ref,
            entry.actor, entry.memo, posted_at, entry.reverses_entry_id, entry.key,
            entry.key_hash, entry.scope,
        ),
    )
    error, args, entry_id, stored_at, replayed, ids, debits, credits, amounts, kinds, holds = row
    if error is not None:
        raise _refusal(error, args or {}, entry)
    if replayed:
        return ServerEntry(entry_id, None, True, ())
    return ServerEntry(
        entry_id,
        stored_at.astimezone(UTC),
        False,
        tuple(zip(ids, debits, credits, amounts, kinds, holds, strict=True)),
    )


def _array(values: list[str | None] | list[int | None]) -> str:
    """A PostgreSQL array literal (the statement casts it): psycopg's list adaptation, which
    works out the elements' type on every call, cost more client CPU than the posting's
    other parameters together."""
    return "{" + ",".join("NULL" if v is None else _element(v) for v in values) + "}"


def _element(value: str | int) -> str:
    if isinstance(value, int):
        return str(int(value))
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refusal(error: str, args: dict[str, Any], entry: EntryFields) -> DomainError:
    """The domain error the Python path raises for the function's refusal `error`."""
    if error == "key_conflict":
        return IdempotencyConflict(
            f"idempotency key {entry.key!r} was used before with different content", key=entry.key
        )
    if error == "no_account":
        return NotFound(f"no account {args['code']}", code_value=args["code"])
    if error == "reversed":
        return Conflict(
            f"entry {args['entry']} was already reversed by entry {args['reversed_by']}",
            reversed_by=args["reversed_by"],
        )
    if error in ("future", "precedes"):
        assert entry.posted_at is not None
        requested = entry.posted_at.astimezone(UTC)
        if error == "future":
            return InvalidInput(
                f"posted_at {requested.isoformat()} lies in the future", field="posted_at"
            )
        last_at = datetime.fromisoformat(args["last_at"]).astimezone(UTC)
        return InvalidInput(
            f"posted_at {requested.isoformat()} precedes the last posting on account "
            f"{args['code']} ({last_at.isoformat()}); imported history must come in time order",
            field="posted_at",
        )
    if error == "ledgers":
        return InvalidInput(
            f"accounts {args['debit']} and {args['credit']} belong to different ledgers "
            f"({args['debit_ledger']}, {args['credit_ledger']})"
        )
    if error in ("limit_credits", "limit_debits"):
        verb = "give" if error == "limit_credits" else "take"
        return InsufficientBalance(
            f"account {args['code']} cannot {verb} {args['amount']} fen: "
            f"{args['available']} available after holds",
            account=args["code"],
            requested=args["amount"],
            available=args["available"],
        )
    if error == "no_hold":
        return NotFound(f"no pending transfer {args['id']}")
    if error == "hold_resolved":
        return Conflict(f"pending transfer {args['id']} was already posted or voided")
    if error == "over_hold":
        return InvalidInput(
            f"cannot post {args['amount']} fen of pending transfer {args['id']}, "
            f"which holds {args['holds']}",
            field="amount",
        )
    raise AssertionError(f"ledger_post returned an unknown refusal {error!r}")
