"""Reading CSV files as offices save them: the encoding, the header, and row errors.

Every import (parties, vouchers, awards) reads its file through these, so a bad file is
refused the same way everywhere: line, column and reason, nothing written.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.core.errors import ImportRejected

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

# progress(stage, done, total): called as rows are read and written.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RowError:
    """A bad cell: its line in the file (the header is line 1), its column and why."""

    line: int
    column: str
    reason: str


# A header alone: nothing to import is a mistake, not "0 rows imported".
NO_ROWS = RowError(2, "", "no rows")


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a BOM is dropped) or else GB18030."""
    if len(data) > MAX_BYTES:
        raise ImportRejected(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
                             errors=[{"line": 0, "column": "", "reason": "file too large"}])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8")
    # Not UTF-8: what Chinese office software saves as "CSV" is GB18030 (a superset of GBK).
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            "the file is neither UTF-8 nor GB18030",
            errors=[{"line": 0, "column": "", "reason": "neither UTF-8 nor GB18030"}],
        ) from exc


@contextlib.contextmanager
def refused_if_unreadable(reader: Any) -> Iterator[None]:
    """Read the file inside this: a file the csv module itself gives up on (a cell past its
    field size limit, say) is refused at the line `reader` was reading, not a server error."""
    try:
        yield
    except csv.Error as exc:
        line = reader.line_num + 1  # the line being read when the reader gave up
        raise ImportRejected(f"line {line}: {exc}", errors=[
            {"line": line, "column": "", "reason": str(exc)}]) from exc


def read_header(
    reader: Iterator[list[str]],
    columns: Sequence[str],
    required: Sequence[str],
    aliases: Mapping[str, str],
) -> tuple[list[str], list[RowError]]:
    """The header line with aliases resolved, and every problem with it (line 1)."""
    try:
        header = [aliases.get(h.strip(), h.strip()) for h in next(reader)]
    except StopIteration:
        return [], [RowError(1, "", "the file is empty: a header line is required")]
    errors = [
        RowError(1, name, f"unknown column; known: {', '.join(columns)}")
        for name in header
        if name not in columns
    ]
    errors += [RowError(1, name, "required column is missing")
               for name in required if name not in header]
    if len(set(header)) != len(header):
        errors.append(RowError(1, "", "a column appears twice"))
    return header, errors


def reject(errors: list[RowError]) -> ImportRejected:
    """The error that refuses a whole file: how many lines are bad and the first reason."""
    first = errors[0]
    lines = sorted({e.line for e in errors})
    return ImportRejected(
        f"nothing imported: {len(lines)} bad line(s), the first is line {first.line} "
        f"({first.column or 'row'}: {first.reason})",
        errors=[{"line": e.line, "column": e.column, "reason": e.reason} for e in errors],
    )
