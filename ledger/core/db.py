"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with foreign keys on and a busy timeout. Every SQLite transaction
starts with `BEGIN IMMEDIATE` so that a posting holds the write lock from its first read of a
balance to its commit: two writers can never both read the same free balance. Read-only work
can ask for a deferred transaction with `read_only=True`.

Within one process, writing transactions on one SQLite file also queue on a Python lock before
`BEGIN IMMEDIATE`: SQLite's own busy handler retries by sleeping with a growing back-off, so
under many concurrent writers (one server, many threads) a waiter could sleep long after the
lock was free. The lock only orders what SQLite would serialise anyway; other processes still
meet the busy timeout.

`without_waiting` runs a call whose writing transactions refuse to wait for the write lock
(`WriterBusy` instead), until one of them commits: the API runs a small write on its event loop
that way and falls back to a thread when the lock is taken (docs/performance.md).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from ledger.core.config import database_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MAX_OVERFLOW = 64
POOL_RECYCLE_S = 300
_DEFERRED = "voucher_ledger_deferred"
_AFTER_COMMIT = "voucher_ledger_after_commit"
_BEFORE_COMMIT = "voucher_ledger_before_commit"
# One re-entrant lock per SQLite database URL, for the process's writing transactions.
_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def is_sqlite(engine_or_url: Engine | str) -> bool:
    """True when the engine (or URL) is SQLite."""
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return url.startswith("sqlite")


def make_engine(url: str | None = None, **kwargs: object) -> Engine:
    """Create an engine for `url` (default: the configured database) with our pragmas."""
    url = url or database_url()
    if is_sqlite(url):
        if "poolclass" not in kwargs and _pools_connections(url):
            # Room for every thread of the API's pool at once (anyio's 40): a write on the
            # event loop must find a connection free, never wait for one (`without_waiting`).
            kwargs.setdefault("max_overflow", SQLITE_MAX_OVERFLOW)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    # No ping on every checkout (a round trip per transaction; a posting and its seal take
    # two or three): connections are recycled before a server or proxy idle timeout instead.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_S)
    return create_engine(url, **kwargs)


def _pools_connections(url: str) -> bool:
    """True when SQLAlchemy would give this SQLite URL a queue of connections (a file; an
    in-memory database gets one connection per thread)."""
    parsed = make_url(url)
    return issubclass(parsed.get_dialect().get_pool_class(parsed), QueuePool)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Take transaction control away from the sqlite3 module so that BEGIN is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A 64 MiB page cache keeps the journal's indexes in memory during large batches.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        deferred = connection.get_execution_options().get(_DEFERRED, False)
        if not deferred and _no_wait_attempt() is not None:
            _begin_without_waiting(connection)
            return
        # On the driver's cursor: SQLAlchemy's execution set-up cost a posting ~8 %.
        driver_rows(connection, "BEGIN" if deferred else "BEGIN IMMEDIATE", ())

    @event.listens_for(engine, "commit")
    def _on_commit(_connection):  # type: ignore[no-untyped-def]
        # Whatever commits inside `without_waiting` (a `transaction` or not): from here on the
        # call may not be run again, so the rest of it waits as usual.
        attempt = _NO_WAIT.get()
        if attempt is not None:
            attempt.open = False


class WriterBusy(Exception):
    """Inside `without_waiting`: the SQLite write lock (or every pooled connection) is taken;
    nothing was written."""


class _Attempt:
    """A `without_waiting` call: open until something commits in it."""

    open = True


_T = TypeVar("_T")
_NO_WAIT: ContextVar[_Attempt | None] = ContextVar("voucher_ledger_no_wait", default=None)


def without_waiting(call: Callable[[], _T]) -> _T:
    """Run `call`; each of its SQLite writing transactions raises `WriterBusy` instead of
    waiting for the write lock (this process's or another's), until one has committed, so
    that a busy call can be run again elsewhere from the start (nothing of it was written)."""
    token = _NO_WAIT.set(_Attempt())
    try:
        return call()
    finally:
        _NO_WAIT.reset(token)


def _no_wait_attempt() -> _Attempt | None:
    attempt = _NO_WAIT.get()
    return attempt if attempt is not None and attempt.open else None


def _begin_without_waiting(connection: Connection) -> None:
    """BEGIN IMMEDIATE with no busy wait: WriterBusy if another connection writes (any of
    SQLite's busy codes); other errors as `driver_rows` raises them."""
    driver_rows(connection, "PRAGMA busy_timeout=0", ())
    try:
        driver_rows(connection, "BEGIN IMMEDIATE", ())
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlite_errorcode", None)
        if code is None or code & 0xFF != sqlite3.SQLITE_BUSY:
            raise
        raise WriterBusy(str(exc.orig)) from exc
    finally:
        if not connection.invalidated:
            driver_rows(connection, f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}", ())


def make_sessionmaker(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    """A session factory; `read_only` sessions open deferred transactions on SQLite."""
    bind = engine.execution_options(**{_DEFERRED: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


def _write_lock(factory: sessionmaker[Session]) -> threading.RLock | None:
    """The process's lock for writing to this SQLite file (None for PostgreSQL or reads)."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        return None
    try:
        return _LOCK_OF_BIND[bind]
    except KeyError:
        pass
    writes = is_sqlite(bind) and not bind.get_execution_options().get(_DEFERRED, False)
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.setdefault(str(bind.url), threading.RLock()) if writes else None
        # Looked up once per engine: rendering the URL each transaction cost a posting ~3 %.
        _LOCK_OF_BIND[bind] = lock
    return lock


_LOCK_OF_BIND: weakref.WeakKeyDictionary[Engine, threading.RLock | None] = (
    weakref.WeakKeyDictionary()
)


AfterCommit = Callable[[sessionmaker[Session]], object]


class CommitRider(Protocol):
    """An after-commit hook that can also do its work in the commit's own round trip."""

    def __call__(self, factory: sessionmaker[Session]) -> object: ...

    def ride_commit(self, connection: Connection) -> bool | None:
        """Commit `connection`'s transaction and do the hook's work with it, or do nothing
        and return None (cannot here); False when the hook must still run afterwards."""


def after_commit(session: Session, hook: AfterCommit | CommitRider) -> None:
    """Run `hook(factory)` once after this session's `transaction` commits (not on rollback).

    The journal uses it to seal what a unit of work posted, in a short transaction of its own.
    """
    hooks: list[AfterCommit] = session.info.setdefault(_AFTER_COMMIT, [])
    if hook not in hooks:
        hooks.append(hook)


def before_commit(session: Session, hook: Callable[[Session], object]) -> bool:
    """Run `hook(session)` once inside this session's `transaction`, just before it commits;
    False (nothing registered) when the session is not one `transaction` opened."""
    hooks: list[Callable[[Session], object]] | None = session.info.get(_BEFORE_COMMIT)
    if hooks is None:
        return False
    if hook not in hooks:
        hooks.append(hook)
    return True


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: the before-commit hooks, commit on success, roll back on any error;
    then the after-commit hooks."""
    lock = _write_lock(factory)
    attempt = None if lock is None else _no_wait_attempt()
    if attempt is not None:
        _no_connection_wait(factory)
        if not lock.acquire(blocking=False):  # type: ignore[union-attr]
            raise WriterBusy("another thread of this process is writing")
    with lock or nullcontext(), _released(lock if attempt is not None else None):
        with factory() as session, session.begin():
            before: list[Callable[[Session], object]] = []
            session.info[_BEFORE_COMMIT] = before
            yield session
            # A hook may register another (each runs once, in order).
            for hook in before:
                hook(session)
            session.info.pop(_BEFORE_COMMIT, None)
            done = _ride_commit(session)
        for hook in session.info.pop(_AFTER_COMMIT, ()):
            if hook is not done:
                hook(factory)


def _no_connection_wait(factory: sessionmaker[Session]) -> None:
    """Inside `without_waiting`: WriterBusy rather than wait for a pooled connection when
    every one is checked out (a thread could take the last one meanwhile: the pool is sized
    so that it does not run out, SQLITE_MAX_OVERFLOW)."""
    pool = factory.kw["bind"].pool
    if not isinstance(pool, QueuePool) or pool.checkedin():
        return
    limit = pool._max_overflow  # no public accessor; -1: no limit
    if limit > -1 and pool.overflow() >= limit:
        raise WriterBusy("every database connection is in use")


@contextmanager
def _released(lock: threading.RLock | None) -> Iterator[None]:
    """Release `lock` once on the way out (taken without waiting by `transaction`)."""
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def _ride_commit(session: Session) -> object:
    """Let the first hook that can commit the transaction itself, together with its own work
    (one round trip on PostgreSQL instead of two); that hook, if it needs no second run."""
    for hook in session.info.get(_AFTER_COMMIT, ()):
        ride = getattr(hook, "ride_commit", None)
        if ride is None:
            continue
        # What the session's commit would flush first; the commit itself then finds the
        # connection's transaction already ended and sends nothing.
        session.flush()
        rode = ride(session.connection())
        if rode is not None:
            return hook if rode else None
    return None


def driver_rows(
    connection: Connection,
    sql: str,
    parameters: Sequence[object] | None = None,
    result: int = 0,
) -> list[tuple[Any, ...]]:
    """Run `sql` on the driver's own cursor and return the rows of its `result`-th result set.

    For the hot PostgreSQL statements: SQLAlchemy's result set-up for a text statement costs
    more client CPU than the driver's round trip. Driver errors are raised as SQLAlchemy's
    (a lost connection is invalidated, as SQLAlchemy's own execution does). Without
    parameters psycopg sends a simple query, which may hold several statements.
    """
    dbapi_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        if parameters is None and connection.dialect.name == "postgresql":
            # A simple query (its text differs call by call): psycopg's prepared-statement
            # bookkeeping would only count it.
            cursor.execute(sql, prepare=False)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        for _ in range(result):
            cursor.nextset()
        return list(cursor.fetchall())
    except dbapi_error as exc:
        lost = connection.dialect.is_disconnect(exc, connection.connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql, parameters, exc, dbapi_error, connection_invalidated=lost,
            dialect=connection.dialect,
        ) from exc
    finally:
        cursor.close()


def driver_many(connection: Connection, sql: str, rows: Sequence[Sequence[object]]) -> None:
    """Run `sql` once per row on the driver's own cursor (SQLite's hot posting path; values
    already in driver form); errors raised as SQLAlchemy's, as in `driver_rows`."""
    if not rows:
        return
    if len(rows) == 1:
        driver_rows(connection, sql, rows[0])
        return
    dbapi_error = connection.dialect.loaded_dbapi.Error
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    except dbapi_error as exc:
        lost = connection.dialect.is_disconnect(exc, connection.connection, cursor)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            sql, rows, exc, dbapi_error, connection_invalidated=lost, dialect=connection.dialect
        ) from exc
    finally:
        cursor.close()


def insert_rows(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """INSERT many rows with the driver's executemany, each value put in driver form by its
    column's own bind processor (SQLAlchemy's per-row parameter handling dominates large
    batch inserts otherwise)."""
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in columns]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join(mark for _ in columns)})")
    if all(p is None for p in processors):
        values = [tuple(row) for row in rows]
    else:
        values = [tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
                  for row in rows]
    if values:
        connection.exec_driver_sql(sql, values)
