"""Shared by the API tests: the signing key, valid request bodies, bad tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from jose import jwt

from api.auth import TokenSettings
from ledger.registry.credit_code import check_character
from ledger.registry.users import UserView

KEY = "test-signing-key-" + "k" * 32
SETTINGS = TokenSettings(KEY, 30)
ROLES = ("operator", "approver", "auditor", "firm", "provider")


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


def now() -> int:
    """The current time as a JWT timestamp."""
    return int(datetime.now(UTC).timestamp())


def bad_tokens(world: World) -> dict[str, str]:
    """Tokens that must all be refused: expired, wrong key or algorithm, claims missing …"""
    user = world.users["operator"]
    good = {"sub": str(user.id), "role": "operator", "iat": now(), "exp": now() + 600}
    unsigned_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    payload = jwt.encode(good, KEY).split(".")[1]

    def sign(claims: dict[str, object], key: str = KEY, algorithm: str = "HS256") -> str:
        return jwt.encode(claims, key, algorithm=algorithm)

    def without(claim: str) -> dict[str, object]:
        return {k: v for k, v in good.items() if k != claim}

    return {
        "expired": sign({**good, "iat": now() - 7200, "exp": now() - 3600}),
        "other key": sign(good, key="another-key-" + "x" * 32),
        "alg none": f"{unsigned_header}.{payload}.",
        "HS512": sign(good, algorithm="HS512"),
        "no exp": sign(without("exp")),
        "no iat": sign(without("iat")),
        "no sub": sign(without("sub")),
        "no role": sign(without("role")),
        "wrong role": sign({**good, "role": "auditor"}),
        "unknown user": sign({**good, "sub": "9999"}),
        "huge subject": sign({**good, "sub": "9" * 40}),
        "non-ASCII subject": sign({**good, "sub": "²"}),
        "numeric subject": sign({**good, "sub": user.id}),
        "garbage": "not.a.token",
    }
