"""The CJK font every report is set in: built-in STSong-Light, or an embedded TrueType file.

STSong-Light is one of the Adobe CID fonts every PDF viewer is expected to supply, so it
needs no file but is not embedded. An auditor's copy should carry its own glyphs: name a
TrueType file (or .ttc collection) in VOUCHER_LEDGER_PDF_FONT and it is embedded as a subset.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_ENV = "VOUCHER_LEDGER_PDF_FONT"
FONT_INDEX_ENV = "VOUCHER_LEDGER_PDF_FONT_INDEX"
BUILTIN_FONT = "STSong-Light"
EMBEDDED_FONT = "VoucherLedgerCJK"
# Characters every report prints; a font without them would show empty boxes.
_PROBE = "试算平衡表完整性证明第页共"


class FontError(Exception):
    """A configured font that cannot be used: one line naming the file and why."""


@dataclass(frozen=True)
class ReportFont:
    """The registered font's name, and the file embedded (None for the built-in CID font)."""

    name: str
    path: Path | None
    embedded: bool


def report_font(path: str | None = None, subfont_index: int | None = None) -> ReportFont:
    """Register and return the report font: `path`, else $VOUCHER_LEDGER_PDF_FONT, else STSong."""
    chosen = path if path is not None else os.environ.get(FONT_ENV, "").strip()
    if not chosen:
        if BUILTIN_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(BUILTIN_FONT))
        return ReportFont(BUILTIN_FONT, None, embedded=False)
    index = subfont_index if subfont_index is not None else _index_from_env()
    return _embed(Path(chosen), index)


def _index_from_env() -> int:
    raw = os.environ.get(FONT_INDEX_ENV, "0").strip() or "0"
    if not raw.isdigit():
        raise FontError(f"{FONT_INDEX_ENV}={raw!r}: must be a collection index such as 0")
    return int(raw)


def _embed(path: Path, index: int) -> ReportFont:
    """Load a TrueType file for embedding, refusing what reportlab cannot embed or show."""
    if not path.is_file():
        raise FontError(f"PDF font {path}: no such file ({FONT_ENV})")
    # One registered name per file and index, so two configurations never collide.
    digest = hashlib.sha256(f"{path.resolve()}#{index}".encode()).hexdigest()[:12]
    name = f"{EMBEDDED_FONT}-{digest}"
    if name in pdfmetrics.getRegisteredFontNames():
        return ReportFont(name, path, embedded=True)
    try:
        font = TTFont(name, str(path), subfontIndex=index)
    except TTFError as exc:
        raise FontError(f"PDF font {path}: cannot embed: {_reason(exc)}") from exc
    missing = [ch for ch in _PROBE if ord(ch) not in font.face.charToGlyph]
    if missing:
        raise FontError(
            f"PDF font {path}: has no Chinese glyphs (no {''.join(missing[:3])}); "
            "choose a CJK TrueType font such as wqy-zenhei.ttc"
        )
    pdfmetrics.registerFont(font)
    return ReportFont(name, path, embedded=True)


def _reason(exc: TTFError) -> str:
    """reportlab's reason in plain words, naming the usual way out."""
    text = str(exc)
    if "postscript outlines" in text:
        return (
            "PostScript/CFF outlines (e.g. Noto CJK .otf/.ttc) are not supported; "
            "use a TrueType-outline font such as wqy-zenhei.ttc"
        )
    if "subfont" in text.lower() or "index" in text.lower():
        return f"{text} (set {FONT_INDEX_ENV} to a valid collection index)"
    # reportlab prefixes its messages with the file name, which ours already carries.
    return text.split(": ", 1)[-1] if text.startswith("TTF file") else text
