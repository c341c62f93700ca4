"""Configuration read from the environment, with defaults that work from a fresh clone."""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_URL_ENV = "VOUCHER_LEDGER_DATABASE_URL"
VAR_DIR_ENV = "VOUCHER_LEDGER_VAR_DIR"


def var_dir() -> Path:
    """The directory for local state (SQLite file, generated keys); `./var` by default."""
    return Path(os.environ.get(VAR_DIR_ENV, "var")).resolve()


def database_url() -> str:
    """The database URL: `VOUCHER_LEDGER_DATABASE_URL`, else a SQLite file under `./var/`."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    directory = var_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'voucher-ledger.db'}"
