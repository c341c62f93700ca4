"""API tests: the app built on this test's database, the demo registry and a token per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import KEY, ROLES, SETTINGS, World
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.app import create_app
from api.auth import issue_token
from demo.seed import seed_demo
from ledger.core.db import transaction
from ledger.registry import users
from ledger.registry.users import create_user


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the smallest cost: the real parameters take 0.2 s a hash."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
    )


@pytest.fixture
def app(engine) -> FastAPI:
    """The app on this test's database."""
    return create_app(engine, key=KEY, minutes=30)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client on the app, in process."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(sessions) -> World:
    """Demo data: firm user bound to firm 1, firm2 to firm 2; provider 1 and provider2 to 2."""
    with transaction(sessions) as s:
        seed_demo(s)
        extra = {
            "firm2": create_user(s, username="demo-firm2", password="0123456789", role="firm",
                                 firm_id=2),
            "provider2": create_user(s, username="demo-provider2", password="0123456789",
                                     role="provider", provider_id=2),
        }
        found = {r: users.find_user(s, f"demo-{r}") for r in ROLES}
    everyone = {**{r: u for r, u in found.items() if u is not None}, **extra}
    return World(everyone, {who: issue_token(SETTINGS, u) for who, u in everyone.items()})
