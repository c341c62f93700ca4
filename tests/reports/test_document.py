"""The shared page frame and the streaming table: header on every page, total never alone."""

import io
from datetime import UTC, datetime

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from reports.document import CONTENT_WIDTH, ReportMeta, build_pdf, data_table, policy_line
from reports.fonts import report_font
from rules.decision import PolicyRef

POLICY = PolicyRef("LN-CXQ", "2024.12", "LN-CXQ-2024.yaml", "ab" * 32)
META = ReportMeta(
    title="测试报表", programme="LN-CXQ-2025", period="2025-01-01 至 2025-12-31",
    policies=(POLICY,), head_hash="cd" * 32, entries=7,
    made_at=datetime(2025, 12, 31, 16, 0, 1, tzinfo=UTC), made_by="tester",
)


def table_pages(n: int, read_pdf, *, note: str = "") -> list[str]:
    font = report_font("")
    rows = ([f"R{i:04d}{note if i % 3 == 0 else ''}", f"{i}.00"] for i in range(n))
    table = data_table(["名称", "金额"], rows, [CONTENT_WIDTH / 2] * 2, font, total=["合计", "T"])
    pdf = io.BytesIO()
    build_pdf(pdf, META, [table], font)
    return read_pdf(pdf.getvalue())


def test_every_row_once_header_on_every_page_total_with_the_last_row(read_pdf):
    # A page holds 47 rows; counts around one and two pages end a table every possible way.
    for n in [0, 1, 2, *range(44, 53), *range(92, 101)]:
        pages = table_pages(n, read_pdf)
        everything = "\n".join(pages)
        for i in range(n):
            assert everything.count(f"R{i:04d}\n") == 1, (n, i)
        for number, page in enumerate(pages, start=1):
            # Every page the table reaches shows its header.
            if number == 1 or "R0" in page or "合计" in page:
                assert "名称\n金额" in page, (n, number)
            assert f"第 {number} 页 / 共 {len(pages)} 页" in page
        with_total = next(page for page in pages if "合计\nT" in page)
        if n:
            assert f"R{n - 1:04d}\n{n - 1}.00\n合计" in with_total, n
        # The signature block is never alone: its page shows the table's last rows.
        assert "编制人" in pages[-1] and "审计人" in pages[-1]
        assert with_total is pages[-1], n


def test_the_signature_block_keeps_what_follows_the_last_table(read_pdf):
    # The statements end with a line after their table: it, the table's last rows and the
    # signature block share the last page, wherever the table ends.
    font = report_font("")
    for n in range(30, 50):
        rows = ([f"R{i:04d}", f"{i}.00"] for i in range(n))
        table = data_table(["名称", "金额"], rows, [CONTENT_WIDTH / 2] * 2, font)
        style = ParagraphStyle("p", fontName=font.name)
        closing_line = Paragraph("对账单位（盖章）：________", style)
        pdf = io.BytesIO()
        build_pdf(pdf, META, [table, Spacer(1, 10 * mm), closing_line], font)
        last = read_pdf(pdf.getvalue())[-1]
        assert "编制人" in last and "对账单位" in last, n
        assert f"R{n - 1:04d}" in last, n


def test_a_story_without_a_table_keeps_its_last_paragraph_with_the_signature(read_pdf):
    font = report_font("")
    style = ParagraphStyle("p", fontName=font.name, fontSize=10, leading=14)
    for n in range(40, 56):
        story = [Paragraph(f"第{i:03d}段", style) for i in range(n)]
        pdf = io.BytesIO()
        build_pdf(pdf, META, story, font)
        last = read_pdf(pdf.getvalue())[-1]
        assert "编制人" in last and f"第{n - 1:03d}段" in last, n


def test_long_cells_wrap_and_every_row_still_prints_once(read_pdf):
    note = "：说明文字很长，" * 12
    pages = table_pages(60, read_pdf, note=note)
    everything = "\n".join(pages).replace("\n", "")
    for i in range(60):
        assert everything.count(f"R{i:04d}") == 1, i
    # A third of the rows take several lines: the table needs more pages than 60 short rows.
    assert len(pages) > len(table_pages(60, read_pdf))


def test_the_frame_states_provenance_in_beijing_time(read_pdf):
    page = table_pages(1, read_pdf)[0]
    assert "测试报表　项目：LN-CXQ-2025" in page
    assert "期间：2025-01-01 至 2025-12-31" in page
    assert f"适用政策：{policy_line(POLICY)}" in page
    assert policy_line(POLICY) == f"LN-CXQ 2024.12（LN-CXQ-2024.yaml）SHA-256 {'ab' * 32}"
    assert f"账簿头哈希：{'cd' * 32}（分录 7 条）" in page
    assert "生成时间：2026-01-01 00:00:01（北京时间）　生成人：tester" in page


def test_a_one_row_table_at_the_foot_of_a_page_goes_over_with_the_signature(read_pdf):
    font = report_font("")
    style = ParagraphStyle("p", fontName=font.name, fontSize=10, leading=14)
    for n in range(36, 50):
        table = data_table(["名称", "金额"], iter([["R0000", "1.00"]]),
                           [CONTENT_WIDTH / 2] * 2, font, total=["合计", "T"])
        story = [*(Paragraph(f"第{i:03d}段", style) for i in range(n)), table]
        pdf = io.BytesIO()
        build_pdf(pdf, META, story, font)
        pages = read_pdf(pdf.getvalue())
        assert "编制人" in pages[-1] and "R0000" in pages[-1], n
        assert "".join(pages).count("R0000") == 1, n


def test_what_follows_the_last_table_may_be_a_container(read_pdf):
    font = report_font("")
    style = ParagraphStyle("p", fontName=font.name, fontSize=10, leading=14)
    table = data_table(["名称", "金额"], iter([["R0000", "1.00"]]), [CONTENT_WIDTH / 2] * 2,
                       font)
    pdf = io.BytesIO()
    build_pdf(pdf, META, [table, KeepTogether([Paragraph("附注", style)])], font)
    last = read_pdf(pdf.getvalue())[-1]
    assert "附注" in last and "编制人" in last and "R0000" in last
