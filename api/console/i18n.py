"""Message catalogues (gettext .po, compiled in memory at start) and the page language.

Simplified Chinese is the default; English is chosen by the `lang` cookie or Accept-Language.
Message ids are English. The reports' catalogues (reports/locale: the words for flows, account
kinds, categories, certifications, refusals) are read under the console's, so the console and
the PDFs name a code alike. With `strict` on (the tests), a message missing from the page's
catalogue raises `MissingMessage` instead of falling back to the id.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.pofile import read_po
from starlette.requests import Request

from reports.words import messages as report_words

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
LANG_COOKIE = "lang"
# Languages Babel should read as one of ours: any Chinese is the Simplified catalogue.
ALIASES = {"zh": "zh_CN"}
# What <html lang> says for each catalogue.
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


class MissingMessage(LookupError):
    """A message id has no translation in the page's catalogue (strict mode only)."""


def N_(msgid: str) -> str:
    """Mark `msgid` for extraction; it is translated where it is shown."""
    return msgid


@dataclass(frozen=True)
class Catalogue:
    """One language's messages; `strict` makes a missing message an error."""

    language: str
    messages: dict[str, str]
    strict: bool = False

    def gettext(self, msgid: str) -> str:
        """The translation of `msgid` (the id itself when missing, unless strict)."""
        found = self.messages.get(msgid)
        if found is None:
            if self.strict:
                raise MissingMessage(f"{self.language}: no translation for {msgid!r}")
            return msgid
        return found

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Chinese has one form; English two: the catalogue holds each id separately."""
        return self.gettext(singular if n == 1 else plural)


@cache
def _messages(language: str) -> dict[str, str]:
    """The compiled catalogue of `language` (the reports' words under the console's), read once."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    console = {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string
               and not m.fuzzy}
    return {**report_words(language), **console}


def catalogue(language: str, *, strict: bool = False) -> Catalogue:
    """The catalogue of `language` (one of LANGUAGES)."""
    return Catalogue(language, _messages(language), strict)


def choose_language(request: Request) -> str:
    """The `lang` cookie if valid, else the first supported Accept-Language, else Chinese."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return negotiated(request.headers.get("accept-language", "")) or DEFAULT_LANGUAGE


def negotiated(header: str) -> str | None:
    """The first of LANGUAGES an Accept-Language header asks for, or None."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    # Babel matches each tag (zh-TW, en-GB) or its language (zh → zh_CN by ALIASES).
    preferred: list[str] = []
    for _q, _i, tag in sorted(ranked):
        code = tag.replace("-", "_")
        preferred += [code, code.split("_")[0]]
    chosen = negotiate_locale(preferred, LANGUAGES, sep="_", aliases=ALIASES)
    # Babel answers in the case it was asked (zh_cn): name the catalogue as we spell it.
    return next((lang for lang in LANGUAGES if chosen and lang.lower() == chosen.lower()), None)


# The catalogue of the page being rendered (templates call gettext through it).
current: ContextVar[Catalogue] = ContextVar("console_catalogue")


def for_request(request: Request) -> Catalogue:
    """The catalogue for this request's language, strict if the app says so."""
    strict = bool(getattr(request.app.state, "console_strict_i18n", False))
    return catalogue(choose_language(request), strict=strict)


def gettext(msgid: str) -> str:
    """Translate with the current page's catalogue (what templates' `_()` calls)."""
    return current.get().gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware translation with the current page's catalogue."""
    return current.get().ngettext(singular, plural, n)
