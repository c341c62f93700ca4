"""A served SQLite file's WAL is copied into the database by a thread, not by a commit.

A commit that takes the log past SQLite's 1,000-page mark would otherwise copy and sync every
page before returning, on the server's event loop. PostgreSQL (and an in-memory SQLite
database) are left as they are.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import text

from ledger.core.checkpoints import checkpoint_in_background
from ledger.core.db import make_engine

# ≈ 1,500 pages of 4 KiB: past the 1,000 pages at which a commit would checkpoint.
ROWS, ROW_BYTES = 1500, 4000


def _write_past_the_mark(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE filler (b BLOB)"))
        connection.execute(text("INSERT INTO filler SELECT randomblob(:n) FROM "
                                "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                "FROM c WHERE i < :rows) SELECT i FROM c)"),
                           {"n": ROW_BYTES, "rows": ROWS})


def _sizes(engine) -> tuple[int, int]:
    """The database file's size and its WAL's, in bytes."""
    path = engine.url.database
    return os.path.getsize(path), os.path.getsize(path + "-wal")


def test_a_commit_past_the_mark_leaves_the_copy_to_the_thread(db_url):
    engine = make_engine(db_url)
    checkpoints = checkpoint_in_background(engine, every_s=3600)
    try:
        if engine.dialect.name != "sqlite":
            assert checkpoints is None  # PostgreSQL: nothing to do
            return
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
        database_before, _ = _sizes(engine)
        _write_past_the_mark(engine)
        database, wal = _sizes(engine)
        # The commit returned with its pages in the log only (the thread's next round is an
        # hour away); SQLite's default would have copied them into the database by now.
        assert database == database_before
        assert wal > ROWS * ROW_BYTES
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        engine.dispose()


def test_the_thread_copies_the_log_into_the_database(db_url):
    engine = make_engine(db_url)
    checkpoints = checkpoint_in_background(engine, every_s=0.02)
    try:
        if checkpoints is None:
            assert engine.dialect.name != "sqlite"
            return
        _write_past_the_mark(engine)
        deadline = time.monotonic() + 10
        while _sizes(engine)[0] < ROWS * ROW_BYTES and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _sizes(engine)[0] >= ROWS * ROW_BYTES
        assert checkpoints.thread.is_alive()
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        engine.dispose()
    assert not checkpoints or not checkpoints.thread.is_alive()


def test_an_in_memory_database_is_left_as_it_is():
    engine = make_engine("sqlite://")
    assert checkpoint_in_background(engine) is None
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000
