"""The report font: an installed CJK TrueType font embedded by default, the file named by
VOUCHER_LEDGER_PDF_FONT when configured, STSong-Light only when no font is found.

The embedding tests need wqy-zenhei (Debian's fonts-wqy-zenhei), which CI installs.
"""

import io
from datetime import date
from pathlib import Path

import pytest
import reportlab
from pypdf import PdfReader

from ledger.core.db import transaction
from reports.fonts import BUILTIN_FONT, FONT_ENV, FONT_INDEX_ENV, FontError, report_font
from reports.trial_balance import render_trial_balance

WQY_ZENHEI = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"


def font_files(pdf: bytes) -> dict[str, str]:
    """Each font the PDF uses, by base name, with the kind of embedded file (or 'none')."""
    found: dict[str, str] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            kind = next((k for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor),
                        "none")
            found[str(font["/BaseFont"])] = kind
    return found


def test_the_default_is_the_installed_wqy_zenhei_embedded(monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)
    font = report_font()
    assert (font.path, font.embedded) == (WQY_ZENHEI, True)


def test_the_next_installed_font_serves_when_the_first_is_missing(monkeypatch, tmp_path):
    monkeypatch.delenv(FONT_ENV, raising=False)
    font = report_font(installed=[(tmp_path / "uming.ttc", 0), (WQY_ZENHEI, 0)])
    assert (font.path, font.embedded) == (WQY_ZENHEI, True)


def test_an_empty_path_asks_for_the_builtin_cid_font():
    font = report_font("")
    assert (font.name, font.path, font.embedded) == (BUILTIN_FONT, None, False)


def test_a_missing_file_is_one_clear_line(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-font.ttf"
    monkeypatch.setenv(FONT_ENV, str(missing))
    with pytest.raises(FontError) as caught:
        report_font()
    message = str(caught.value)
    assert message == f"PDF font {missing}: no such file ({FONT_ENV})"
    assert "\n" not in message


def test_a_cff_font_is_refused_naming_the_file_and_why(tmp_path):
    # An OpenType file with PostScript outlines starts with the tag OTTO, as Noto CJK does.
    cff = tmp_path / "NotoSansCJK-Regular.otf"
    cff.write_bytes(b"OTTO" + bytes(200))
    with pytest.raises(FontError) as caught:
        report_font(str(cff))
    message = str(caught.value)
    assert message.startswith(f"PDF font {cff}: cannot embed: PostScript/CFF outlines")
    assert "wqy-zenhei" in message and "\n" not in message


def test_a_font_without_chinese_is_refused():
    with pytest.raises(FontError, match=r"has no Chinese glyphs \(no 试算平\)"):
        report_font(str(VERA))


def test_a_file_that_is_no_font_is_refused(tmp_path):
    junk = tmp_path / "notes.ttf"
    junk.write_text("not a font")
    with pytest.raises(FontError, match=rf"^PDF font {junk}: cannot embed: "):
        report_font(str(junk))


def test_a_bad_collection_index_is_refused(monkeypatch):
    monkeypatch.setenv(FONT_ENV, str(WQY_ZENHEI))
    monkeypatch.setenv(FONT_INDEX_ENV, "first")
    with pytest.raises(FontError, match=f"{FONT_INDEX_ENV}='first'"):
        report_font()
    with pytest.raises(FontError, match="bad subfontIndex 9"):
        report_font(str(WQY_ZENHEI), subfont_index=9)


def test_the_builtin_font_is_named_not_embedded(sessions, year, policy_set, read_pdf):
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        render_trial_balance(
            s, pdf, ledger=year.ledger, as_of=date(2025, 12, 31), policy_set=policy_set,
            made_by="auditor", font=report_font(""),
        )
    assert font_files(pdf.getvalue())["/STSong-Light"] == "none"
    assert "试算平衡表" in read_pdf(pdf.getvalue())[0]


def test_wqy_zenhei_is_embedded_and_its_text_extracts(
    sessions, year, policy_set, monkeypatch, read_pdf
):
    monkeypatch.setenv(FONT_ENV, str(WQY_ZENHEI))
    font = report_font()
    assert font.embedded and font.path == WQY_ZENHEI
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        render_trial_balance(
            s, pdf, ledger=year.ledger, as_of=date(2025, 12, 31), policy_set=policy_set,
            made_by="审计员", font=font,
        )
    files = font_files(pdf.getvalue())
    embedded = [name for name, kind in files.items() if "WenQuanYiZenHei" in name]
    assert embedded and all(files[name] == "/FontFile2" for name in embedded)
    text = read_pdf(pdf.getvalue())[0]
    assert "试算平衡表（LN-CXQ-2025）" in text
    assert "合计\n1,444,568.89\n1,444,568.89\n1,234,567.89\n1,234,567.89" in text
    assert "第 1 页 / 共 2 页" in text  # the signature block closes on page 2
