"""Award tests: an award programme with budget and a few registered firms."""

from __future__ import annotations

import pytest

from ledger.core.db import transaction
from ledger.programmes.programme import appropriate, create_programme
from tests.awards.support import CODE, OPERATOR, YUAN, make_firms


@pytest.fixture
def firms(sessions) -> list[int]:
    """Ten registered firms; the last has no bank account."""
    with transaction(sessions) as s:
        return make_firms(s, 10, without_bank=1)


@pytest.fixture
def programme(sessions, firms) -> str:
    """Award programme LN-AWARD-2022 with 10,000,000 yuan appropriated."""
    with transaction(sessions) as s:
        create_programme(s, code=CODE, name="辽宁省瞪羚独角兽专精特新奖励2022",
                         fiscal_year=2022, policy="LN-AWARD", by=OPERATOR)
        appropriate(s, CODE, 10_000_000 * YUAN, by=OPERATOR)
    return CODE
