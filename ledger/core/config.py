"""Configuration read from the environment, with defaults that work from a fresh clone."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DATABASE_URL_ENV = "VOUCHER_LEDGER_DATABASE_URL"
VAR_DIR_ENV = "VOUCHER_LEDGER_VAR_DIR"


def var_dir() -> Path:
    """The directory for local state (SQLite file, generated keys); `./var` by default."""
    return Path(os.environ.get(VAR_DIR_ENV, "var")).resolve()


def database_url() -> str:
    """The database URL: `VOUCHER_LEDGER_DATABASE_URL`, else a SQLite file under `./var/`.

    Nothing is created here: `db upgrade` makes the directory and says so.
    """
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        return url
    return f"sqlite:///{var_dir() / 'voucher-ledger.db'}"


SECRET_KEY_ENV = "VOUCHER_LEDGER_SECRET_KEY"
TOKEN_MINUTES_ENV = "VOUCHER_LEDGER_TOKEN_MINUTES"
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_TOKEN_MINUTES = 30


def secret_key() -> str:
    """The token signing key: `VOUCHER_LEDGER_SECRET_KEY`, else one generated once under var/.

    The generated key is written with mode 0600 and reused by every later start, so tokens
    survive a restart; it is never a constant in the repository.
    """
    configured = os.environ.get(SECRET_KEY_ENV)
    if configured:
        if len(configured) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"{SECRET_KEY_ENV} must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        return configured
    directory = var_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def token_minutes() -> int:
    """How long a sign-in token lives: `VOUCHER_LEDGER_TOKEN_MINUTES`, 30 by default (1–720)."""
    raw = os.environ.get(TOKEN_MINUTES_ENV, str(DEFAULT_TOKEN_MINUTES))
    minutes = int(raw)
    if not 1 <= minutes <= 720:
        raise ValueError(f"{TOKEN_MINUTES_ENV} must be between 1 and 720")
    return minutes
