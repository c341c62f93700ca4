"""Prefix search (`q`): a condition an index can serve on both engines.

PostgreSQL uses a btree index for `LIKE 'abc%'` only under the C collation or with
`text_pattern_ops`, so there the condition is a LIKE and the migrations add
`text_pattern_ops` indexes. SQLite's LIKE is case-insensitive and skips a BINARY index, so
there it is the range `col >= 'abc' AND col < 'abd'`, which any index on the column serves.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import and_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from ledger.core.errors import InvalidInput

MAX_QUERY = 64
# Past the last code point: a prefix ending in it has no successor string to bound the range.
_TOP = 0x10FFFF


class StartsWith(ColumnElement[bool]):
    """`column` starts with `prefix` (a literal string, compared byte for byte).

    Both forms are built once with the prefix in bound parameters, so the statement's
    compiled SQL is cached like any other (the prefix is a value, not part of the SQL).
    """

    inherit_cache = True
    type = Boolean()
    # A condition, not a boolean value: without this SQLite (no native boolean) is given
    # `... = 1`, which binds to the range's last comparison and leaves it off the index.
    _is_implicitly_boolean = True
    _traverse_internals: ClassVar[list[tuple[str, Any]]] = [
        ("like", InternalTraversal.dp_clauseelement),
        ("range", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any, prefix: str) -> None:
        self.like = column.startswith(prefix, autoescape=True)
        if ord(prefix[-1]) == _TOP:
            self.range = self.like
        else:
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            self.range = and_(column >= prefix, column < upper).self_group()


@compiles(StartsWith)
def _like(element: StartsWith, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.like, **kw))


@compiles(StartsWith, "sqlite")
def _range(element: StartsWith, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.range, **kw))


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
