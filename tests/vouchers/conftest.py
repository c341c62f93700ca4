"""Voucher tests: the demo registry and a programme with budget, on this test's database."""

from __future__ import annotations

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from voucher_helpers import CODE, OPERATOR

from demo.seed import seed_demo
from ledger.core.db import transaction
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry import users


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the smallest cost: the demo seeder creates users."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
    )


@pytest.fixture
def programme(sessions) -> str:
    """Programme LN-CXQ-2026 with 1,000,000 yuan appropriated, on the demo registry."""
    with transaction(sessions) as s:
        seed_demo(s)
        create_programme(s, code=CODE, name="辽宁省科技创新券2026", fiscal_year=2026,
                         policy="LN-CXQ", by=OPERATOR)
        appropriate(s, CODE, 100_000_000, by=OPERATOR)
    return CODE
