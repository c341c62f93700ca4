"""The page frame every report shares: A4, a provenance header and a numbered footer.

Each page states the report, the programme, the period, the policy versions in force (with
their files' SHA-256), the journal's head hash, and when (Asia/Shanghai) and by whom it was
made; the footer numbers pages "第 X 页 / 共 Y 页", counted in a second pass over the pages.
Every word is the reports' catalogue's (reports/words.py), in the language being written.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import FrameBreak

from ledger.core.money import format_yuan
from reports.fonts import ReportFont
from reports.words import N_, tr
from rules.decision import PolicyRef

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_WIDTH, PAGE_HEIGHT = A4
SIDE_MARGIN = 18 * mm
BOTTOM_MARGIN = 20 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * SIDE_MARGIN
_HEADER_TOP = 12 * mm
_LINE = 3.6 * mm
_RULE_GRAY = colors.HexColor("#7f7f7f")
_HEAD_FILL = colors.HexColor("#dfe6ee")
_ZEBRA = colors.HexColor("#f4f6f8")


@dataclass(frozen=True)
class ReportMeta:
    """What every page of a report says about where its figures came from."""

    title: str
    programme: str
    period: str
    policies: tuple[PolicyRef, ...]
    head_hash: str
    entries: int
    made_at: dt.datetime
    made_by: str

    @property
    def made_at_text(self) -> str:
        """The moment of making in Asia/Shanghai, to the second, e.g. 2026-01-05 09:30:00."""
        return self.made_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def policy_line(ref: PolicyRef) -> str:
    """One policy version as the header prints it: programme, version, file and its SHA-256."""
    return f"{ref.programme} {ref.version}（{ref.file}）SHA-256 {ref.sha256}"


def _indent(label: str, font: str | None) -> str:
    """Blank space as wide as `label` in `font` at any size: ideographic spaces, then
    ordinary ones for the rest (none without a font: only the lines are counted then)."""
    if font is None:
        return ""
    width, em = stringWidth(label, font, 10), stringWidth("\u3000", font, 10)
    wide = int(width // em)
    return "\u3000" * wide + " " * round((width - wide * em) / stringWidth(" ", font, 10))


def _header_lines(meta: ReportMeta, font: str | None = None) -> list[str]:
    policies = ([policy_line(p) for p in meta.policies]
                or [tr("None (no policy file applies to this programme)")])
    label = tr("Policies in force: ")
    indent = _indent(label, font)
    return [
        *((label if i == 0 else indent) + line for i, line in enumerate(policies)),
        tr("Journal head hash: {hash} ({entries} entries)", hash=meta.head_hash,
           entries=meta.entries),
    ]


def top_margin(meta: ReportMeta) -> float:
    """Room for the header: the title line, one line per policy, the head hash and a rule."""
    return _HEADER_TOP + 6 * mm + len(_header_lines(meta)) * _LINE + 5 * mm


def _draw_frame(canvas: Canvas, meta: ReportMeta, font: str, page: int, pages: int) -> None:
    """Header and footer of one page; called once the page count is known."""
    canvas.saveState()
    left, right = SIDE_MARGIN, PAGE_WIDTH - SIDE_MARGIN
    y = PAGE_HEIGHT - _HEADER_TOP
    canvas.setFont(font, 10.5)
    canvas.drawString(left, y, tr("{title} — programme: {programme}", title=meta.title,
                                  programme=meta.programme))
    canvas.drawRightString(right, y, tr("Period: {period}", period=meta.period))
    y -= 5.5 * mm
    canvas.setFont(font, 6.8)
    canvas.setFillColor(colors.HexColor("#333333"))
    for line in _header_lines(meta, font):
        canvas.drawString(left, y, line)
        y -= _LINE
    canvas.setStrokeColor(_RULE_GRAY)
    canvas.setLineWidth(0.6)
    canvas.line(left, y + 1.2 * mm, right, y + 1.2 * mm)
    footer_y = 11 * mm
    canvas.line(left, footer_y + 4 * mm, right, footer_y + 4 * mm)
    canvas.setFont(font, 7.5)
    canvas.drawString(left, footer_y, tr("Made {made_at} (Beijing time) by {made_by}",
                                         made_at=meta.made_at_text, made_by=meta.made_by))
    canvas.drawRightString(right, footer_y, tr("Page {page} of {pages}", page=page, pages=pages))
    canvas.restoreState()


def _numbered_canvas(meta: ReportMeta, font: str) -> type[Canvas]:
    """A canvas class that holds pages back until the end, then frames each with the count."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                _draw_frame(self, meta, font, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def build_pdf(
    out: str | Path | IO[bytes], meta: ReportMeta, story: list[Flowable], font: ReportFont
) -> None:
    """Lay `story` out on A4 pages framed with `meta` and write the PDF to `out`."""
    target = str(out) if isinstance(out, Path) else out
    doc = BaseDocTemplate(
        target,
        pagesize=A4,
        leftMargin=SIDE_MARGIN,
        rightMargin=SIDE_MARGIN,
        topMargin=top_margin(meta),
        bottomMargin=BOTTOM_MARGIN,
        title=f"{meta.title} {meta.programme}",
        author=meta.made_by,
        subject=tr("{title}; period {period}; journal head hash {hash}", title=meta.title,
                   period=meta.period, hash=meta.head_hash),
        creator="voucher-ledger",
        # Start every page in the report font: reportlab's default initial font is
        # Helvetica, which would then be declared (unembedded) on every page.
        initialFontName=font.name,
    )
    # The frame fills the margins exactly (reportlab's default pads it by 6 pt), so a table
    # CONTENT_WIDTH wide ends on the header's rule rather than past the right margin.
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    closing = signed_ending(story, signature_block(meta, font), doc.height)
    doc.build(closing, canvasmaker=_numbered_canvas(meta, font.name))


def signed_ending(story: list[Flowable], signature: list[Flowable],
                  frame_height: float) -> list[Flowable]:
    """The story with the signature block that never stands on a page of its own: it stays
    with what follows the story's last data table, and that table hands its last rows over to
    their page when they would not fit under it (a signed page that shows none of the report
    could be swapped)."""
    if not story:
        return [KeepTogether(signature)]
    last_table = next((i for i in range(len(story) - 1, -1, -1)
                       if isinstance(story[i], StreamingTable)), None)
    if last_table is None:
        return [*story[:-1], KeepTogether([*_flat(story[-1:]), *signature])]
    # Kept together as one (a KeepTogether inside another would read as endless).
    after = _flat(story[last_table + 1:])
    ending = KeepTogether([*after, *signature])
    needed = _stacked_height([*after, *signature])
    table = story[last_table]
    assert isinstance(table, StreamingTable)
    # An ending taller than half a page carries enough of the report by itself.
    if needed <= frame_height / 2:
        table.ending_height = needed
    return [*story[:last_table], table, ending]


def _flat(flowables: Sequence[Flowable]) -> list[Flowable]:
    """`flowables` with every KeepTogether replaced by its content."""
    out: list[Flowable] = []
    for flowable in flowables:
        out += _flat(flowable._content) if isinstance(flowable, KeepTogether) else [flowable]
    return out


def _stacked_height(flowables: Sequence[Flowable]) -> float:
    """The height of `flowables` one under the other across the page, with their spacing
    (containers such as KeepTogether measured by their content)."""
    scratch = Canvas(io.BytesIO())  # some flowables measure themselves on a canvas
    height = 0.0
    for flowable in _flat(flowables):
        _, h = flowable.wrapOn(scratch, CONTENT_WIDTH, PAGE_HEIGHT)
        height += h + flowable.getSpaceBefore() + flowable.getSpaceAfter()
    return height


SIGNATURE_ROLES = (N_("Prepared by"), N_("Reviewed by"), N_("Audited by"))


def signature_block(meta: ReportMeta, font: ReportFont) -> list[Flowable]:
    """The closing block every report ends with: who made it, who reviews and who audits it,
    each with a line to sign and a date; the maker is named, with the day it was made."""
    size = 9.5
    made_on = meta.made_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    blank = "________________"
    signed, dated = tr("Signature:"), tr("Date:")
    maker, reviewer, auditor = (tr(role) for role in SIGNATURE_ROLES)
    rows = [
        [maker, meta.made_by, signed, blank, dated, made_on],
        [reviewer, "", signed, blank, dated, blank],
        [auditor, "", signed, blank, dated, blank],
    ]
    name_style = ParagraphStyle("signer", fontName=font.name, fontSize=size, leading=12,
                                wordWrap="CJK")
    data = [[role, Paragraph(escape(name), name_style), *rest] for role, name, *rest in rows]
    widths = [16 * mm, 48 * mm, 12 * mm, 44 * mm, 12 * mm]
    table = Table(
        data,
        colWidths=[*widths, CONTENT_WIDTH - sum(widths)],
        rowHeights=11 * mm,
        style=TableStyle([
            ("FONT", (0, 0), (-1, -1), font.name, size),
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LINEABOVE", (0, 0), (-1, 0), 0.6, _RULE_GRAY),
        ]),
        hAlign="LEFT",
    )
    return [Spacer(1, 8 * mm), table]


@dataclass(frozen=True)
class Styles:
    """Paragraph styles in the report font."""

    title: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    mono: ParagraphStyle


def styles(font: ReportFont) -> Styles:
    """The report's paragraph styles; CJK word wrap so Chinese breaks between characters."""

    def style(name: str, size: float, leading: float, **extra: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name, fontName=font.name, fontSize=size, leading=leading,
            wordWrap="CJK", alignment=TA_LEFT, **extra,
        )

    return Styles(
        title=style("title", 16, 22, spaceAfter=4 * mm),
        heading=style("heading", 11.5, 16, spaceBefore=4 * mm, spaceAfter=2 * mm),
        body=style("body", 9.5, 14, spaceAfter=1.5 * mm),
        small=style("small", 7.5, 10, textColor=colors.HexColor("#444444")),
        mono=style("mono", 8, 11),
    )


def section(title: str, style: ParagraphStyle) -> list[Flowable]:
    """A section heading that starts a new page rather than sit alone at a page's foot."""
    return [CondPageBreak(40 * mm), Paragraph(title, style)]


def money(fen: int) -> str:
    """Fen as the reports print them: yuan, thousands separators, two decimals."""
    return format_yuan(fen)


@dataclass(frozen=True)
class _Row:
    """One table row ready to draw: its cells (strings, or Paragraphs where text wraps) and
    the height they need."""

    cells: list[str | Paragraph]
    height: float


_PAD_X, _PAD_TOP, _PAD_BOTTOM = 3.0, 1.0, 2.0
_KV_PAD = 6.0  # reportlab's default cell padding, which key-value tables keep


@dataclass(frozen=True)
class _TableSpec:
    """How a data table looks: its header, column widths, font, figures and total row."""

    header: tuple[str, ...]
    widths: tuple[float, ...]
    font: str
    font_size: float
    right: frozenset[int]
    total: tuple[str, ...] | None

    @property
    def row_height(self) -> float:
        """The height of a row whose cells fit on one line."""
        return self.font_size * 1.75

    @functools.cached_property
    def _styles(self) -> dict[int, ParagraphStyle]:
        def style(name: str, alignment: int) -> ParagraphStyle:
            return ParagraphStyle(name, fontName=self.font, fontSize=self.font_size,
                                  leading=self.font_size * 1.25, wordWrap="CJK",
                                  alignment=alignment)

        return {TA_LEFT: style("cell", TA_LEFT), TA_RIGHT: style("figure", TA_RIGHT),
                TA_CENTER: style("head", TA_CENTER)}

    def row(self, texts: Sequence[str], *, header: bool = False) -> _Row:
        """The row's cells, wrapping (as Paragraphs) any text wider than its column."""
        cells: list[str | Paragraph] = []
        height = self.row_height
        for column, (text, width) in enumerate(zip(texts, self.widths, strict=True)):
            room = width - 2 * _PAD_X
            if "\n" not in text and stringWidth(text, self.font, self.font_size) <= room:
                cells.append(text)
                continue
            align = TA_CENTER if header else TA_RIGHT if column in self.right else TA_LEFT
            # Cells are data (names, messages): escape them before Paragraph reads markup.
            para = Paragraph(escape(text).replace("\n", "<br/>"), self._styles[align])
            _, needed = para.wrap(room, PAGE_HEIGHT)
            cells.append(para)
            height = max(height, needed + _PAD_TOP + _PAD_BOTTOM + 1)
        return _Row(cells, height)

    def table(self, rows: list[_Row], *, first_row: int, with_total: bool) -> Table:
        """One page's piece: the header row, `rows`, and the total row if asked."""
        data: list[_Row] = [self.row(self.header, header=True), *rows]
        if with_total and self.total is not None:
            data.append(self.row(self.total))
        # Keep the zebra stripes in step across pages.
        stripes = [colors.white, _ZEBRA] if first_row % 2 == 0 else [_ZEBRA, colors.white]
        commands: list[tuple[Any, ...]] = [
            ("FONT", (0, 0), (-1, -1), self.font, self.font_size),
            ("GRID", (0, 0), (-1, -1), 0.4, _RULE_GRAY),
            ("BACKGROUND", (0, 0), (-1, 0), _HEAD_FILL),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), stripes),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), _PAD_X),
            ("RIGHTPADDING", (0, 0), (-1, -1), _PAD_X),
            ("TOPPADDING", (0, 0), (-1, -1), _PAD_TOP),
            ("BOTTOMPADDING", (0, 0), (-1, -1), _PAD_BOTTOM),
        ]
        commands += [("ALIGN", (c, 0), (c, -1), "RIGHT") for c in sorted(self.right)]
        commands.append(("ALIGN", (0, 0), (-1, 0), "CENTER"))
        if with_total and self.total is not None:
            commands += [
                ("BACKGROUND", (0, -1), (-1, -1), _HEAD_FILL),
                ("LINEABOVE", (0, -1), (-1, -1), 1.0, colors.black),
            ]
        return Table(
            [r.cells for r in data],
            colWidths=list(self.widths),
            rowHeights=[r.height for r in data],
            repeatRows=1,
            style=TableStyle(commands),
            hAlign="LEFT",
        )


class StreamingTable(Flowable):
    """A table laid out a page at a time from an iterator of rows, header on every page.

    Only the rows of the page being laid out are held, so a report of 50,000 accounts
    neither loads them all nor pays reportlab's cost of re-splitting one huge Table on
    every page. Rows are as tall as their wrapped text. The total row never stands alone:
    it takes the last row with it. What must follow the table (`ending_height`: the report's
    signature block) takes the last row with it too, when the table's last page holds two
    rows or more.
    """

    def __init__(
        self, spec: _TableSpec, rows: Iterator[Sequence[str]],
        carried: list[_Row] | None = None, first_row: int = 0, ending_height: float = 0.0,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.rows = rows
        self.carried = carried or []
        self.first_row = first_row
        self.ending_height = ending_height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        # Its height is unknown until the rows are read; claiming more than the space left
        # makes the frame call split(), which lays out exactly one page's worth.
        return sum(self.spec.widths), availHeight + 1

    def _next_rows(self) -> Iterator[_Row]:
        yield from self.carried
        for texts in self.rows:
            yield self.spec.row(texts)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        spec = self.spec
        room = availHeight - spec.row(spec.header, header=True).height
        total = 0.0 if spec.total is None else spec.row(spec.total).height
        if room < 2 * spec.row_height + total:
            return []  # room for fewer than two rows and the total: start on the next page
        page: list[_Row] = []
        used = 0.0
        for row in self._next_rows():
            if used + row.height > room and page:
                return [
                    spec.table(page, first_row=self.first_row, with_total=False),
                    StreamingTable(spec, self.rows, [row], self.first_row + len(page),
                                   self.ending_height),
                ]
            page.append(row)
            used += row.height
        # Every row is read: the table ends on this page if its total, and what must follow
        # it, fit too; else its last row goes over with them.
        if used + total + self.ending_height <= room:
            return [spec.table(page, first_row=self.first_row, with_total=True)]
        if len(page) < 2:
            if self.ending_height and self.first_row == 0 and not self.carried:
                # A one-row table near the page's foot: it goes over whole, with the ending.
                return [FrameBreak(), StreamingTable(spec, iter(()), page, 0,
                                                     self.ending_height)]
            return [spec.table(page, first_row=self.first_row, with_total=True)]
        # On the next page: the space left here would take the row but not what follows.
        return [
            spec.table(page[:-1], first_row=self.first_row, with_total=False),
            FrameBreak(),
            StreamingTable(spec, iter(()), page[-1:], self.first_row + len(page) - 1,
                           self.ending_height),
        ]

    def draw(self) -> None:
        """Never drawn itself: split() always hands the frame ordinary tables."""


def data_table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    widths: Sequence[float],
    font: ReportFont,
    *,
    numeric_from: int | None = 1,
    amounts: Collection[int] = (),
    total: Sequence[str] | None = None,
    font_size: float = 8,
) -> StreamingTable:
    """A ruled table of string cells whose header row heads every page it spans.

    Columns from `numeric_from` on (None: none) and the columns in `amounts` are
    right-aligned figures; long text wraps within its column; `total` is a last row set off
    by a rule. Rows are read lazily, a page at a time.
    """
    right = set(amounts)
    if numeric_from is not None:
        right |= set(range(numeric_from, len(header)))
    spec = _TableSpec(
        tuple(header), tuple(widths), font.name, font_size, frozenset(right),
        None if total is None else tuple(total),
    )
    return StreamingTable(spec, iter(rows))


# A value made only of figures and their units (1,234.00 / 3 笔，1,000.00 元) is right-aligned.
_FIGURES = re.compile(r"[\d,.\-−－/ 　元笔张次条项个，（）()]+")


def key_value_table(
    pairs: Sequence[tuple[str, str]], font: ReportFont, label_width: float
) -> Table:
    """Two columns, label and value, for summaries: figures right-aligned, other values
    (hashes, messages) and over-long labels wrapped within their column."""
    size = 8.5
    style = ParagraphStyle("kv", fontName=font.name, fontSize=size, leading=11.5,
                           wordWrap="CJK")
    value_width = CONTENT_WIDTH - label_width
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), font.name, size),
        ("GRID", (0, 0), (-1, -1), 0.4, _RULE_GRAY),
        ("BACKGROUND", (0, 0), (0, -1), _HEAD_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]

    def cell(text: str, width: float) -> str | Paragraph:
        if stringWidth(text, font.name, size) <= width - 2 * _KV_PAD:
            return text
        # Values are data (error messages, codes): escape them before Paragraph reads markup.
        return Paragraph(escape(text), style)

    data: list[list[str | Paragraph]] = []
    for row, (label, value) in enumerate(pairs):
        if _FIGURES.fullmatch(value):
            commands.append(("ALIGN", (1, row), (1, row), "RIGHT"))
        data.append([cell(label, label_width), cell(value, value_width)])
    return Table(data, colWidths=[label_width, value_width], style=TableStyle(commands),
                 hAlign="LEFT")
