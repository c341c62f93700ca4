"""Sign-in throttling: failed sign-ins counted per account and per client address, in the database.

The counters live in a table, not in process memory, so every worker (and every server behind
the proxy) sees the same lock. After `limit` failures within `window`, the account (or the
address) is locked for `lockout`; a successful sign-in clears the account's counter. An
operator can list the locks and clear one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import NotFound

ACCOUNT = "account"
ADDRESS = "address"
SUBJECT_LENGTH = 160


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures lock an account or an address, counted over what window, for how long."""

    account_limit: int = 10
    address_limit: int = 50
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


class SignInThrottle(Base):
    """Failed sign-ins of one account (a username) or one client address."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("scope", "subject"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(SUBJECT_LENGTH))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


@dataclass(frozen=True)
class LockView:
    """A throttle row as the operator sees it."""

    id: int
    scope: str
    subject: str
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


def _plain(text: str) -> str:
    """Control characters escaped (PostgreSQL stores no NUL), cut to the column's length."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)[:SUBJECT_LENGTH]


def _subjects(username: str, address: str) -> list[tuple[str, str]]:
    return [(ACCOUNT, _plain(username.strip().lower())), (ADDRESS, _plain(address))]


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


def retry_after(session: Session, username: str, address: str, now: datetime) -> int | None:
    """Seconds until the account or the address may try again, or None when neither is locked."""
    waits = [
        _seconds(row.locked_until, now)
        for scope, subject in _subjects(username, address)
        if (row := _row(session, scope, subject)) is not None
        and row.locked_until is not None and row.locked_until > now
    ]
    return max(waits) if waits else None


def record_failure(
    session: Session, username: str, address: str, now: datetime, policy: ThrottlePolicy
) -> int | None:
    """Count one failed sign-in against the account and the address; seconds locked, if now."""
    limits = {ACCOUNT: policy.account_limit, ADDRESS: policy.address_limit}
    waits: list[int] = []
    for scope, subject in _subjects(username, address):
        row = _locked_row(session, scope, subject, now)
        expired_lock = row.locked_until is not None and row.locked_until <= now
        if expired_lock or now - row.first_failure_at > policy.window or row.failures == 0:
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= limits[scope]:
            row.locked_until = now + policy.lockout
            waits.append(_seconds(row.locked_until, now))
    session.flush()
    return max(waits) if waits else None


def clear_account(session: Session, username: str) -> None:
    """Forget the account's failures (after a successful sign-in)."""
    row = _row(session, ACCOUNT, _subjects(username, "")[0][1])
    if row is not None:
        session.delete(row)
        session.flush()


def list_locks(session: Session, now: datetime, *, locked_only: bool = True) -> list[LockView]:
    """Accounts and addresses with failures (only those locked now, by default), newest first."""
    query = select(SignInThrottle).order_by(SignInThrottle.last_failure_at.desc(),
                                            SignInThrottle.id.desc()).limit(500)
    if locked_only:
        query = query.where(SignInThrottle.locked_until > now)
    return [LockView(r.id, r.scope, r.subject, r.failures, r.last_failure_at, r.locked_until)
            for r in session.scalars(query)]


def clear_lock(session: Session, lock_id: int) -> LockView:
    """Remove one throttle row: its account or address may sign in again at once."""
    row = session.get(SignInThrottle, lock_id)
    if row is None:
        raise NotFound(f"no sign-in lock {lock_id}", field="lock_id")
    view = LockView(row.id, row.scope, row.subject, row.failures, row.last_failure_at,
                    row.locked_until)
    session.delete(row)
    session.flush()
    return view


def _row(session: Session, scope: str, subject: str) -> SignInThrottle | None:
    return session.scalars(select(SignInThrottle).where(
        SignInThrottle.scope == scope, SignInThrottle.subject == subject)).one_or_none()


def _locked_row(session: Session, scope: str, subject: str, now: datetime) -> SignInThrottle:
    """The row, created if missing, locked for this transaction (several workers count at once)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SignInThrottle)
        .values(scope=scope, subject=subject, failures=0, first_failure_at=now,
                last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["scope", "subject"])
    )
    return session.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.scope == scope, SignInThrottle.subject == subject)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
