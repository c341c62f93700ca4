"""`without_waiting`: a call whose SQLite writes refuse to wait for the write lock.

The API runs small writes on its event loop this way and, on `WriterBusy`, runs the same call
again in a thread where it may wait; so a busy attempt must have written nothing, and once one
of its transactions has committed the rest of the call waits as usual (a second run would write
twice). On PostgreSQL it changes nothing.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from ledger.core.db import WriterBusy, _write_lock, transaction, without_waiting
from ledger.core.journal import post_entry
from tests.core.scenario import entry_count, fund_voucher, open_chart, redeem


def _post(sessions, amount: int) -> int:
    with transaction(sessions) as s:
        return post_entry(s, redeem(amount)).id


def _sqlite_path(engine) -> str:
    return engine.url.database


def _hold_write_lock_briefly(engine, released: threading.Event) -> None:
    """SQLite: another connection takes the write lock now and gives it back in 0.3 s."""
    if engine.dialect.name != "sqlite":
        return
    other = sqlite3.connect(_sqlite_path(engine), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    def later() -> None:
        time.sleep(0.3)
        other.execute("ROLLBACK")
        other.close()
        released.set()

    threading.Thread(target=later).start()


def test_a_write_lock_held_by_another_connection_is_writer_busy_at_once(chart, engine):
    before = entry_count(chart)
    if engine.dialect.name != "sqlite":
        # PostgreSQL: nothing to refuse; the call runs as it would.
        without_waiting(lambda: _post(chart, 10))
        assert entry_count(chart) == before + 1
        return
    other = sqlite3.connect(_sqlite_path(engine), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        with pytest.raises(WriterBusy):
            without_waiting(lambda: _post(chart, 10))
        # Refused at once, not after the 30 s busy timeout.
        assert time.perf_counter() - started < 5
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert entry_count(chart) == before
    # The connection that was refused waits again as usual outside the call.
    with engine.connect() as c:
        assert c.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    _post(chart, 10)
    assert entry_count(chart) == before + 1


def test_a_write_lock_held_by_another_thread_is_writer_busy(chart, engine):
    lock = _write_lock(chart)
    before = entry_count(chart)
    if lock is None:  # PostgreSQL takes no process lock
        assert engine.dialect.name == "postgresql"
        without_waiting(lambda: _post(chart, 10))
        assert entry_count(chart) == before + 1
        return
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(10)
    try:
        with pytest.raises(WriterBusy):
            without_waiting(lambda: _post(chart, 10))
    finally:
        release.set()
        holder.join()
    assert entry_count(chart) == before
    # The lock was not left taken by the refused call.
    assert lock.acquire(blocking=False)
    lock.release()


@pytest.mark.parametrize("first_commit", ["posting", "engine"])
def test_after_a_commit_the_rest_of_the_call_waits_instead(chart, engine, first_commit):
    """A second transaction after something committed must not raise WriterBusy: running the
    call again would repeat what was committed (a posting through `transaction`, or any plain
    engine transaction)."""
    before = entry_count(chart)
    holder_done = threading.Event()

    def commit_first() -> None:
        if first_commit == "posting":
            _post(chart, 10)
        else:
            with engine.begin() as connection:
                connection.execute(text("SELECT 1"))

    def call() -> None:
        commit_first()
        _hold_write_lock_briefly(engine, holder_done)  # after the first commit
        _post(chart, 20)

    without_waiting(call)
    assert entry_count(chart) == before + (2 if first_commit == "posting" else 1)
    if engine.dialect.name == "sqlite":
        assert holder_done.is_set()  # the second posting waited for the other writer


def test_a_refused_write_leaves_the_call_able_to_run_again(chart, engine):
    """A domain refusal rolls back: the attempt is still open, so a busy lock met by the
    refusal's own log (a later transaction) may still send the whole call elsewhere."""
    from ledger.core.errors import InsufficientBalance

    def refused() -> None:
        _post(chart, 10**9)

    with pytest.raises(InsufficientBalance):
        without_waiting(refused)
    before = entry_count(chart)
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(_sqlite_path(engine), isolation_level=None)

        def refused_then_log() -> None:
            try:
                _post(chart, 10**9)
            except InsufficientBalance:
                other.execute("BEGIN IMMEDIATE")  # someone writes before the log
                _post(chart, 5)

        try:
            with pytest.raises(WriterBusy):
                without_waiting(refused_then_log)
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert entry_count(chart) == before


def test_every_connection_in_use_is_writer_busy_not_a_wait(db_url):
    from ledger.core.db import make_engine, make_sessionmaker

    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as s:
            open_chart(s)
            fund_voucher(s, 1_000)
        before = entry_count(sessions)
        held = engine.connect()  # the pool's one connection
        try:
            if engine.dialect.name == "sqlite":
                started = time.perf_counter()
                with pytest.raises(WriterBusy):
                    without_waiting(lambda: _post(sessions, 10))
                assert time.perf_counter() - started < 5  # not the pool's 30 s timeout
        finally:
            held.close()
        without_waiting(lambda: _post(sessions, 10))
        assert entry_count(sessions) == before + 1
    finally:
        engine.dispose()
