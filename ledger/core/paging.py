"""Offset pagination shared by every list: a bounded page and the total, counted in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ledger.core.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Far past any real list, and inside every engine's 64-bit integer.
MAX_OFFSET = 2**31 - 1
MAX_ID = 2**63 - 1


def check_page(limit: int, offset: int) -> None:
    """Refuse a page size outside 1..MAX_LIMIT or a negative offset."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset must be between 0 and {MAX_OFFSET}", field="offset")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and where the next one starts (None at the end)."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page, or None when this page is the last."""
        following = self.offset + len(self.items)
        return following if following < self.total and self.items else None


@dataclass(frozen=True)
class Cursor:
    """Where a keyset page starts: after one id, or before one (neither: the first page)."""

    after: int | None = None
    before: int | None = None


@dataclass(frozen=True)
class Slice(Generic[T]):
    """One keyset page, in list order, and the cursors to its neighbours (None at an end).

    A deep page costs what the first one does: it seeks to its cursor instead of counting
    past an offset. There is no total; counting a journal of millions is the slow part.
    """

    items: list[T]
    limit: int
    previous: int | None  # ?before=<previous>
    next: int | None  # ?after=<next>


def count_of(session: Session, ids: Select[Any]) -> int:
    """How many rows the id query `ids` gives (counted in SQL)."""
    return session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def ids_of_page(session: Session, ids: Select[Any], *, limit: int, offset: int,
                total: int, sort: bool = False) -> list[Any]:
    """The ids on one page of `ids` (one id column) in descending order, `total` counted.

    A page past the middle is read from the other end (ascending, then reversed), so the
    last page skips as few rows as the first; the engine skips index entries, not rows.
    `sort`: the matches are few or lie in one run of ids, so find them all by the filter's
    index and sort them, rather than walk the id order until enough have turned up.
    """
    if offset >= total:
        return []
    key = ids.selected_columns[0]
    if sort:
        key = key + 0  # an expression: no index gives its order
    if offset <= (total - 1) // 2:
        return list(session.scalars(ids.order_by(key.desc()).limit(limit).offset(offset)))
    end = min(offset + limit, total)
    found = list(session.scalars(ids.order_by(key.asc()).limit(end - offset)
                                 .offset(total - end)))
    return found[::-1]
