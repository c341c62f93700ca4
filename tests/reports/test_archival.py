"""Every report kind is archival: its fonts are embedded, no text leaves the page's frame,
long cell text wraps, and it ends with a signature block naming its maker."""

from __future__ import annotations

import datetime as dt
import io

import pdfplumber
import pytest
from programme_year import APPROVER, CODE, build_year
from pypdf import PdfReader
from reportlab.lib.units import mm

from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.vouchers.clawbacks import clawback
from reports.catalogue import KINDS, PARTY_KINDS, render_report
from reports.document import BOTTOM_MARGIN, PAGE_HEIGHT, PAGE_WIDTH, SIDE_MARGIN
from reports.fonts import FONT_ENV, report_font
from reports.provenance import Period

LONG_REASON = ("经复核，服务机构提交的检验检测报告与合同约定的检测项目不一致，"
               "且发票开具日期早于服务完成日期，依据政策文件第十二条予以追回；" * 2)
MAKER = "审计员 李四（auditor-li）"
# Header and footer sit inside the margins; a little slack for glyph boxes.
SLACK = 1.0


@pytest.fixture
def year_with_a_long_reason(sessions):
    built = build_year(sessions)
    with transaction(sessions) as s:
        clawback(s, built.completed, by=APPROVER, reason=LONG_REASON)
    return built


def render(sessions, policy_set, kind: str) -> bytes:
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        render_report(s, pdf, kind, programme=CODE,
                      period=Period(dt.date(2025, 1, 1), today()), policy_set=policy_set,
                      made_by=MAKER, font=report_font(), party_id=1 if kind in PARTY_KINDS
                      else None)
    return pdf.getvalue()


def fonts_of(pdf: bytes) -> dict[str, bool]:
    """Each font any page uses, by base name, and whether a font file is embedded."""
    found: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = {} if descriptor is None else descriptor.get_object()
            found[str(font["/BaseFont"])] = any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_embeds_its_fonts_and_keeps_text_in_the_frame(
    sessions, year_with_a_long_reason, policy_set, monkeypatch, kind
):
    monkeypatch.delenv(FONT_ENV, raising=False)
    pdf = render(sessions, policy_set, kind)
    fonts = fonts_of(pdf)
    assert fonts and all(fonts.values()), fonts
    assert not any("Helvetica" in name or "STSong" in name for name in fonts)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert doc.pages
        for number, page in enumerate(doc.pages, 1):
            assert (page.width, page.height) == pytest.approx((PAGE_WIDTH, PAGE_HEIGHT))
            outside = [
                c["text"] for c in page.chars
                if c["x0"] < SIDE_MARGIN - SLACK or c["x1"] > PAGE_WIDTH - SIDE_MARGIN + SLACK
                or c["top"] < 0 or c["bottom"] > PAGE_HEIGHT - BOTTOM_MARGIN / 2
            ]
            assert not outside, f"{kind} page {number}: {''.join(outside)[:80]}"
        last = doc.pages[-1].extract_text()
    for role in ("编制人", "复核人", "审计人"):
        assert role in last, role
    assert "审计员 李四（auditor-li）" in last.replace("\n", "")


def test_a_long_clawback_reason_wraps_within_its_cell(
    sessions, year_with_a_long_reason, policy_set, monkeypatch
):
    monkeypatch.delenv(FONT_ENV, raising=False)
    pdf = render(sessions, policy_set, "exceptions")
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        # The 原因 column of the clawbacks: right of time, object, firm, provider and amount
        # (28 + 18 + 34 + 34 + 22 mm).
        left = SIDE_MARGIN + 136 * mm
        column = "\n".join(
            page.crop((left, 0, PAGE_WIDTH - SIDE_MARGIN, page.height)).extract_text()
            for page in doc.pages)
    # The whole reason is printed inside its column, over several lines, not cut off.
    assert LONG_REASON in column.replace("\n", "").replace(" ", "")
    reason_lines = [line for line in column.splitlines() if line and line in LONG_REASON]
    assert len(reason_lines) >= 4


def test_without_an_installed_font_reports_fall_back_with_one_warning(
    sessions, year_with_a_long_reason, policy_set, monkeypatch, tmp_path, caplog
):
    from reports import fonts

    monkeypatch.delenv(FONT_ENV, raising=False)
    fonts._warn_once.cache_clear()
    with caplog.at_level("WARNING", logger="voucher_ledger.reports"):
        first = report_font(installed=[(tmp_path / "none.ttc", 0)])
        report_font(installed=[(tmp_path / "none.ttc", 0)])
    assert (first.name, first.embedded) == ("STSong-Light", False)
    assert [r.getMessage() for r in caplog.records] == [fonts.FALLBACK_WARNING]
    assert "\n" not in fonts.FALLBACK_WARNING


def test_the_trial_balance_names_each_account(sessions, year_with_a_long_reason, policy_set,
                                              read_pdf):
    text = "\n".join(read_pdf(render(sessions, policy_set, "trial-balance")))
    # The programme's own accounts by the glossary's words, a voucher by its firm, a
    # provider's account by the provider, a clawback's receivable by the provider too.
    for row in ("funding\n资金来源\n", "budget\n可用预算\n",
                "voucher:V000001\n沈阳新松智联机器人科技有限公司\n",
                "provider:1\n辽宁省检验检测认证中心\n", "paid\n已支付\n"):
        assert row in text, row
    assert text.index("provider:1\n") < text.index("provider:2\n") < text.index("paid\n")
