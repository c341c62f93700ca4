"""The operation log as the console lists it: each operation with its person's name.

The log records an actor label (`user:<id>:<login>`); a page names the people behind its
operations with one lookup, not one per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ledger.core import oplog
from ledger.core.paging import Page
from ledger.registry.names import actor_names


@dataclass(frozen=True)
class OperationLine:
    """A logged operation and the display name (or username) of who did it."""

    operation: oplog.OperationView
    actor_name: str


def operations_page(session: Session, *, limit: int, offset: int = 0,
                    **filters: Any) -> Page[OperationLine]:
    """A page of the log as `oplog.list_operations` gives it, each line with its person."""
    page = oplog.list_operations(session, limit=limit, offset=offset, **filters)
    names = actor_names(session, [op.actor for op in page.items])
    return Page([OperationLine(op, names[op.actor]) for op in page.items], page.total,
                page.limit, page.offset)
