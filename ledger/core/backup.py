"""Backup and restore of the whole database, each checked by `verify` at the end.

SQLite: the online backup API (`sqlite3.Connection.backup`), a consistent copy while the
service writes. PostgreSQL: `pg_dump --format=custom` and `pg_restore`, found on the PATH, under
`VOUCHER_LEDGER_PG_BIN`, or in Debian's /usr/lib/postgresql/<version>/bin. A restore goes
only into an empty database: it never merges into or overwrites a ledger.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from ledger.core.db import is_sqlite, make_engine, make_sessionmaker, transaction
from ledger.core.errors import Conflict, InvalidInput, NotFound
from ledger.core.verify import VerifyReport, verify

PG_BIN_ENV = "VOUCHER_LEDGER_PG_BIN"
DEBIAN_PG = Path("/usr/lib/postgresql")


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore wrote and what `verify` found on the database it checked."""

    path: Path
    report: VerifyReport


def backup(url: str, destination: Path) -> Outcome:
    """Copy the database at `url` to `destination` (a new file), then verify."""
    if destination.exists():
        raise Conflict(f"{destination} exists already: choose a new file", field="file")
    if is_sqlite(url):
        with closing(_sqlite(url)) as source, closing(sqlite3.connect(destination)) as target:
            source.backup(target)
        # The copy is what a restore will give back: verify the copy itself.
        return Outcome(destination, verify_url(f"sqlite:///{destination.resolve()}"))
    pg = make_url(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
          f"--file={destination}", *_pg_connection(pg)], pg)
    return Outcome(destination, verify_url(url))


def restore(source: Path, url: str) -> Outcome:
    """Restore a backup made by `backup` into the empty database at `url`, then verify."""
    if not source.is_file():
        raise NotFound(f"no backup file {source}", field="file")
    if is_sqlite(url):
        path = Path(make_url(url).database or "")
        if path.exists() and path.stat().st_size > 0 and _has_tables(url):
            raise Conflict(f"the database at {path} is not empty: restore into a new file",
                           field="url")
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as backup_file:
            _check_sqlite_backup(backup_file, source)
            with closing(_sqlite(url)) as target:
                backup_file.backup(target)
        return Outcome(path, verify_url(url))
    if _has_tables(url):
        raise Conflict("the PostgreSQL database is not empty: restore into a new database",
                       field="url")
    pg = make_url(url)
    _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", *_pg_connection(pg, flag="--dbname"), str(source)], pg)
    return Outcome(source, verify_url(url))


def verify_url(url: str) -> VerifyReport:
    """Run `verify` on the database at `url`."""
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine, read_only=True)) as session:
            return verify(session)
    finally:
        engine.dispose()


def _sqlite(url: str) -> sqlite3.Connection:
    name = make_url(url).database
    if not name or name == ":memory:":
        raise InvalidInput("an in-memory SQLite database has nothing to back up", field="url")
    return sqlite3.connect(name)


def _check_sqlite_backup(connection: sqlite3.Connection, source: Path) -> None:
    try:
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{source} is not a SQLite backup: {exc}", field="file") from exc
    if not tables:
        raise InvalidInput(f"{source} holds no tables: not a backup", field="file")


def _has_tables(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _pg_tool(name: str) -> str:
    """The PostgreSQL client program `name`, newest version first on Debian."""
    configured = os.environ.get(PG_BIN_ENV)
    if configured:
        return str(Path(configured) / name)
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(DEBIAN_PG.glob("*/bin"), key=lambda p: _version_key(p.parent.name))
    for directory in reversed(versions):
        if (directory / name).is_file():
            return str(directory / name)
    raise NotFound(f"{name} is not installed (install postgresql-client or set {PG_BIN_ENV})",
                   field=name)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdecimal())


def _pg_connection(url: URL, flag: str = "--dbname") -> list[str]:
    """Connection arguments; the password goes through the environment, never argv."""
    args = [f"{flag}={url.database}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    return args


def _run(command: list[str], url: URL) -> None:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise Conflict(f"{Path(command[0]).name} failed: {reason}", field="file")
