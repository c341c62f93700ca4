"""Files people download and open in Excel on a Chinese Windows desktop: CSV and XLSX.

Excel reads a CSV without a byte-order mark in the desktop's ANSI code page (GBK on a Chinese
Windows), which garbles UTF-8 names. So every CSV the product hands out is UTF-8 with a BOM by
default, or GB18030 on request (`encoding=gb18030`, what older bank and finance tools expect);
every export is offered as XLSX as well, which has no encoding to get wrong.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from ledger.core.errors import InvalidInput

# What `encoding=` accepts, and the Python codec and HTTP charset each stands for.
CSV_ENCODINGS = {"utf-8": ("utf-8-sig", "utf-8"), "gb18030": ("gb18030", "gb18030")}
DEFAULT_CSV_ENCODING = "utf-8"
ENCODING_DOC = ("utf-8 (the default: UTF-8 with a byte-order mark, which Excel needs) or "
                "gb18030")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = "#,##0.00"


def csv_encoding(value: str | None) -> str:
    """The encoding asked for (`utf-8` when none), or InvalidInput naming the choices."""
    name = (value or DEFAULT_CSV_ENCODING).strip().lower().replace("_", "-")
    name = {"utf8": "utf-8", "utf-8-sig": "utf-8"}.get(name, name)
    if name not in CSV_ENCODINGS:
        raise InvalidInput(f"encoding {value!r}: choose utf-8 or gb18030", field="encoding")
    return name


def excel_csv(text: str, encoding: str | None = None) -> bytes:
    """CSV text as the bytes Excel reads right: UTF-8 with a BOM (default) or GB18030."""
    codec, _ = CSV_ENCODINGS[csv_encoding(encoding)]
    return text.encode(codec)


def csv_response(text: str, filename: str, encoding: str | None = None) -> Response:
    """A CSV download in the encoding asked for (see `excel_csv`)."""
    name = csv_encoding(encoding)
    return Response(excel_csv(text, name), media_type=f"text/csv; charset={CSV_ENCODINGS[name][1]}",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text with CRLF line ends, as Excel and the banks write it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def xlsx_from_csv(text: str, *, title: str, yuan_columns: Sequence[str] = ()) -> bytes:
    """A CSV's rows as a one-sheet workbook: every cell text (bank accounts and credit codes
    keep their digits) except the `yuan_columns`, which become figures formatted 1,234.00."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    figures = {i for i, name in enumerate(header) if name in yuan_columns}
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in reader:
        cells = []
        for i, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=_figure(value) if i in figures else value)
            if i in figures:
                cell.number_format = YUAN_FORMAT
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _figure(value: str) -> Decimal | str:
    """A yuan amount as an exact Decimal (Excel stores it as a number); other text as is."""
    try:
        return Decimal(value)
    except InvalidOperation:
        return value


def xlsx_response(data: bytes, filename: str) -> Response:
    """An XLSX download."""
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def bank_xlsx(bank_csv: str, batch_id: int) -> bytes:
    """A payment batch's bank file (ledger.payments.batches.bank_file) as a workbook."""
    return xlsx_from_csv(bank_csv, title=f"batch-{batch_id}", yuan_columns=("amount_yuan",))
