"""The CJK font every report is set in: an embedded TrueType file, found on the machine.

An auditor's copy carries its own glyphs, Latin and Chinese alike, so it reads the same in any
viewer. The font is, in order: the file named by VOUCHER_LEDGER_PDF_FONT, else the first of
INSTALLED_FONTS present (Debian's fonts-wqy-zenhei, fonts-arphic-uming). Only when none exists
do reports fall back to STSong-Light, a CID font the viewer must supply (not embedded), with a
one-line warning.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_ENV = "VOUCHER_LEDGER_PDF_FONT"
FONT_INDEX_ENV = "VOUCHER_LEDGER_PDF_FONT_INDEX"
BUILTIN_FONT = "STSong-Light"
EMBEDDED_FONT = "VoucherLedgerCJK"
# TrueType-outline CJK fonts reportlab can embed (Noto CJK is CFF and cannot), with the face
# of the collection to use; the Debian packages that install them are named in the README.
INSTALLED_FONTS: tuple[tuple[Path, int], ...] = (
    (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"), 0),
    (Path("/usr/share/fonts/truetype/arphic/uming.ttc"), 0),
    (Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"), 0),
)
FALLBACK_WARNING = (
    "warning: no embeddable CJK TrueType font found (install fonts-wqy-zenhei or set "
    f"{FONT_ENV}); PDF reports use the non-embedded {BUILTIN_FONT}"
)
# Characters every report prints; a font without them would show empty boxes.
_PROBE = "试算平衡表完整性证明第页共"
_log = logging.getLogger("voucher_ledger.reports")


class FontError(Exception):
    """A configured font that cannot be used: one line naming the file and why."""


@dataclass(frozen=True)
class ReportFont:
    """The registered font's name, and the file embedded (None for the built-in CID font)."""

    name: str
    path: Path | None
    embedded: bool


def report_font(
    path: str | None = None,
    subfont_index: int | None = None,
    *,
    installed: Sequence[tuple[Path, int]] = INSTALLED_FONTS,
) -> ReportFont:
    """Register and return the report font: `path`, else $VOUCHER_LEDGER_PDF_FONT, else the
    first installed CJK TrueType font, else STSong-Light with a warning. `path=""` asks for
    STSong-Light outright (no warning)."""
    if path == "":
        return builtin_font()
    chosen = path if path is not None else os.environ.get(FONT_ENV, "").strip()
    if chosen:
        index = subfont_index if subfont_index is not None else _index_from_env()
        return _embed(Path(chosen), index)
    for candidate, index in installed:
        if candidate.is_file():
            return _embed(candidate, index)
    _warn_once()
    return builtin_font()


def builtin_font() -> ReportFont:
    """STSong-Light, the Adobe CID font viewers supply: nothing embedded."""
    if BUILTIN_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(BUILTIN_FONT))
    return ReportFont(BUILTIN_FONT, None, embedded=False)


@functools.cache
def _warn_once() -> None:
    """One line on stderr (through logging), once per process, not once per report."""
    _log.warning(FALLBACK_WARNING)


def _index_from_env() -> int:
    raw = os.environ.get(FONT_INDEX_ENV, "0").strip() or "0"
    if not raw.isdecimal():
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
