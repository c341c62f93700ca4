"""API tests: the app built on this test's database, the demo registry and a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.app import create_app
from api.auth import TokenSettings, issue_token
from ledger import users
from ledger.credit_code import check_character
from ledger.db import transaction
from ledger.demo import seed_demo
from ledger.users import UserView, create_user

KEY = "test-signing-key-" + "k" * 32
SETTINGS = TokenSettings(KEY, 30)
ROLES = ("operator", "approver", "auditor", "firm", "provider")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the smallest cost: the real parameters take 0.2 s a hash."""
    monkeypatch.setattr(
        users, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
    )


def credit_code(n: int) -> str:
    """A valid test credit code numbered n."""
    body = f"91210200MB{n:07d}"
    return body + check_character(body)


def firm_body(n: int, **changes: object) -> dict[str, object]:
    """A valid JSON body registering firm n."""
    body: dict[str, object] = {
        "credit_code": credit_code(n), "name": f"大连测试软件有限公司{n}", "city": "大连",
        "district": "高新园区", "size_class": "small", "legal_rep": f"孙{n}",
        "shareholders": [f"孙{n}"], "bank_name": "大连银行", "bank_account": f"80010000{n:08d}",
    }
    body.update(changes)
    return body


@dataclass
class World:
    """The demo registry plus a second firm and provider user, and a token for each."""

    users: dict[str, UserView]
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        """The Authorization header of `who` (a role, or firm2 / provider2)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


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
