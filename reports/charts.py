"""Charts in reportlab's own vector graphics: amounts by category (bars) and by month (line).

Amounts come in as integer fen. Bar and point labels print the exact yuan figure; only the
geometry (bar heights, axis ticks) uses yuan as floats, which positions ink, never money.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from ledger.core.money import FEN_PER_YUAN, format_yuan
from reports.document import CONTENT_WIDTH
from reports.fonts import ReportFont

BAR_FILL = colors.HexColor("#3d6a99")
LINE_STROKE = colors.HexColor("#b5482e")
_TITLE_SIZE = 9
_LABEL_SIZE = 7
MAX_MONTH_LABELS = 12


def _axis_text(value: float) -> str:
    """Axis ticks in whole yuan with thousands separators (ticks are positions, not sums)."""
    return f"{value:,.0f}"


def _geometry(values_fen: Sequence[int]) -> list[float]:
    return [fen / FEN_PER_YUAN for fen in values_fen]


def _scale(chart: VerticalBarChart | HorizontalLineChart, values_fen: Sequence[int]) -> None:
    """Start the axis at zero and leave headroom above the largest value for its label."""
    top = max([0, *values_fen]) / FEN_PER_YUAN
    bottom = min([0, *values_fen]) / FEN_PER_YUAN
    chart.valueAxis.valueMin = bottom * 1.3
    chart.valueAxis.valueMax = top * 1.15 if top > 0 else 1
    chart.valueAxis.labelTextFormat = _axis_text
    # Category names sit under the plot, not on the zero line where negative bars hang.
    chart.categoryAxis.joinAxisMode = "bottom"
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#d0d0d0")
    chart.valueAxis.gridStrokeWidth = 0.3


def _frame(title: str, font: ReportFont, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    # The renderer starts each drawing in Helvetica unless told otherwise: that would declare
    # an unembedded font in the PDF although no text is set in it.
    drawing.initialFontName = font.name
    drawing.add(
        String(width / 2, height - _TITLE_SIZE - 2, title, fontName=font.name,
               fontSize=_TITLE_SIZE, textAnchor="middle")
    )
    return drawing


def bar_chart(
    labels: Sequence[str],
    values_fen: Sequence[int],
    font: ReportFont,
    *,
    title: str,
    width: float = CONTENT_WIDTH,
    height: float = 180,
) -> Drawing:
    """One bar per label, its exact yuan figure printed on it; labels may be Chinese."""
    drawing = _frame(title, font, width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 62, 34
    # Room on the right for half the last bar's label (12,110,086.20), which centres on it.
    chart.width, chart.height = width - 62 - 40, height - 34 - 24
    chart.data = [_geometry(values_fen)]
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontName = font.name
    chart.categoryAxis.labels.fontSize = _LABEL_SIZE
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.valueAxis.labels.fontName = font.name
    chart.valueAxis.labels.fontSize = _LABEL_SIZE
    _scale(chart, values_fen)
    chart.bars[0].fillColor = BAR_FILL
    chart.bars[0].strokeColor = None
    chart.barLabels.fontName = font.name
    chart.barLabels.fontSize = _LABEL_SIZE - 0.5
    chart.barLabels.nudge = 6
    chart.barLabelFormat = "values"
    chart.barLabelArray = [[format_yuan(v) for v in values_fen]]
    drawing.add(chart)
    return drawing


def monthly_line(
    months: Sequence[str],
    values_fen: Sequence[int],
    font: ReportFont,
    *,
    title: str,
    width: float = CONTENT_WIDTH,
    height: float = 170,
) -> Drawing:
    """A line through one amount per month (labels such as 2025-01), points marked."""
    drawing = _frame(title, font, width, height)
    chart = HorizontalLineChart()
    chart.x, chart.y = 62, 30
    chart.width, chart.height = width - 62 - 40, height - 30 - 24
    chart.data = [_geometry(values_fen)]
    # Past a year of months the labels would overrun each other: name every k-th month.
    step = -(-len(months) // MAX_MONTH_LABELS)
    chart.categoryAxis.categoryNames = [m if i % step == 0 else "" for i, m in enumerate(months)]
    chart.categoryAxis.labels.fontName = font.name
    chart.categoryAxis.labels.fontSize = _LABEL_SIZE
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.valueAxis.labels.fontName = font.name
    chart.valueAxis.labels.fontSize = _LABEL_SIZE
    _scale(chart, values_fen)
    chart.lines[0].strokeColor = LINE_STROKE
    chart.lines[0].strokeWidth = 1.5
    chart.lines[0].symbol = makeMarker("FilledCircle", size=3.5)
    chart.lineLabels.fontName = font.name
    chart.lineLabels.fontSize = _LABEL_SIZE - 0.5
    chart.lineLabels.dy = 6
    chart.lineLabelFormat = "values"
    # A zero month needs no figure over its point (the axis says it); others get theirs.
    chart.lineLabelArray = [[format_yuan(v) if v or step == 1 else "" for v in values_fen]]
    drawing.add(chart)
    return drawing
