"""The check every database command makes first: the database exists and is at the code's head."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from ledger.core.config import database_url
from ledger.core.db import is_sqlite, make_engine
from ledger.core.migrations import schema_problem

UPGRADE_HINT = "run `voucher-ledger db upgrade`"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not is_sqlite(url):
        return None
    name = make_url(url).database
    return None if not name or name == ":memory:" else Path(name).resolve()


def schema_refusal(url: str | None) -> str | None:
    """One line saying why this database cannot be used yet, or None when it can."""
    target = url or database_url()
    path = sqlite_path(target)
    if path is not None and not path.exists():
        # Never create an empty file here: from another directory that hides the real one.
        return f"no database at {path}: {UPGRADE_HINT} (or set VOUCHER_LEDGER_DATABASE_URL)"
    engine = make_engine(target)
    try:
        problem = schema_problem(engine)
    finally:
        engine.dispose()
    return None if problem is None else f"{problem}: {UPGRADE_HINT}"


def require_current_schema(url: str | None) -> None:
    """Exit 1 with one line unless the database is at the code's head."""
    refusal = schema_refusal(url)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        raise typer.Exit(1)
