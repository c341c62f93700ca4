"""The words reports print for the ledger's codes, read from gettext catalogues (reports/locale).

Message ids are English; the reports print Chinese (the default) and the console reads the
same catalogues, so a code has one set of words wherever a person reads it. A missing message
prints its id; tests/reports/test_words.py fails while any id lacks a translation.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
DOMAIN = "reports"


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


def word(msgid: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The translation of `msgid` in `language` (the id itself when missing)."""
    return messages(language).get(msgid, msgid)
