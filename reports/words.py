"""The words reports print, read from gettext catalogues (reports/locale).

Message ids are English; the reports print Chinese (the default) and the console reads the
same catalogues, so a code has one set of words wherever a person reads it. A missing message
prints its id; tests/reports/test_words.py fails while any id lacks a translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
DOMAIN = "reports"
# The functions whose first argument is a message id of the catalogues (what an extract
# scans reports/*.py for; tests/reports/test_words.py does).
KEYWORDS = ("N_", "tr")

# The language a report is being written in; a render call sets it for its whole extent,
# so every word of the page, its frame and its lazily read table rows share one language.
_language: ContextVar[str] = ContextVar("reports_language", default=DEFAULT_LANGUAGE)


def po_path(language: str) -> Path:
    """The reports' catalogue file of `language`."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def messages(language: str) -> dict[str, str]:
    """The translated messages of `language`, read once."""
    with po_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string
            and not m.fuzzy}


def current_language() -> str:
    """The language the report being written speaks (Chinese unless asked otherwise)."""
    return _language.get()


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Write the reports of this block in `language` (None: keep the current one)."""
    if language is None:
        yield
        return
    if language not in LANGUAGES:
        raise ValueError(f"no report catalogue for {language!r}; languages: {LANGUAGES}")
    token = _language.set(language)
    try:
        yield
    finally:
        _language.reset(token)


def word(msgid: str, language: str | None = None) -> str:
    """The translation of `msgid` in `language` (default: the current one; the id itself
    when missing)."""
    return messages(language or current_language()).get(msgid, msgid)


def N_(msgid: str) -> str:
    """Mark `msgid` as a message of the reports' catalogues, translated where it is used."""
    return msgid


def tr(msgid: str, /, **figures: object) -> str:
    """`msgid` in the current language, its {placeholders} filled with `figures`."""
    text = word(msgid)
    return text.format(**figures) if figures else text
