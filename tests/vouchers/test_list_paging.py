"""Voucher and application lists page from their ids (a page past the middle read from the
far end) and `q` is served by indexes, on both engines (issue 17, item 1)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, func, select, text
from voucher_helpers import APPROVER, CODE, FIRM, OPERATOR, PDF, PNG

from ledger.core.db import transaction
from ledger.registry.evidence import Upload
from ledger.registry.firms import Firm
from ledger.vouchers import applications as apps
from ledger.vouchers import voucher
from ledger.vouchers.voucher import Voucher, issue_voucher, list_vouchers

DOCS = [Upload("business_licence", "licence.png", PNG), Upload("plan", "plan.pdf", PDF)]


def _vouchers(sessions, count: int = 7) -> None:
    with transaction(sessions) as s:
        for n in range(count):
            issue_voucher(s, CODE, 1 + n % 2, 100_000, by=OPERATOR)


@pytest.mark.parametrize("sort_at_most", [2_000, 0])
def test_every_page_holds_its_rows_in_order_deep_pages_too(sessions, programme, monkeypatch,
                                                           sort_at_most):
    # 0: every search walks the id order instead of sorting its matches (a big search).
    monkeypatch.setattr(voucher, "SORT_AT_MOST", sort_at_most)
    _vouchers(sessions)
    with transaction(sessions) as s:
        name = s.scalar(select(Firm.name).where(Firm.id == 1))
        for filters in ({}, {"programme": CODE}, {"q": name}, {"q": "V00000"},
                        {"q": "V", "firm_id": 2}):
            every = [v.id for v in list_vouchers(s, limit=100, **filters).items]
            assert every == sorted(every, reverse=True) and every, filters
            for limit in (2, 3):
                for offset in range(len(every) + 2):
                    page = list_vouchers(s, limit=limit, offset=offset, **filters)
                    assert [v.id for v in page.items] == every[offset:offset + limit]
                    assert page.total == len(every)
        # The plain lists' totals come from the programmes' counters: they match the rows.
        assert list_vouchers(s, limit=1).total == s.scalar(
            select(func.count()).select_from(Voucher)) == 7
        assert list_vouchers(s, limit=1, programme=CODE).total == 7
        # An int on both engines (PostgreSQL's sum() of a bigint is numeric).
        assert type(list_vouchers(s, limit=1).total) is int
        assert len(list_vouchers(s, limit=100, q=name).items) == 4
        assert {v.firm_id for v in list_vouchers(s, limit=100, q="V", firm_id=2).items} == {2}


def _plans(s, run) -> list[str]:
    """The query plans of the SELECTs `run(s)` executes (index use forced visible on PG)."""
    seen: list[tuple[str, object]] = []
    engine = s.get_bind()

    def keep(conn, cursor, statement, parameters, context, many):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        run(s)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        # A handful of rows would be scanned; forbid that to see whether an index serves.
        s.execute(text("SET LOCAL enable_seqscan = off"))
    plans = []
    for statement, parameters in seen:
        prefix = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
        rows = s.connection().exec_driver_sql(prefix + statement, parameters).all()
        plans.append("\n".join(str(r[0] if postgresql else r[-1]) for r in rows))
    return plans


def _scans(plan: str, tables: tuple[str, ...]) -> list[str]:
    """Plan lines reading a whole table (SQLite `SCAN t`, PostgreSQL `Seq Scan on t`)."""
    return [line for line in plan.splitlines() for t in tables
            if re.match(rf"SCAN {t}\b", line.strip()) or re.search(rf"Seq Scan on {t}\b", line)]


def test_searches_and_pages_are_served_by_indexes(sessions, programme):
    _vouchers(sessions, 3)
    with transaction(sessions) as s:
        applied = apps.apply_for_voucher(s, CODE, firm_id=1, amount_fen=10_000_000,
                                         documents=list(DOCS), by=FIRM, on=dt.date(2026, 9, 15))
        apps.approve_application(s, applied.id, by=APPROVER, on=dt.date(2026, 9, 16))
    tables = ("vouchers", "voucher_applications", "firms")
    with transaction(sessions) as s:
        name = s.scalar(select(Firm.name).where(Firm.id == 1))
        for run in (lambda s: list_vouchers(s, limit=2, q=name[:2]),
                    lambda s: list_vouchers(s, limit=2, offset=2, q="V0"),
                    lambda s: apps.list_applications(s, limit=20, q=name[:2]),
                    lambda s: apps.list_applications(s, limit=20, q="V000")):
            plans = _plans(s, run)
            assert plans
            for plan in plans:
                assert not _scans(plan, tables), plan
        serial_plans = _plans(s, lambda s: apps.list_applications(s, limit=20, q="V0"))
        for plan in serial_plans:
            assert not _scans(plan, tables), plan
        plans = "\n".join(serial_plans)
        if s.get_bind().dialect.name == "sqlite":
            # SQLite's choice is fixed by the schema; PostgreSQL's index choice among these
            # follows the statistics the earlier tests left (autovacuum), so there only the
            # absence of a full scan is asserted.
            assert "ix_voucher_applications_voucher_id" in plans and "ix_vouchers_serial" in plans
            assert "ix_firms_name_prefix" in plans, plans
        programme_plans = _plans(s, lambda s: list_vouchers(s, limit=2, offset=2,
                                                            programme=CODE))
        for plan in programme_plans:
            assert not _scans(plan, tables), plan
        if s.get_bind().dialect.name == "sqlite":
            # On PostgreSQL, with every voucher in this one programme, walking the primary key
            # for two rows is as good a plan as the programme index; which it takes follows the
            # statistics (CI once took the primary key), so only SQLite's choice is named.
            assert "ix_vouchers_programme" in "\n".join(programme_plans), programme_plans
