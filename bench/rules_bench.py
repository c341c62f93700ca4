"""Time the engine's booking decision (plain time.perf_counter, many iterations).

Run from the repository root: `python bench/rules_bench.py`. The last line is
`booking_decision_us=<median microseconds> decisions_per_s=<n>`.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules.engine import decide_booking
from rules.facts import BookingFacts
from rules.loader import load_policies

ROUNDS = 50
PER_ROUND = 2_000


def sample_facts() -> list[BookingFacts]:
    """A mix of bookings: plain, capped, cut by balance, refused, either version."""
    base = {
        "programme": "LN-CXQ",
        "voucher_issued_on": dt.date(2025, 1, 2),
        "voucher_expires_on": dt.date(2026, 12, 31),
        "firm_credit_code": "91210100FIRM00001A",
        "firm_legal_rep": "张三",
        "firm_shareholders": ("李四", "王五"),
        "provider_credit_code": "91210100PROV00002B",
        "provider_legal_rep": "赵六",
        "provider_shareholders": ("钱七",),
        "provider_categories": ("patent_application", "testing", "rd_design"),
    }
    variants = [
        ("patent_application", 1_000_000, 10_000_000, 0, dt.date(2025, 3, 1)),
        ("patent_application", 6_000_000, 10_000_000, 0, dt.date(2025, 6, 1)),
        ("testing", 4_000_000, 500_000, 0, dt.date(2025, 9, 1)),
        ("rd_design", 123_456_789, 50_000_000, 15_000_000, dt.date(2026, 2, 1)),
        ("instrument_sharing", 1_000_000, 10_000_000, 0, dt.date(2026, 5, 1)),
    ]
    return [
        BookingFacts(
            on=on,
            category=category,
            cost_fen=cost,
            voucher_balance_fen=balance,
            firm_used_this_year_fen=used,
            firm_used_in_category_this_year_fen=used,
            **base,  # type: ignore[arg-type]
        )
        for category, cost, balance, used, on in variants
    ]


def main() -> None:
    """Warm up, then time ROUNDS rounds of PER_ROUND decisions; print the median."""
    policies = load_policies()
    facts = sample_facts()
    count = len(facts)
    for i in range(2_000):
        decide_booking(policies, facts[i % count])
    per_decision_us: list[float] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(PER_ROUND):
            decide_booking(policies, facts[i % count])
        elapsed = time.perf_counter() - start
        per_decision_us.append(elapsed / PER_ROUND * 1e6)
    median = statistics.median(per_decision_us)
    print(f"python {sys.version.split()[0]}, {ROUNDS} rounds × {PER_ROUND} bookings")
    print(f"min {min(per_decision_us):.2f} µs, max {max(per_decision_us):.2f} µs per decision")
    print(f"booking_decision_us={median:.2f} decisions_per_s={int(1e6 / median)}")


if __name__ == "__main__":
    main()
