"""Run the Alembic migrations (the only way the schema changes) from code and the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command
from ledger.core.config import database_url

# The migrations live at the top of the repository, beside the packages.
ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at our scripts and the given (or configured) URL."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest)."""
    command.upgrade(alembic_config(url), revision)
