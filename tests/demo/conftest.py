"""Demo tests: one small demo year built once for the module, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.orm import Session, sessionmaker

from demo.seed import DemoYear, build_demo
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.registry import users

# Small enough to be quick, big enough for every award of every tier and state (16 firms).
FIRMS, PROVIDERS = 30, 10
FAST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the smallest cost: the demo creates users."""
    monkeypatch.setattr(users, "_hasher", FAST_HASHER)


@dataclass(frozen=True)
class Demo:
    """The shared demo database: its sessions and what building it reported."""

    sessions: sessionmaker[Session]
    built: DemoYear
    url: str


@pytest.fixture(scope="module")
def demo(databases) -> Iterator[Demo]:  # type: ignore[no-untyped-def]
    """A database holding the small demo year, shared by the module's tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "_hasher", FAST_HASHER)
        url = databases.fresh_url()
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            built = build_demo(session, firms=FIRMS, providers=PROVIDERS)
        yield Demo(sessions, built, url)
        engine.dispose()
