"""What auditors read: the journal, filtered and paginated in SQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from ledger.core.errors import InvalidInput
from ledger.core.journal import PostedEntry, get_entry
from ledger.core.models import Account, JournalEntry, JournalSeal, Transfer
from ledger.core.paging import MAX_ID, MAX_LIMIT, Cursor, Page, Slice, check_page
from ledger.registry.names import actor_names


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


@dataclass(frozen=True)
class EntryLine:
    """A journal entry as a list shows it: its transfers counted and summed, its hash."""

    id: int
    posted_at: datetime
    flow: str
    ref: str
    actor: str
    transfers: int
    amount_fen: int
    hash: str
    actor_name: str = ""


# The most entries a programme-filtered page looks at (see journal_slice).
SCAN_WINDOW = 10_000


def _check_moments(since: datetime | None, until: datetime | None) -> None:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name} must carry a time zone", field=name)


def _first_id_at(session: Session, moment: datetime) -> int:
    """The first entry posted at or after `moment` (one past the last entry if none).

    Posting times never decrease along the chain (journal._stamp), so a time range is an id
    range: the journal is then always read in id order, by its primary key.
    """
    found = session.scalar(select(JournalEntry.id).where(JournalEntry.posted_at >= moment)
                           .order_by(JournalEntry.posted_at, JournalEntry.id).limit(1))
    return MAX_ID if found is None else found


def _first_transfer_of(session: Session, entry_id: int) -> int:
    """The first transfer id of the first entry at or after `entry_id` (transfer ids follow
    entry ids), or one past the last transfer."""
    found = session.scalar(select(Transfer.id).where(Transfer.entry_id >= entry_id)
                           .order_by(Transfer.entry_id, Transfer.id).limit(1))
    return MAX_ID if found is None else found


def _seek_account(session: Session, account_id: int, low: int, high: int, descending: bool,
                  limit: int) -> list[int]:
    """Up to `limit` ids of entries in [low, high) moving `account_id`: a seek into each of
    the two (account, transfer id) indexes, merged."""
    first, last = _first_transfer_of(session, low), _first_transfer_of(session, high)
    found: set[int] = set()
    for column in (Transfer.debit_account_id, Transfer.credit_account_id):
        order = Transfer.id.desc() if descending else Transfer.id
        found.update(session.scalars(
            select(Transfer.entry_id).where(column == account_id, Transfer.id >= first,
                                            Transfer.id < last)
            .order_by(order).limit(limit)).all())
    return sorted(found, reverse=descending)[:limit]


def _seek(session: Session, low: int, high: int, descending: bool, limit: int,
          touches: ColumnElement[bool] | None) -> list[int]:
    """Up to `limit` ids in [low, high), by primary key, of entries passing `touches`."""
    statement: Select[tuple[int]] = select(JournalEntry.id).where(
        JournalEntry.id >= low, JournalEntry.id < high)
    if touches is not None:
        statement = statement.where(touches)
    order = JournalEntry.id.desc() if descending else JournalEntry.id
    return list(session.scalars(statement.order_by(order).limit(limit)).all())


def _lines(session: Session, ids: list[int]) -> list[EntryLine]:
    if not ids:
        return []
    sums = {e: (int(n), int(total)) for e, n, total in session.execute(
        select(Transfer.entry_id, func.count(), func.sum(Transfer.amount))
        .where(Transfer.entry_id.in_(ids)).group_by(Transfer.entry_id)).all()}
    # An entry not sealed yet has no hash: shown as "" until the seal step chains it.
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.posted_at, JournalEntry.flow, JournalEntry.ref,
               JournalEntry.actor, JournalSeal.hash)
        .outerjoin(JournalSeal, JournalSeal.entry_id == JournalEntry.id)
        .where(JournalEntry.id.in_(ids)).order_by(JournalEntry.id)).all()
    # The people behind the page's entries in one query, not one per entry.
    names = actor_names(session, [row[4] for row in rows])
    return [EntryLine(i, at, flow, ref, actor, *sums.get(i, (0, 0)), digest or "", names[actor])
            for i, at, flow, ref, actor, digest in rows]


def journal_slice(
    session: Session,
    *,
    limit: int,
    cursor: Cursor | None = None,
    programme: str | None = None,
    account: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Slice[EntryLine]:
    """A keyset page of entries, oldest first, touching the programme (or one account),
    posted in [since, until): after or before a cursor entry id, at the same cost at any depth.

    A programme filter checks entries one by one, so it looks at most SCAN_WINDOW entries a
    page: where the programme's entries are sparse a page may hold fewer rows than `limit`
    (even none) and still link on to the rest.
    """
    cursor = cursor or Cursor()
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    for name, value in (("after", cursor.after), ("before", cursor.before)):
        if value is not None and not 0 <= value <= MAX_ID:
            raise InvalidInput(f"{name} must be an entry id", field=name)
    _check_moments(since, until)
    last = session.scalar(select(func.max(JournalEntry.id))) or 0
    outer_low = 1 if since is None else _first_id_at(session, since)
    outer_high = last + 1 if until is None else min(last + 1, _first_id_at(session, until))
    low, high = outer_low, outer_high
    if cursor.after is not None:
        low = max(low, cursor.after + 1)
    if cursor.before is not None:
        high = min(high, cursor.before)
    account_id: int | None = None
    touches: Callable[[int, int], ColumnElement[bool]] | None = None
    if account is not None:
        row = session.execute(select(Account.id, Account.ledger)
                              .where(Account.code == account)).first()
        if row is None or (programme is not None and row.ledger != programme):
            return Slice([], limit, None, None)
        account_id = row.id
    elif programme is not None:
        def touches(lo: int, hi: int) -> ColumnElement[bool]:
            # The window's bounds on the transfers too: PostgreSQL then reads the window's
            # transfers by their entry index; without them it judged the correlated EXISTS
            # a semi-join over every transfer in the journal (200 ms a page at 1,000,000).
            return exists(select(Transfer.id)
                          .join(Account, Account.id == Transfer.debit_account_id)
                          .where(Transfer.entry_id == JournalEntry.id,
                                 Transfer.entry_id >= lo, Transfer.entry_id < hi,
                                 Account.ledger == programme))

    def scan(lo: int, hi: int, descending: bool, n: int) -> tuple[list[int], int]:
        """Up to n matching ids in [lo, hi) from its near end, and how far the search got
        (the far end of the range, unless a scan window stopped short of it)."""
        if lo >= hi:
            return [], hi if descending else lo
        if account_id is not None:
            return _seek_account(session, account_id, lo, hi, descending, n), (
                lo if descending else hi)
        if touches is None:
            return _seek(session, lo, hi, descending, n, None), lo if descending else hi
        if descending:
            lo = max(lo, hi - SCAN_WINDOW)
            return _seek(session, lo, hi, True, n, touches(lo, hi)), lo
        hi = min(hi, lo + SCAN_WINDOW)
        return _seek(session, lo, hi, False, n, touches(lo, hi)), hi

    # The side a cursor came from always has a way back (nothing is scanned to prove it):
    # the first page has no previous page, a page reached by `before` has a next one.
    if cursor.before is not None and cursor.after is None:
        ids, reached = scan(low, high, True, limit + 1)
        more = len(ids) > limit
        ids = sorted(ids[:limit])
        # More below the page, or below where a scan window stopped: link to them.
        previous = ids[0] if more else (reached if reached > low else None)
        following: int | None = (ids[-1] if ids else high - 1) if high < outer_high else None
    else:
        ids, reached = scan(low, high, False, limit + 1)
        more = len(ids) > limit
        ids = ids[:limit]
        following = ids[-1] if more else (reached - 1 if reached < high else None)
        previous = None if low <= outer_low else (ids[0] if ids else low)
    return Slice(_lines(session, ids), limit, previous, following)
