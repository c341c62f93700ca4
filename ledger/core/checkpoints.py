"""SQLite's write-ahead log copied into the database by a thread of its own, not by a commit.

By default the commit that takes the WAL past 1,000 pages copies every page into the database
file and syncs it, before its caller goes on. The server runs small writes on its event loop
(api.mutations), so that one commit stalled every request in flight. A served SQLite database
turns the automatic checkpoint off on its connections and checkpoints from a daemon thread
instead: PASSIVE, so it never waits for (or holds up) a reader or a writer, and the sqlite3
module lets go of the GIL while it copies. Other processes on the same file (the CLI) keep
SQLite's default. docs/performance.md has the figures.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import Engine, event

from ledger.core.db import is_sqlite, pools_connections

# Often enough that the log stays a few MiB at the server's write rate (a checkpoint with
# nothing to copy costs microseconds).
EVERY_S = 0.25
_log = logging.getLogger(__name__)


class Checkpoints:
    """The daemon thread that checkpoints one SQLite file every `every_s` seconds."""

    def __init__(self, connection: sqlite3.Connection, every_s: float) -> None:
        self._connection, self._every_s = connection, every_s
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """End the thread (its last round finishes first) and close its connection."""
        self._stopped.set()
        self.thread.join()
        self._connection.close()

    def _run(self) -> None:
        # An error is logged and the next round tries again: if this thread stopped, the log
        # would grow without bound.
        while not self._stopped.wait(self._every_s):
            try:
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                _log.exception("WAL checkpoint failed; trying again in %.2f s", self._every_s)


def checkpoint_in_background(engine: Engine, every_s: float = EVERY_S) -> Checkpoints | None:
    """From now on `engine`'s connections leave checkpoints to a daemon thread, which runs one
    every `every_s`; None (nothing changed) unless `engine` is an SQLite file."""
    if not is_sqlite(engine) or not pools_connections(str(engine.url)):
        return None
    event.listen(engine, "connect", _no_checkpoint_at_commit)
    # Connections opened before now would still checkpoint at commit.
    engine.dispose()
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    return Checkpoints(sqlite3.connect(*args, **{**kwargs, "check_same_thread": False,
                                                 "isolation_level": None}), every_s)


def _no_checkpoint_at_commit(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0").close()
