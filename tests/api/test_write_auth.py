"""A write reads and checks its user inside its own transaction: one transaction, no earlier
reading one, and a user disabled, re-roled or given a one-time password after signing in is
refused on every write route all the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from api.auth import Pending, Signed
from ledger.core.db import transaction
from ledger.core.oplog import Operation
from ledger.registry.users import User, reset_password, set_active

P = "LN-CXQ-2026"
# (who, method, path, body): one write route per role, all through `mutate`.
WRITES = [
    ("operator", "POST", "/api/v1/programs",
     {"code": "P-X", "name": "试点", "fiscal_year": 2026, "policy": "LN-CXQ"}),
    ("operator", "DELETE", "/api/v1/sign-in-locks/1", None),
    ("firm", "POST", "/api/v1/authorisations",
     {"voucher": "V000001", "provider_credit_code": "91210100MA0Y7K3N5H"}),
    ("provider", "POST", "/api/v1/redemptions",
     {"voucher": "V000001", "authorisation": "ABCDEFGH12", "category": "testing",
      "cost": "100"}),
    ("approver", "POST", "/api/v1/claims/1/approve", {}),
    ("firm", "POST", "/api/v1/me/password",
     {"current_password": "demo-firm-2026", "new_password": "a-new-password-2026"}),
]


def _operations(sessions) -> int:
    with transaction(sessions) as s:
        return int(s.scalar(select(func.count()).select_from(Operation)) or 0)


@pytest.mark.parametrize(("who", "method", "path", "body"), WRITES,
                         ids=[f"{w[1]} {w[2]}" for w in WRITES])
def test_a_user_disabled_after_signing_in_cannot_write(client, world, sessions, who, method,
                                                        path, body):
    headers = world.auth(who)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with transaction(sessions) as s:
        set_active(s, world.users[who].username, False)
    before = _operations(sessions)
    response = client.request(method, path, headers=headers, json=body)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _operations(sessions) == before


# Staff only: a firm's or a provider's user is bound to its party by the role (a constraint).
STAFF_WRITES = WRITES[:2] + WRITES[4:5]


@pytest.mark.parametrize(("who", "method", "path", "body"), STAFF_WRITES,
                         ids=[f"{w[1]} {w[2]}" for w in STAFF_WRITES])
def test_a_user_whose_role_changed_after_signing_in_cannot_write(client, world, sessions, who,
                                                                 method, path, body):
    headers = world.auth(who)
    with transaction(sessions) as s:
        s.execute(update(User).where(User.id == world.users[who].id).values(role="auditor"))
    before = _operations(sessions)
    assert client.request(method, path, headers=headers, json=body).status_code == 401
    assert _operations(sessions) == before


def test_a_one_time_password_admits_only_the_password_change(client, world, sessions):
    before = world.auth("provider")
    username = world.users["provider"].username
    with transaction(sessions) as s:
        _, one_time = reset_password(s, username)
    _, _, path, body = WRITES[3]
    # The reset ended the token signed before it.
    ended = client.post(path, headers=before, json=body)
    assert ended.status_code == 401 and "sign in again" in ended.json()["detail"]
    signed = client.post("/api/v1/auth/token", data={"username": username, "password": one_time})
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    refused = client.post(path, headers=headers, json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    changed = client.post("/api/v1/me/password", headers=headers, json={
        "current_password": one_time, "new_password": "a-new-password-2026"})
    assert changed.status_code == 200, changed.text
    # The same token writes again once the one-time password is gone.
    again = client.post(path, headers=headers, json=body)
    assert again.status_code not in (401, 403), again.text


def test_a_pending_user_refuses_every_attribute_until_read():
    pending = Pending.of(Signed(1, "operator", 0, None, 0), one_time=False)
    for name in ("id", "username", "role", "provider_id", "firm_id", "active"):
        with pytest.raises(RuntimeError):
            getattr(pending, name)


class Begins:
    """Transactions begun and connections checked out on an engine while counting."""

    def __init__(self) -> None:
        self.begins = 0
        self.checkouts = 0


@pytest.fixture
def counted(engine) -> Iterator[Begins]:
    seen = Begins()

    def on_begin(*_: Any) -> None:
        seen.begins += 1

    def on_checkout(*_: Any) -> None:
        seen.checkouts += 1

    event.listen(engine, "begin", on_begin)
    event.listen(engine.pool, "checkout", on_checkout)
    yield seen
    event.remove(engine, "begin", on_begin)
    event.remove(engine.pool, "checkout", on_checkout)


def test_a_write_request_opens_exactly_one_transaction(client, world, counted):
    headers = {**world.auth("operator"), "Idempotency-Key": "one-transaction-1"}
    counted.begins = counted.checkouts = 0
    response = client.post("/api/v1/programs", headers=headers, json=WRITES[0][3])
    assert response.status_code == 201, response.text
    assert (counted.begins, counted.checkouts) == (1, 1)


def test_a_booking_opens_one_transaction_with_the_journals_seal_in_it(client, world,
                                                                       counted):
    op = world.auth("operator")
    for path, body in (("/api/v1/programs", {"code": P, "name": "创新券", "fiscal_year": 2026,
                                             "policy": "LN-CXQ"}),
                       (f"/api/v1/programs/{P}/appropriations", {"amount": "100000"}),
                       ("/api/v1/vouchers", {"program": P, "firm_id": 1, "amount": "10000"})):
        assert client.post(path, headers=op, json=body).status_code == 201
    provider_code = client.get("/api/v1/providers/1", headers=op).json()["credit_code"]
    code = client.post("/api/v1/authorisations", headers=world.auth("firm"), json={
        "voucher": "V000001", "provider_credit_code": provider_code}).json()["code"]
    counted.begins = counted.checkouts = 0
    response = client.post("/api/v1/redemptions", headers=world.auth("provider"), json={
        "voucher": "V000001", "authorisation": code, "category": "testing", "cost": "1000"})
    assert response.status_code == 201, response.text
    # The booking's transaction (user, idempotency, hold, log, and the journal's seal) alone;
    # no reading transaction for the sign-in before it. On SQLite (one writer) the seal runs
    # inside it before commit; on PostgreSQL it rides the commit's own round trip
    # (`COMMIT; SELECT ledger_seal(...)`): no second transaction on either engine.
    assert (counted.begins, counted.checkouts) == (1, 1)
