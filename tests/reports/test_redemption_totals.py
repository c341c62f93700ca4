"""Monthly redemption totals: kept exact by the services, and the audit's figures read from them.

A year of completions (full and partial), clawbacks, cancellations and open bookings over
several months, categories, providers and cities; the maintained totals must equal a fresh
sum over the redemptions, and the audit's breakdowns must equal the redemptions summed
directly for whole-month periods and for periods that start or end inside a month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import NamedTuple

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.core.db import transaction
from ledger.programmes.programme import Programme, appropriate, create_programme
from ledger.reading.audit_queries import (
    Window,
    redemptions_by_city,
    split_months,
)
from ledger.reading.audit_queries import (
    redemptions as audit_redemptions,
)
from ledger.registry.firms import Firm
from ledger.vouchers import clawbacks, redemptions
from ledger.vouchers import voucher as vouchers
from ledger.vouchers.redemption_totals import RedemptionCityTotal, RedemptionTotal
from ledger.vouchers.redemptions import Redemption, fill_from_redemptions
from tests.authorised import authorised_book
from tests.reports.programme_year import APPROVER, OPERATOR, PROVIDER, ensure_registry

CODE = "LN-CXQ-2026"
D = dt.date


class Step(NamedTuple):
    """One booking and what becomes of it."""

    firm: int
    provider: int
    category: str
    booked: dt.date
    completed: dt.date | None  # None: cancelled (or left open, if `fate` says so)
    partial: int | None = None  # fen posted of the subsidy, if not all of it
    fate: str = "completed"  # completed, clawed_back, cancelled, open


# Firms 1, 2, 3 are in 沈阳, 大连 and 鞍山; providers 1–3 with their registered categories.
STEPS = (
    Step(1, 1, "testing", D(2026, 4, 20), D(2026, 4, 30)),
    Step(2, 1, "instrument_sharing", D(2026, 4, 21), D(2026, 5, 1), partial=12_345),
    Step(3, 3, "rd_design", D(2026, 5, 2), D(2026, 5, 15)),
    Step(1, 2, "patent_application", D(2026, 5, 10), D(2026, 5, 31), fate="clawed_back"),
    Step(2, 3, "technology_transfer", D(2026, 6, 1), D(2026, 6, 1)),
    Step(3, 1, "testing", D(2026, 6, 3), D(2026, 7, 14), partial=7_001),
    Step(1, 1, "testing", D(2026, 7, 1), D(2026, 7, 31), fate="clawed_back"),
    Step(2, 1, "testing", D(2026, 7, 2), None, fate="cancelled"),
    Step(3, 3, "technology_transfer", D(2026, 8, 9), D(2026, 8, 10)),
    Step(1, 3, "rd_design", D(2026, 8, 11), D(2026, 9, 1)),
    Step(2, 2, "patent_application", D(2026, 9, 2), None, fate="open"),
    Step(3, 1, "instrument_sharing", D(2026, 9, 3), D(2026, 9, 30), partial=50_000),
)
WINDOWS = (
    (D(2026, 1, 1), D(2026, 12, 31)),  # the whole year: totals only
    (D(2026, 5, 1), D(2026, 7, 31)),  # whole months: totals only
    (D(2026, 4, 30), D(2026, 8, 10)),  # an edge day before, ten after
    (D(2026, 5, 2), D(2026, 5, 31)),  # inside one month: redemptions only
    (D(2026, 5, 31), D(2026, 6, 1)),  # two edges, no whole month
)


def _window(start: dt.date, end: dt.date) -> Window:
    moment = dt.datetime.combine(start, dt.time(), dt.UTC)
    return Window(start, end, moment, dt.datetime.combine(end, dt.time.max, dt.UTC))


def _build(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as s:
        ensure_registry(s)
        programme = create_programme(s, code=CODE, name="辽宁省科技创新券2026",
                                     fiscal_year=2026, policy="LN-CXQ", by=OPERATOR).id
        appropriate(s, CODE, 100_000_000, by=OPERATOR)
    with transaction(sessions) as s:
        voucher = {firm: vouchers.issue_voucher(s, CODE, firm, 5_000_000, by=OPERATOR,
                                                issued_on=D(2026, 4, 10)).id
                   for firm in (1, 2, 3)}
    for step in STEPS:
        # Each service call in its own transaction, as the API makes them.
        with transaction(sessions) as s:
            booked = authorised_book(s, voucher_id=voucher[step.firm], provider_id=step.provider,
                                     category=step.category, cost_fen=200_000,
                                     description="服务", by=PROVIDER, on=step.booked).id
        with transaction(sessions) as s:
            if step.fate == "cancelled":
                redemptions.cancel(s, booked, by=OPERATOR)
            elif step.completed is not None:
                redemptions.complete(s, booked, provider_id=step.provider, by=PROVIDER,
                                     amount_fen=step.partial, on=step.completed)
        if step.fate == "clawed_back":
            with transaction(sessions) as s:
                clawbacks.clawback(s, booked, by=APPROVER, reason="服务未实际发生")
    return programme


@pytest.fixture
def programme(sessions: sessionmaker[Session]) -> int:
    return _build(sessions)


def _done(s: Session) -> list[tuple[Redemption, str]]:
    """Every redemption that reached completion, with its firm's city."""
    return [(r, city) for r, city in s.execute(
        select(Redemption, Firm.city).join(Firm, Firm.id == Redemption.firm_id)
        .where(Redemption.status.in_(("completed", "clawed_back")))).all()]


def _expected_totals(s: Session) -> tuple[Counter[tuple], Counter[tuple]]:
    """Both totals tables as a fresh sum over the redemptions would make them."""
    by_provider: Counter[tuple] = Counter()
    by_city: Counter[tuple] = Counter()
    for r, city in _done(s):
        assert r.completed_on is not None
        month = r.completed_on.replace(day=1)
        clawed = r.amount_fen if r.status == "clawed_back" else 0
        for key, table in (((r.programme_id, month, r.category, r.provider_id), by_provider),
                           ((r.programme_id, month, city), by_city)):
            table[(*key, "n")] += 1
            table[(*key, "amount")] += r.amount_fen
            table[(*key, "clawed")] += clawed
    return by_provider, by_city


def _stored_totals(s: Session) -> tuple[Counter[tuple], Counter[tuple]]:
    by_provider: Counter[tuple] = Counter()
    for t in s.scalars(select(RedemptionTotal)):
        key = (t.programme_id, t.month, t.category, t.provider_id)
        by_provider.update({(*key, "n"): t.completions, (*key, "amount"): t.amount_fen,
                            (*key, "clawed"): t.clawed_back_fen})
    by_city: Counter[tuple] = Counter()
    for c in s.scalars(select(RedemptionCityTotal)):
        key = (c.programme_id, c.month, c.city)
        by_city.update({(*key, "n"): c.completions, (*key, "amount"): c.amount_fen,
                        (*key, "clawed"): c.clawed_back_fen})
    return by_provider, by_city


def test_the_services_keep_the_totals_equal_to_the_redemptions(sessions, programme):
    with transaction(sessions) as s:
        stored, expected = _stored_totals(s), _expected_totals(s)
        assert stored == expected
        # The scenario reaches what the totals must tell apart.
        assert len({k[1] for k in expected[0]}) == 6  # months April to September
        assert len({k[2] for k in expected[1]}) == 3  # cities
        assert sum(v for k, v in expected[0].items() if k[-1] == "clawed") > 0
        assert sum(v for k, v in expected[0].items() if k[-1] == "n") == 10
        # What migration 0006 backfills from the same redemptions is the same rows.
        s.execute(delete(RedemptionTotal))
        s.execute(delete(RedemptionCityTotal))
        fill_from_redemptions(s.connection())
        assert _stored_totals(s) == expected


def _direct(s: Session, start: dt.date, end: dt.date) -> tuple[dict, dict, dict, dict]:
    """The audit's breakdowns summed straight from the redemptions of the period."""
    by: dict[str, dict[str, list[int]]] = {k: {} for k in ("category", "provider", "month",
                                                             "city")}
    for r, city in _done(s):
        assert r.completed_on is not None
        if not start <= r.completed_on <= end:
            continue
        keys = {"category": r.category, "provider": str(r.provider_id),
                "month": f"{r.completed_on:%Y-%m}", "city": city}
        for name, key in keys.items():
            acc = by[name].setdefault(key, [0, 0, 0])
            acc[0] += 1
            acc[1] += r.amount_fen
            acc[2] += r.amount_fen if r.status == "clawed_back" else 0
    return by["category"], by["provider"], by["month"], by["city"]


def test_audit_figures_equal_the_redemptions_summed_directly(sessions, programme):
    for start, end in WINDOWS:
        window = _window(start, end)
        with transaction(sessions) as s:
            category, provider, month, city = _direct(s, start, end)
            got = audit_redemptions(s, programme, window)
            for key, expected in (("category", category), ("provider", provider),
                                  ("month", month)):
                assert {g.key: [g.count, g.completed, g.clawed_back]
                        for g in got.by(key)} == expected, (start, end, key)
            assert {g.key: [g.count, g.completed, g.clawed_back]
                    for g in redemptions_by_city(s, programme, window)} == city, (start, end)
            total = got.total
            assert [total.count, total.completed, total.clawed_back] == [
                sum(v[i] for v in category.values()) for i in range(3)]
            assert total.count > 0


def test_another_programmes_totals_do_not_count(sessions, programme):
    with transaction(sessions) as s:
        other = create_programme(s, code="LN-CXQ-2027", name="另一项目", fiscal_year=2027,
                                 policy="LN-CXQ", by=OPERATOR).id
        assert s.get(Programme, other) is not None
        s.add(RedemptionTotal(programme_id=other, month=D(2026, 5, 1), category="testing",
                              provider_id=1, completions=9, amount_fen=999, clawed_back_fen=0))
        s.add(RedemptionCityTotal(programme_id=other, month=D(2026, 5, 1), city="沈阳市",
                                  completions=9, amount_fen=999, clawed_back_fen=0))
    window = _window(D(2026, 1, 1), D(2026, 12, 31))
    with transaction(sessions) as s:
        assert audit_redemptions(s, other, window).total.count == 9
        assert audit_redemptions(s, programme, window).total.count == 10
        assert sum(g.count for g in redemptions_by_city(s, programme, window)) == 10


@pytest.mark.parametrize(("start", "end", "whole", "edges"), [
    (D(2026, 1, 1), D(2026, 12, 31), (D(2026, 1, 1), D(2026, 12, 31)), []),
    (D(2026, 1, 2), D(2026, 12, 31), (D(2026, 2, 1), D(2026, 12, 31)),
     [(D(2026, 1, 2), D(2026, 1, 31))]),
    (D(2026, 1, 1), D(2026, 3, 30), (D(2026, 1, 1), D(2026, 2, 28)),
     [(D(2026, 3, 1), D(2026, 3, 30))]),
    (D(2024, 2, 29), D(2024, 4, 1), (D(2024, 3, 1), D(2024, 3, 31)),
     [(D(2024, 2, 29), D(2024, 2, 29)), (D(2024, 4, 1), D(2024, 4, 1))]),
    (D(2026, 3, 2), D(2026, 3, 30), None, [(D(2026, 3, 2), D(2026, 3, 30))]),
    (D(2026, 3, 31), D(2026, 4, 29), None, [(D(2026, 3, 31), D(2026, 4, 29))]),
    (D(2025, 12, 1), D(2026, 1, 31), (D(2025, 12, 1), D(2026, 1, 31)), []),
])
def test_split_months(start, end, whole, edges):
    assert split_months(_window(start, end)) == (whole, edges)
