"""Shared by the console tests: the signing key, the seeded world, signing in through the form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from demo.seed import seed_demo
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry.users import create_user, find_user
from ledger.vouchers.voucher import issue_voucher

KEY = "console-test-signing-key-" + "c" * 32
CODE = "LN-CXQ-2026"
PASSWORDS = {"demo-firm": "demo-firm-2026", "demo-provider": "demo-provider-2026",
             "demo-operator": "demo-operator-2026", "demo-approver": "demo-approver-2026",
             "demo-auditor": "demo-auditor-2026", "demo-firm2": "0123456789",
             "demo-provider2": "0123456789"}
PDF = b"%PDF-1.7\n" + b"x" * 100
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass(frozen=True)
class World:
    """The demo registry, a funded programme, a voucher for firm 1 and one for firm 2."""

    voucher: int  # firm 1's (the demo-firm user's), 50,000.00 yuan
    other_voucher: int  # firm 2's (demo-firm2)


def build_world(sessions: sessionmaker[Session]) -> World:
    """Seed the demo, a second firm and provider user, a programme and two vouchers."""
    operator = By(1, "demo-operator")
    with transaction(sessions) as s:
        seed_demo(s)
        create_user(s, username="demo-firm2", password="0123456789", role="firm", firm_id=2)
        create_user(s, username="demo-provider2", password="0123456789", role="provider",
                    provider_id=2)
        create_programme(s, code=CODE, name="辽宁省科技创新券2026", fiscal_year=2026,
                         policy="LN-CXQ", by=operator)
        appropriate(s, CODE, 100_000_000, by=operator)
        mine = issue_voucher(s, CODE, 1, 5_000_000, by=operator)
        other = issue_voucher(s, CODE, 2, 3_000_000, by=operator)
        assert (find_user(s, "demo-firm") or mine).firm_id == 1
    return World(mine.id, other.id)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client, username: str, next_url: str = "/"):  # type: ignore[no-untyped-def]
    """Sign in through the form, as a browser does; returns the response (a redirect)."""
    token = csrf_of(client.get("/sign-in").text)
    return client.post("/sign-in", data={"csrf_token": token, "username": username,
                                         "password": PASSWORDS[username], "next": next_url},
                       follow_redirects=False)


def granted(sessions: sessionmaker[Session], voucher_id: int, provider_id: int = 1
            ) -> dict[str, str]:
    """The voucher's firm authorises the provider: the booking form's voucher and code."""
    from tests.authorised import grant

    with transaction(sessions) as s:
        view = grant(s, voucher_id, provider_id)
    return {"voucher": view.voucher_serial, "authorisation": view.code}
