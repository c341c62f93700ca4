"""Run the Alembic migrations (the only way the schema changes) and check a database is at head.

The scripts live in the top-level `migrations` package and are found through it
(`importlib.resources`), so an installed wheel migrates from any working directory. The head
check reads the version files' `revision`/`down_revision` lines instead of importing Alembic's
script machinery: every CLI command runs it, and Alembic's import costs half a second.
"""

from __future__ import annotations

import re
import sys
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from ledger.core.config import database_url

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS_PACKAGE = "migrations"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"^revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=]*=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def script_location() -> Path:
    """The directory holding `env.py` and `versions/`, wherever the package is installed."""
    return Path(str(files(SCRIPTS_PACKAGE)))


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at our scripts and the given (or configured) URL."""
    from alembic.config import Config

    # Alembic binds its default stdout when first imported (maybe under a test's capture):
    # name the current one.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head_revisions() -> frozenset[str]:
    """The revisions no other revision builds on: what `upgrade head` leads to."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (script_location() / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database is stamped with (empty for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return frozenset()
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        return frozenset(rows)


def schema_problem(engine: Engine) -> str | None:
    """Why the database cannot be used by this code (None when it is at head)."""
    current = current_revisions(engine)
    heads = head_revisions()
    if current == heads:
        return None
    if not current:
        return "the database is empty (no schema)"
    behind = ", ".join(sorted(current))
    return f"the database is at revision {behind}, the code needs {', '.join(sorted(heads))}"
