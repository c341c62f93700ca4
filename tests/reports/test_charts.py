"""Charts drawn with reportlab's graphics: exact yuan labels, Chinese category names."""

import io

from reportlab.graphics.shapes import Drawing
from reportlab.platypus import SimpleDocTemplate

from reports.charts import bar_chart, monthly_line
from reports.fonts import report_font


def chart_text(drawing: Drawing, read_pdf) -> str:
    pdf = io.BytesIO()
    SimpleDocTemplate(pdf).build([drawing])
    return read_pdf(pdf.getvalue())[0]


def test_bar_chart_labels_each_bar_with_its_exact_amount(read_pdf):
    font = report_font("")
    drawing = bar_chart(
        ["专利申请", "检验检测", "研发设计"], [123_456_789, 5_000_050, 1], font,
        title="按服务类别兑付金额（元）",
    )
    text = chart_text(drawing, read_pdf)
    for expected in ("按服务类别兑付金额（元）", "专利申请", "检验检测", "研发设计",
                     "1,234,567.89", "50,000.50", "0.01"):
        assert expected in text


def test_monthly_line_marks_each_month(read_pdf):
    font = report_font("")
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    values = [m * 1_000_000 + 1 for m in range(1, 13)]
    text = chart_text(monthly_line(months, values, font, title="每月兑付金额（元）"), read_pdf)
    assert "每月兑付金额（元）" in text
    for month in months:
        assert month in text
    for yuan in range(10_000, 130_000, 10_000):
        assert f"{yuan:,}.01" in text


def test_charts_take_negative_and_all_zero_series():
    font = report_font("")
    assert bar_chart(["资金来源", "预算"], [-500, 500], font, title="余额").width > 0
    assert monthly_line(["2025-01"], [0], font, title="零").height > 0


def test_monthly_line_over_two_years_names_every_other_month(read_pdf):
    font = report_font("")
    months = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
    values = [0] * 23 + [1_960_000]
    text = chart_text(monthly_line(months, values, font, title="各月"), read_pdf)
    assert "2025-01" in text and "2025-03" in text and "2026-11" in text
    assert "2025-02" not in text and "2026-12" not in text
    assert "19,600.00" in text and "0.00" not in text.replace("19,600.00", "")
