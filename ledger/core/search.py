"""Prefix search (`q`): a condition an index can serve on both engines.

PostgreSQL uses a btree index for `LIKE 'abc%'` only under the C collation or with
`text_pattern_ops`, so there the condition is a LIKE and the migrations add
`text_pattern_ops` indexes. SQLite's LIKE is case-insensitive and skips a BINARY index, so
there it is the range `col >= 'abc' AND col < 'abd'`, which any index on the column serves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Boolean

from ledger.core.errors import InvalidInput

MAX_QUERY = 64
# Past the last code point: a prefix ending in it has no successor string to bound the range.
_TOP = 0x10FFFF


class StartsWith(ColumnElement[bool]):
    """`column` starts with `prefix` (a literal string, compared byte for byte)."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: Any, prefix: str) -> None:
        self.column = column
        self.prefix = prefix


@compiles(StartsWith)
def _like(element: StartsWith, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.startswith(element.prefix, autoescape=True),
                                **kw))


@compiles(StartsWith, "sqlite")
def _range(element: StartsWith, compiler: Any, **kw: Any) -> str:
    prefix = element.prefix
    if ord(prefix[-1]) == _TOP:
        return _like(element, compiler, **kw)
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return str(compiler.process(and_(element.column >= prefix, element.column < upper), **kw))


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """A condition: `column` begins with `prefix` (non-empty), served by the column's index."""
    return StartsWith(column, prefix)


def read_query(raw: str | None, name: str = "q") -> str | None:
    """A search text trimmed (None when empty); longer than MAX_QUERY or holding a control
    character (PostgreSQL refuses NUL in text) is refused."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"{name}: at most {MAX_QUERY} characters", field=name)
    if not text.isprintable():
        raise InvalidInput(f"{name}: printable characters only", field=name)
    return text
