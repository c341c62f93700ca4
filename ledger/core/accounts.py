"""Opening accounts and reading their balances (now, or as of a past moment)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.core.acting import now
from ledger.core.db import insert_rows
from ledger.core.errors import AlreadyExists, InvalidInput, NotFound
from ledger.core.models import Account, AccountHistory

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,159}")
_LEDGER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class Balance:
    """An account's four running totals in fen."""

    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def debit_balance(self) -> int:
        """Posted debits less posted credits (what a bucket like P:budget holds)."""
        return self.debits_posted - self.credits_posted

    @property
    def available(self) -> int:
        """What a debit-normal bucket can still give: posted balance less pending holds."""
        return self.debits_posted - self.credits_posted - self.credits_pending


@dataclass(frozen=True)
class AccountInfo:
    """An account's identity, limit flags and current balance."""

    id: int
    code: str
    ledger: str
    credits_must_not_exceed_debits: bool
    debits_must_not_exceed_credits: bool
    balance: Balance


_TOTALS = (
    Account.debits_pending,
    Account.debits_posted,
    Account.credits_pending,
    Account.credits_posted,
)


def check_account_code(code: str) -> str:
    """Refuse a code that is empty, too long, or uses characters outside [A-Za-z0-9_.:-]."""
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidInput(
            f"account code {code!r} must be 1–160 letters, digits, '_', '.', ':' or '-'",
            field="code",
        )
    return code


def open_account(
    session: Session,
    code: str,
    ledger: str,
    *,
    credits_must_not_exceed_debits: bool = False,
    debits_must_not_exceed_credits: bool = False,
) -> AccountInfo:
    """Open an account with zero totals; its code, ledger and flags never change afterwards."""
    check_account_code(code)
    if not isinstance(ledger, str) or not _LEDGER.fullmatch(ledger):
        raise InvalidInput(f"ledger {ledger!r} must be 1–64 letters, digits, '_', '.', '-'")
    if credits_must_not_exceed_debits and debits_must_not_exceed_credits:
        raise InvalidInput("an account may carry at most one of the two limit flags")
    if session.scalar(select(Account.id).where(Account.code == code)) is not None:
        raise AlreadyExists(f"account {code} already exists", code_value=code)
    try:
        with session.begin_nested():
            account_id = session.execute(
                insert(Account)
                .values(
                    code=code,
                    ledger=ledger,
                    credits_must_not_exceed_debits=credits_must_not_exceed_debits,
                    debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                    debits_pending=0,
                    debits_posted=0,
                    credits_pending=0,
                    credits_posted=0,
                    opened_at=now(),
                )
                .returning(Account.id)
            ).scalar_one()
    except IntegrityError as exc:  # a concurrent open of the same code won the race
        raise AlreadyExists(f"account {code} already exists", code_value=code) from exc
    return AccountInfo(
        account_id,
        code,
        ledger,
        credits_must_not_exceed_debits,
        debits_must_not_exceed_credits,
        Balance(),
    )


_OPEN_CHUNK = 5000
_OPEN_COLUMNS = ("code", "ledger", "credits_must_not_exceed_debits",
                 "debits_must_not_exceed_credits", "debits_pending", "debits_posted",
                 "credits_pending", "credits_posted", "opened_at")


def open_accounts(
    session: Session, codes: list[str], ledger: str, *, credits_must_not_exceed_debits: bool
) -> None:
    """Open many new accounts of one ledger and flag in a few statements (batch imports);
    AlreadyExists names the first code already taken, and nothing is opened."""
    for code in codes:
        check_account_code(code)
    if not isinstance(ledger, str) or not _LEDGER.fullmatch(ledger):
        raise InvalidInput(f"ledger {ledger!r} must be 1–64 letters, digits, '_', '.', '-'")
    if len(set(codes)) != len(codes):
        raise InvalidInput("an account code is given twice", field="code")
    for start in range(0, len(codes), _OPEN_CHUNK):
        taken = session.scalar(select(Account.code).where(
            Account.code.in_(codes[start:start + _OPEN_CHUNK])).limit(1))
        if taken is not None:
            raise AlreadyExists(f"account {taken} already exists", code_value=taken)
    opened = now()
    insert_rows(session.connection(), Account.__table__, _OPEN_COLUMNS, (
        (code, ledger, credits_must_not_exceed_debits, False, 0, 0, 0, 0, opened)
        for code in codes))


def get_account(session: Session, code: str) -> AccountInfo:
    """The account with `code`, or NotFound."""
    row = session.execute(select(Account).where(Account.code == code)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no account {code}", code_value=code)
    return AccountInfo(
        row.id,
        row.code,
        row.ledger,
        row.credits_must_not_exceed_debits,
        row.debits_must_not_exceed_credits,
        Balance(row.debits_pending, row.debits_posted, row.credits_pending, row.credits_posted),
    )


def balance(session: Session, code: str) -> Balance:
    """The current totals of account `code`: one row read, whatever the journal's size."""
    row = session.execute(select(*_TOTALS).where(Account.code == code)).first()
    if row is None:
        raise NotFound(f"no account {code}", code_value=code)
    return Balance(*row)


def balance_as_of(session: Session, code: str, at: datetime) -> Balance:
    """The totals of account `code` as they stood at `at` (an index seek into its history)."""
    if at.tzinfo is None:
        raise InvalidInput("as_of must carry a time zone", field="as_of")
    account_id = session.scalar(select(Account.id).where(Account.code == code))
    if account_id is None:
        raise NotFound(f"no account {code}", code_value=code)
    row = session.execute(
        select(
            AccountHistory.debits_pending,
            AccountHistory.debits_posted,
            AccountHistory.credits_pending,
            AccountHistory.credits_posted,
        )
        .where(AccountHistory.account_id == account_id, AccountHistory.posted_at <= at)
        .order_by(AccountHistory.posted_at.desc(), AccountHistory.entry_id.desc())
        .limit(1)
    ).first()
    return Balance() if row is None else Balance(*row)


def ensure_account(session: Session, code: str, ledger: str, *, limited: bool) -> None:
    """Open the account unless it exists (a concurrent opener may have won the race)."""
    if session.scalar(select(Account.id).where(Account.code == code)) is None:
        # A concurrent transaction may have opened it meanwhile: then it is there.
        with contextlib.suppress(AlreadyExists):
            open_account(session, code, ledger, credits_must_not_exceed_debits=limited)
