"""Lists: a server-side paginated, filterable table, and the same list as XLSX.

A page describes its list once (`Listing`: columns, filters, a fetch calling the service's
paged list function) and answers with `show_list(request, listing, ...)`. `?limit=&offset=`
page it, each filter is a query parameter, and `?format=xlsx` downloads every row (up to
MAX_EXPORT_ROWS) with Chinese headers and amounts as numbers formatted `#,##0.00`.
A long list gives `seek` instead of `fetch`: keyset pages by `?after=<id>` / `?before=<id>`,
as fast deep down as on the first page.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from api.console import i18n
from api.console.i18n import N_
from api.console.labels import LABELS
from api.console.web import render
from ledger.core.acting import SHANGHAI
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput
from ledger.core.paging import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, MAX_OFFSET, Cursor, Page, Slice
from ledger.core.search import read_query

PAGE_SIZES = (20, 50, 100)
MAX_EXPORT_ROWS = 10_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = ("text", "yuan", "date", "time", "int", "label", "labels")


@dataclass(frozen=True)
class Column:
    """A column: header (message id), how to get the value from an item, and its kind.

    Kinds: text, yuan (integer fen), date, time (UTC datetime), int, label (a code shown
    through LABELS), labels (a sequence of such codes). `link` gives a cell's target URL;
    `action` gives a (POST url, label message id) button for the item, or None.
    """

    header: str
    value: Callable[[Any], Any]
    kind: str = "text"
    link: Callable[[Any], str | None] | None = None
    action: Callable[[Any], tuple[str, str] | None] | None = None


@dataclass(frozen=True)
class Filter:
    """A query-parameter filter: a name, a label (message id) and optional choices (codes).

    `kind` is the input's type ("text", "date"); `default` applies while the parameter is
    absent (an empty value, the "All" choice, means no filter).
    """

    name: str
    label: str
    choices: tuple[str, ...] = ()
    kind: str = "text"
    default: str = ""
    # (choice, label code) where a choice reads otherwise than its own code's label
    words: tuple[tuple[str, str], ...] = ()


# The `q` box of a searchable list: a prefix of a name, a credit code or a serial.
SEARCH = Filter("q", N_("Name, credit code or serial"))


def search_text(filters: dict[str, str]) -> str | None:
    """The list's `q` (None when empty); too long a text is refused by its field."""
    return read_query(filters.get("q"))


@dataclass(frozen=True)
class Listing:
    """A list page: title, columns, filters, and `fetch(session, limit, offset, filters)`
    returning a ledger `Page` (the service's own paged list), or for keyset pages
    `seek(session, limit, cursor, filters)` returning a ledger `Slice`."""

    title: str
    columns: tuple[Column, ...]
    fetch: Callable[[Session, int, int, dict[str, str]], Page[Any]] | None = None
    filters: tuple[Filter, ...] = ()
    filename: str = "list"
    seek: Callable[[Session, int, Cursor, dict[str, str]], Slice[Any]] | None = None


@dataclass(frozen=True)
class Cell:
    """A rendered cell: its kind, value, link and action button."""

    kind: str
    value: Any
    link: str | None = None
    action: tuple[str, str] | None = None


@dataclass(frozen=True)
class Table:
    """What a list template shows: the listing, its page, the rows and the active filters."""

    listing: Listing
    page: Page[Any] | Slice[Any]
    rows: list[list[Cell]]
    filters: dict[str, str] = field(default_factory=dict)
    page_sizes: tuple[int, ...] = PAGE_SIZES

    @property
    def keyset(self) -> bool:
        """True for keyset pages (previous / next by cursor, no total)."""
        return isinstance(self.page, Slice)

    @property
    def previous_offset(self) -> int | None:
        """The offset of the previous page, or None on the first."""
        assert isinstance(self.page, Page)
        return None if self.page.offset == 0 else max(0, self.page.offset - self.page.limit)

    @property
    def last_row(self) -> int:
        """The 1-based number of the page's last row."""
        assert isinstance(self.page, Page)
        return self.page.offset + len(self.page.items)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name}: a whole number between {low} and {high}", field=name)
    return int(raw)


def _optional_id(request: Request, name: str) -> int | None:
    return _int(request, name, -1, 0, MAX_ID) if request.query_params.get(name) else None


def read_filters(request: Request, listing: Listing) -> dict[str, str]:
    """The filters given in the query (empty ones left out); a bad choice is refused."""
    chosen: dict[str, str] = {}
    for spec in listing.filters:
        value = request.query_params.get(spec.name, spec.default).strip()
        if not value:
            continue
        if spec.choices and value not in spec.choices:
            raise InvalidInput(f"{spec.name}: one of {', '.join(spec.choices)}", field=spec.name)
        chosen[spec.name] = value
    return chosen


def _cells(listing: Listing, item: Any) -> list[Cell]:
    return [Cell(c.kind, c.value(item), c.link(item) if c.link else None,
                 c.action(item) if c.action else None) for c in listing.columns]


def show_list(request: Request, listing: Listing | Callable[[Session], Listing], *,
              template: str = "list.html",
              read: Callable[[Session], dict[str, Any]] | None = None,
              **context: Any) -> Response:
    """The list page (or `?format=xlsx`: the whole list as a workbook); `listing` may be built
    from the page's session and `read(session)` add context, both in the rows' transaction."""
    # One transaction for everything a page reads: on PostgreSQL each more costs two round trips.
    if request.query_params.get("format") == "xlsx":
        if not isinstance(listing, Listing):
            with transaction(request.app.state.reader) as session:
                listing = listing(session)
        return export_xlsx(request, listing, read_filters(request, listing))
    page: Page[Any] | Slice[Any]
    with transaction(request.app.state.reader) as session:
        if not isinstance(listing, Listing):
            listing = listing(session)
        filters = read_filters(request, listing)
        limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        if read is not None:
            context.update(read(session))
        if listing.seek is not None:
            cursor = Cursor(_optional_id(request, "after"), _optional_id(request, "before"))
            page = listing.seek(session, limit, cursor, filters)
        else:
            assert listing.fetch is not None
            page = listing.fetch(session, limit, _int(request, "offset", 0, 0, MAX_OFFSET),
                                 filters)
        rows = [_cells(listing, item) for item in page.items]
    table = Table(listing, page, rows, filters)
    return render(request, template, table=table, **context)


def _xlsx_value(kind: str, value: Any, zh: i18n.Catalogue) -> Any:
    if value is None:
        return None
    if kind == "yuan":
        return Decimal(int(value)) / 100
    if kind == "time" and isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(SHANGHAI).replace(tzinfo=None)
    if kind == "label":
        return zh.gettext(LABELS[str(value)]) if str(value) in LABELS else str(value)
    if kind == "labels":
        return "、".join(_xlsx_value("label", v, zh) for v in value)
    if kind in ("date", "int"):
        return value
    return str(value)


def _every_page(session: Session, listing: Listing,
                filters: dict[str, str]) -> Iterator[list[Any]]:
    """The filtered list's items, a page at a time, by offset or by cursor."""
    if listing.seek is not None:
        cursor = Cursor()
        while True:
            chunk = listing.seek(session, MAX_LIMIT, cursor, filters)
            yield chunk.items
            if chunk.next is None:
                return
            cursor = Cursor(after=chunk.next)
    assert listing.fetch is not None
    offset = 0
    while True:
        page = listing.fetch(session, MAX_LIMIT, offset, filters)
        yield page.items
        if page.next_offset is None:
            return
        offset = page.next_offset


FORMATS = {"yuan": "#,##0.00", "date": "yyyy-mm-dd", "time": "yyyy-mm-dd hh:mm"}


def export_xlsx(request: Request, listing: Listing, filters: dict[str, str]) -> Response:
    """Every row of the filtered list as an XLSX workbook (headers in Chinese)."""
    zh = i18n.catalogue("zh_CN", strict=bool(getattr(request.app.state,
                                                      "console_strict_i18n", False)))
    book = Workbook(write_only=True)
    sheet = book.create_sheet(zh.gettext(listing.title)[:31])
    bold = Font(bold=True)
    header = []
    for column in listing.columns:
        if column.action is not None:
            continue
        cell = WriteOnlyCell(sheet, value=zh.gettext(column.header))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    columns = [c for c in listing.columns if c.action is None]
    written = 0
    with transaction(request.app.state.reader) as session:
        for items in _every_page(session, listing, filters):
            for item in items[: MAX_EXPORT_ROWS - written]:
                row = []
                for column in columns:
                    cell = WriteOnlyCell(sheet, value=_xlsx_value(column.kind, column.value(item),
                                                                  zh))
                    if column.kind in FORMATS:
                        cell.number_format = FORMATS[column.kind]
                    row.append(cell)
                sheet.append(row)
                written += 1
            if written >= MAX_EXPORT_ROWS:
                break
    out = io.BytesIO()
    book.save(out)
    name = f"{listing.filename}-{dt.datetime.now(SHANGHAI):%Y%m%d}.xlsx"
    return Response(out.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
