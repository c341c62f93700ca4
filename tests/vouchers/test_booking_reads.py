"""A booking's yearly sums come from the firm's index alone, whatever the firm booked before."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, text

from ledger.core.db import transaction
from ledger.vouchers.redemptions import _STANDING

PARAMS = {"firm_id": 1, "year": 2026, "category": "testing", "day": dt.date(2026, 6, 1),
          "provider_id": 1, "provider_account": "LN-CXQ-2026:provider:1", "voucher_id": 1}


def _plan(session, statement, params) -> str:
    """The engine's plan for `statement` as one string (its index choice, not its timing):
    the SQL and parameters the driver receives, explained on the same connection."""
    connection = session.connection()
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, sql, parameters, context, executemany):
        sent.append((sql, parameters))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        session.execute(statement, params).all()
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    sql, parameters = sent[-1]
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        # Few rows in a test database: without this the planner rightly reads the table.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
    explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
    rows = connection.exec_driver_sql(explain + sql, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_the_firms_yearly_sums_read_the_covering_index_only(sessions, programme):
    with transaction(sessions) as s:
        plan = _plan(s, _STANDING, PARAMS)
    # Status, category and amount are in the index: no redemption row is read from the table.
    assert ("COVERING INDEX ix_redemptions_firm_year" in plan
            or "Index Only Scan using ix_redemptions_firm_year" in plan), plan
