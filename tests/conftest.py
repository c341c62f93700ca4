"""Test databases: every test gets a freshly migrated database on SQLite or PostgreSQL.

Set VOUCHER_LEDGER_TEST_DATABASE_URL to a PostgreSQL URL to run the suite there (CI does);
otherwise each test gets a copy of a migrated SQLite template file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from ledger.core.db import make_engine, make_sessionmaker
from ledger.core.migrations import upgrade
from ledger.schema import metadata

TEST_URL_ENV = "VOUCHER_LEDGER_TEST_DATABASE_URL"


class TestDatabases:
    """Hands out clean, migrated databases quickly (file copy on SQLite, truncate on PG)."""

    __test__ = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.url = os.environ.get(TEST_URL_ENV, "")
        self.engine_name = "postgresql" if self.url.startswith("postgresql") else "sqlite"
        if self.engine_name == "sqlite":
            self.template = workdir / "template.db"
            upgrade(f"sqlite:///{self.template}")
        else:
            self._reset_postgres_schema()
            upgrade(self.url)
            self._engine = make_engine(self.url)
            self._seed = self._read_seed_rows()

    def _reset_postgres_schema(self) -> None:
        engine = make_engine(self.url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()

    def _read_seed_rows(self) -> dict[str, list[dict[str, object]]]:
        tables = [t for t in metadata.sorted_tables]
        with self._engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables}

    def fresh_url(self) -> str:
        """The URL of a database holding exactly what the migrations leave behind."""
        if self.engine_name == "sqlite":
            path = self.workdir / f"test-{uuid.uuid4().hex}.db"
            shutil.copyfile(self.template, path)
            return f"sqlite:///{path}"
        existing = set(inspect(self._engine).get_table_names())
        tables = [t for t in metadata.sorted_tables if t.name in existing]
        with self._engine.begin() as conn:
            # Bypass the append-only triggers: only the test harness may wipe the journal.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            for table in tables:
                if self._seed.get(table.name):
                    conn.execute(insert(table), self._seed[table.name])
        return self.url


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    """The suite's source of clean databases."""
    dbs = TestDatabases(tmp_path_factory.mktemp("db"))
    yield dbs
    if dbs.engine_name == "postgresql":
        dbs._engine.dispose()


@pytest.fixture
def db_url(databases: TestDatabases) -> str:
    """A clean migrated database for this test."""
    return databases.fresh_url()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on this test's clean database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on this test's clean database."""
    return make_sessionmaker(engine)
