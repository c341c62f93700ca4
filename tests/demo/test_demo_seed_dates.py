"""The demo seeds on any day of the year: its hand-written certifications are dated no later
than the day it is seeded (a certification dated after today is refused)."""

from __future__ import annotations

import datetime as dt

from demo.seed import FIRMS, seed_demo
from ledger.core.acting import business_clock
from ledger.core.db import transaction
from ledger.registry.firms import FIRMS as FIRM_REGISTRY
from ledger.registry.firms import get_firm


def test_seeding_before_the_hand_written_days_dates_them_today(sessions):
    # 10 February: before every hand-written day of 2026 (the earliest is 18 March).
    with business_clock(dt.datetime(2026, 2, 10, 4, tzinfo=dt.UTC)), transaction(sessions) as s:
        seed_demo(s)
        firm_id = FIRM_REGISTRY.find_ids(s, [FIRMS[0][0].credit_code])[FIRMS[0][0].credit_code]
        certs = {(c.kind, c.year): c.certified_on for c in get_firm(s, firm_id).certifications}
    assert certs[("tech_sme", 2026)] == dt.date(2026, 2, 10)
    assert certs[("gazelle", 2025)] == dt.date(2025, 11, 6)  # already past: as written
