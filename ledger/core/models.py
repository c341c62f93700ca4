"""ORM models of the ledger core: accounts, journal entries, transfers, history, seals, keys.

Journal entries, transfers, account history and seals are append-only: database triggers
created by the migrations refuse UPDATE and DELETE on them. Accounts change only in their four
running totals and last posting time; their identity (code, ledger, limit flags) is fixed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.core.base import Base, BigIntPK, UTCDateTime

TRANSFER_KINDS = ("normal", "pending", "post_pending", "void_pending")
GENESIS_HASH = "0" * 64


class Account(Base):
    """A bucket of one programme's money, with TigerBeetle-style running totals and limits."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0 "
            "AND credits_pending >= 0 AND credits_posted >= 0",
            name="totals_not_negative",
        ),
        CheckConstraint(
            "NOT (credits_must_not_exceed_debits AND debits_must_not_exceed_credits)",
            name="one_limit_flag",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(160), unique=True)
    ledger: Mapped[str] = mapped_column(String(64), index=True)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(Boolean, default=False)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(Boolean, default=False)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The latest posting on this account: its postings are stamped in time order.
    last_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerHead(Base):
    """The single row holding the sealed chain's head; only the seal step locks it."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sealed_entries: Mapped[int] = mapped_column(BigInteger, default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    last_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JournalEntry(Base):
    """One or more transfers that post together; its seal chains it by hash (JournalSeal)."""

    __tablename__ = "journal_entries"

    # BigIntPK: on SQLite an INTEGER PRIMARY KEY is the rowid itself, with no second index.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    flow: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(160), default="")
    actor: Mapped[str] = mapped_column(String(160), default="")
    memo: Mapped[str] = mapped_column(String(500), default="")
    reverses_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("journal_entries.id"), unique=True, nullable=True
    )


class JournalSeal(Base):
    """Entry `entry_id` appended to the hash chain at position `seq` (1, 2, 3, … no gaps)."""

    __tablename__ = "journal_seals"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UnsealedEntry(Base):
    """A committed entry waiting for the seal step (a work queue, emptied as entries seal)."""

    __tablename__ = "journal_unsealed"

    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transfer(Base):
    """A movement of `amount` fen: debit one account, credit another (or a hold on both)."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint(
            "kind IN ('normal', 'pending', 'post_pending', 'void_pending')", name="kind_known"
        ),
        CheckConstraint(
            "(kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
            name="pending_id_iff_resolution",
        ),
        Index("ix_transfers_debit_account", "debit_account_id", "id"),
        Index("ix_transfers_credit_account", "credit_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    # A hold is resolved at most once: one post or one void names it.
    pending_id: Mapped[int | None] = mapped_column(
        ForeignKey("transfers.id"), unique=True, nullable=True
    )


class AccountHistory(Base):
    """An account's four totals after the last entry of each posting time that touched it."""

    __tablename__ = "account_history"
    __table_args__ = (Index("ix_account_history_as_of", "account_id", "posted_at", "entry_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), primary_key=True)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    debits_pending: Mapped[int] = mapped_column(BigInteger)
    debits_posted: Mapped[int] = mapped_column(BigInteger)
    credits_pending: Mapped[int] = mapped_column(BigInteger)
    credits_posted: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    """A client key seen before, the hash of what it asked and the result it got."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(160), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
