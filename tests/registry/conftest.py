"""Registry tests hash passwords with cheap Argon2 parameters: the real ones take 0.2 s each."""

from __future__ import annotations

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ledger.registry import users


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 still, with the smallest cost (the algorithm and its checks are unchanged)."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
    )
