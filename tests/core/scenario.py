"""A small chart of accounts shared by the ledger tests."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.core.accounts import open_account
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.core.models import JournalEntry


def open_chart(session: Session, ledger: str = "P") -> None:
    """Open funding, budget, a voucher and a provider account, as in DESIGN.md's chart."""
    open_account(session, f"{ledger}:funding", ledger)
    for code in ("budget", "voucher:V1", "provider:S1", "paid"):
        open_account(
            session, f"{ledger}:{code}", ledger, credits_must_not_exceed_debits=code != "paid"
        )


def fund_voucher(session: Session, amount: int, ledger: str = "P") -> None:
    """Appropriate `amount` fen to the budget and issue all of it to voucher V1."""
    post_entry(
        session,
        EntryRequest((Move(f"{ledger}:budget", f"{ledger}:funding", amount),), flow="appropriate"),
    )
    post_entry(
        session,
        EntryRequest(
            (Move(f"{ledger}:voucher:V1", f"{ledger}:budget", amount),), flow="issue_voucher"
        ),
    )


def redeem(amount: int) -> EntryRequest:
    """Move `amount` fen from voucher V1 to provider S1 (the chart's ledger P)."""
    return EntryRequest((Move("P:provider:S1", "P:voucher:V1", amount),), flow="redeem")


def entry_count(sessions: sessionmaker[Session]) -> int:
    """How many journal entries are committed."""
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(JournalEntry)) or 0
