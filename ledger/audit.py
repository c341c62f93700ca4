"""What auditors read: the journal, filtered and paginated in SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ledger.errors import InvalidInput
from ledger.journal import PostedEntry, get_entry
from ledger.models import Account, JournalEntry, Transfer
from ledger.paging import Page, check_page


def list_entries(
    session: Session,
    *,
    limit: int,
    offset: int = 0,
    programme: str | None = None,
    account: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[PostedEntry]:
    """Entries, oldest first, touching the programme (or one account), posted in [since, until)."""
    check_page(limit, offset)
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name} must carry a time zone", field=name)
    condition = []
    if programme is not None or account is not None:
        touched = select(Transfer.id).join(
            Account, (Account.id == Transfer.debit_account_id)
            | (Account.id == Transfer.credit_account_id)
        ).where(Transfer.entry_id == JournalEntry.id)
        if programme is not None:
            touched = touched.where(Account.ledger == programme)
        if account is not None:
            touched = touched.where(Account.code == account)
        condition.append(exists(touched))
    if since is not None:
        condition.append(JournalEntry.posted_at >= since)
    if until is not None:
        condition.append(JournalEntry.posted_at < until)
    total = session.scalar(select(func.count()).select_from(JournalEntry).where(*condition)) or 0
    ids = session.scalars(select(JournalEntry.id).where(*condition).order_by(JournalEntry.id)
                          .limit(limit).offset(offset)).all()
    return Page([get_entry(session, i) for i in ids], total, limit, offset)
