"""A posting that opens its unit of work: all or nothing, and on PostgreSQL three round trips.

On PostgreSQL psycopg's `BEGIN`, the posting's one statement, and the commit with the seal
riding it (`COMMIT; SELECT * FROM ledger_seal(…)`); the transaction stays one transaction.
"""

from __future__ import annotations

import tempfile

import pytest
from sqlalchemy import event

from ledger.core.accounts import balance
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, get_entry, post_entry
from ledger.core.models import JournalEntry
from tests.core.scenario import entry_count, redeem


class _Boom(Exception):
    pass


def test_a_unit_of_work_opened_by_a_posting_rolls_back_whole(chart, engine, posting_path):
    before = entry_count(chart)
    # Twice: the connection goes back to the pool and comes out again in between.
    for _ in range(2):
        with pytest.raises(_Boom), transaction(chart) as s:
            post_entry(s, redeem(100))  # the unit of work's first statement
            post_entry(s, redeem(200))
            raise _Boom
    with engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is False  # left as psycopg would leave it
    assert entry_count(chart) == before
    with transaction(chart) as s:
        posted = post_entry(s, redeem(300))
        assert balance(s, "P:provider:S1").debits_posted == 300
    with transaction(chart) as s:
        assert balance(s, "P:voucher:V1").available == 700
        assert s.get(JournalEntry, posted.id) is not None
    assert entry_count(chart) == before + 1


def test_on_postgresql_a_posting_and_its_seal_take_three_round_trips(chart, engine, posting_path):
    """`BEGIN`, `ledger_post(…)`, then `COMMIT; SELECT * FROM ledger_seal(…)`; the
    Python path (or SQLite) sends what it needs, and the entry is sealed either way."""
    if engine.dialect.name != "postgresql":
        with transaction(chart) as s:
            posted = post_entry(s, redeem(100))
        with transaction(chart) as s:
            assert get_entry(s, posted.id).hash is not None
        return
    from psycopg import pq

    with tempfile.TemporaryFile("w+") as trace:

        def on(dbapi_connection, _record, _proxy):  # type: ignore[no-untyped-def]
            dbapi_connection.pgconn.trace(trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

        def off(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.pgconn.untrace()

        event.listen(engine.pool, "checkout", on)
        event.listen(engine.pool, "checkin", off)
        try:
            with transaction(chart) as s:
                posted = post_entry(s, redeem(100))
        finally:
            event.remove(engine.pool, "checkout", on)
            event.remove(engine.pool, "checkin", off)
        trace.seek(0)
        sent = [line.split("\t")[2] for line in trace.read().splitlines()
                if line.startswith("F\t")]
    # A round trip ends with a simple Query or an extended-protocol Sync.
    round_trips = sum(1 for message in sent if message in ("Query", "Sync"))
    if posting_path == "server":
        assert round_trips == 3, sent
    else:
        assert round_trips > 3, sent  # the Python path's statements
    with transaction(chart) as s:
        assert get_entry(s, posted.id).hash is not None  # sealed


def test_text_reaches_the_journal_exactly(chart, posting_path):
    """On PostgreSQL the transfers' account codes go to the server as array literals."""
    memo = "100% 'quoted' \\ \"double\" %s {braces,} 创新券 NULL"
    request = EntryRequest((Move("P:provider:S1", "P:voucher:V1", 5),), flow="redeem",
                           ref="R'1\\", actor="o'brien", memo=memo,
                           idempotency_key="k'e\\y%s")
    with transaction(chart) as s:
        posted = post_entry(s, request)
    with transaction(chart) as s:
        stored = get_entry(s, posted.id)
        assert (stored.ref, stored.actor, stored.memo) == ("R'1\\", "o'brien", memo)
        assert stored.hash is not None
    with transaction(chart) as s:  # the key was stored as given: the same request replays
        replayed = post_entry(s, request)
    assert replayed.replayed and replayed.id == posted.id
