"""Shared by the API tests: the signing key, valid request bodies, bad tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from jose import jwt

from api.auth import TokenSettings
from ledger.registry.credit_code import check_character
from ledger.registry.users import UserView
from rules import PolicySet, load_policies
from rules.loader import SHIPPED_POLICIES

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


def window_open_today(directory: Path) -> PolicySet:
    """The shipped policies, with the 2026 voucher version's windows replaced by one open
    from a month ago to a month ahead (so application tests do not depend on the date)."""
    from ledger.core.acting import today

    for source in SHIPPED_POLICIES.glob("*.yaml"):
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        if source.name == "LN-CXQ-2026.yaml":
            data["applications"] = {"windows": [{
                "id": "now", "name_zh": "本批", "opens": today() - timedelta(days=30),
                "closes": today() + timedelta(days=30), "amounts": [50000, 100000],
                "documents": ["business_licence", "plan"]}]}
        (directory / source.name).write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return load_policies(directory)


def application_files(kinds: tuple[str, ...] = ("business_licence", "plan")
                      ) -> dict[str, tuple[str, bytes, str]]:
    """The documents of an application as multipart files."""
    png = b"\x89PNG\r\n\x1a\n" + b"l" * 40
    pdf = b"%PDF-1.7\n" + b"p" * 40
    files = {"business_licence": ("licence.png", png, "image/png"),
             "plan": ("plan.pdf", pdf, "application/pdf")}
    return {k: files[k] for k in kinds}
