"""Find every message id of the console (templates and `N_` marks) and update the catalogues.

`python -m api.console.extract` adds new ids to each messages.po (untranslated) and drops ids
no longer used; the tests fail while any id lacks a translation in either language.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from api.console.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).parent
METHODS = [("pages/**.py", "python"), ("*.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}


def message_ids() -> set[str]:
    """Every message id used by the console."""
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, METHODS, OPTIONS, KEYWORDS, callback=None, strip_comment_tags=True
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.add(msgid)
    return found


def po_path(language: str) -> Path:
    """The catalogue file of `language`."""
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def update() -> None:
    """Bring each catalogue in line with the ids in use, keeping existing translations."""
    wanted = sorted(message_ids())
    for language in LANGUAGES:
        path = po_path(language)
        old: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as handle:
                old = {m.id: m.string for m in read_po(handle) if isinstance(m.id, str)}
        catalog = Catalog(locale=language, project="voucher-ledger console",
                          charset="utf-8", fuzzy=False)
        for msgid in wanted:
            catalog.add(msgid, old.get(msgid, ""))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, sort_output=True)


if __name__ == "__main__":
    update()
