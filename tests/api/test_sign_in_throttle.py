"""Failed sign-ins are throttled per account and per address, in the database, and logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from ledger.core.db import transaction
from ledger.core.oplog import Operation
from ledger.registry.sign_in_throttle import SignInThrottle, ThrottlePolicy

TOKEN = "/api/v1/auth/token"
RIGHT = {"username": "demo-firm", "password": "demo-firm-2026"}


def _wrong(client: TestClient, username: str = "demo-firm"):
    return client.post(TOKEN, data={"username": username, "password": "not-the-password"})


def test_ten_wrong_passwords_then_429_even_with_the_right_one(client, world, sessions):
    assert [_wrong(client).status_code for _ in range(10)] == [401] * 10
    refused = client.post(TOKEN, data=RIGHT)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts"
    wait = int(refused.headers["Retry-After"])
    assert 890 <= wait <= 900
    with transaction(sessions) as s:
        logged = s.scalars(select(Operation).where(Operation.action == "auth.sign_in")
                           .order_by(Operation.id)).all()
    assert [op.code for op in logged] == ["not_authenticated"] * 10 + ["too_many_attempts"]
    assert logged[0].actor == "sign-in:demo-firm" and logged[0].role == "anonymous"
    assert logged[9].message == "from testclient: locked for 900 s"
    # The API's schema says so: sign-in may answer 429 (other operations do not).
    paths = client.get("/openapi.json").json()["paths"]
    assert "429" in paths[TOKEN]["post"]["responses"]
    assert "429" not in paths["/api/v1/me"]["get"]["responses"]


def test_the_right_password_works_once_the_window_has_passed(client, world, sessions):
    for _ in range(10):
        _wrong(client)
    assert client.post(TOKEN, data=RIGHT).status_code == 429
    with transaction(sessions) as s:
        # Fifteen minutes later, as far as the lock is concerned.
        s.execute(update(SignInThrottle).values(
            locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.post(TOKEN, data=RIGHT).status_code == 200
    # A success clears the account's count: nine more failures do not lock it again.
    assert [_wrong(client).status_code for _ in range(9)] == [401] * 9
    assert client.post(TOKEN, data=RIGHT).status_code == 200


def test_one_address_trying_many_accounts_is_locked(engine, world):
    app = create_app(engine, key="k" * 40, throttle=ThrottlePolicy(address_limit=5))
    with TestClient(app, client=("203.0.113.7", 4000)) as client:
        codes = [_wrong(client, f"guess-{n}").status_code for n in range(5)]
        assert codes == [401] * 5
        assert client.post(TOKEN, data=RIGHT).status_code == 429
    with TestClient(app, client=("198.51.100.2", 4000)) as elsewhere:
        assert elsewhere.post(TOKEN, data=RIGHT).status_code == 200


def test_the_operator_sees_and_clears_a_lock(client, world, sessions):
    for _ in range(10):
        _wrong(client)
    listed = client.get("/api/v1/sign-in-locks", headers=world.auth("operator")).json()
    assert [(lock["scope"], lock["subject"], lock["failures"]) for lock in listed] == [
        ("account", "demo-firm", 10)]
    assert client.get("/api/v1/sign-in-locks", headers=world.auth("firm")).status_code == 403
    cleared = client.delete(f"/api/v1/sign-in-locks/{listed[0]['id']}",
                            headers=world.auth("operator"))
    assert cleared.status_code == 200
    assert client.post(TOKEN, data=RIGHT).status_code == 200
    with transaction(sessions) as s:
        op = s.scalars(select(Operation).where(Operation.action == "sign_in_locks.clear")).one()
    assert op.outcome == "done" and op.object_id == str(listed[0]["id"])


def test_the_console_sign_in_is_throttled_too(client, world):
    form = {"username": "demo-provider", "password": "wrong-password"}
    page = client.get("/sign-in")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    for _ in range(10):
        assert client.post("/sign-in", data={**form, "csrf_token": csrf}).status_code == 401
    locked = client.post("/sign-in", data={"username": "demo-provider",
                                           "password": "demo-provider-2026", "csrf_token": csrf},
                         follow_redirects=False)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "登录失败次数过多，请稍后再试。" in locked.text


def test_a_username_with_control_characters_is_counted_not_stored_raw(client, world, sessions):
    for _ in range(10):
        assert _wrong(client, "evil\x00name").status_code == 401
    assert _wrong(client, "evil\x00name").status_code == 429
    with transaction(sessions) as s:
        subjects = s.scalars(select(SignInThrottle.subject)
                             .where(SignInThrottle.scope == "account")).all()
    assert subjects == ["evil\\x00name"]


def _change(client: TestClient, headers: dict[str, str], current: str):
    return client.post("/api/v1/me/password", headers=headers, json={
        "current_password": current, "new_password": "a-new-password-2026"})


def test_wrong_current_passwords_count_as_failed_sign_ins(engine, world):
    app = create_app(engine, key="k" * 40, throttle=ThrottlePolicy(account_limit=3))
    with TestClient(app) as client:
        signed = client.post(TOKEN, data=RIGHT)
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        codes = [_change(client, headers, "not-the-password").status_code for _ in range(3)]
        assert codes == [403] * 3
        # The account is locked: neither the right current password nor a sign-in passes.
        locked = _change(client, headers, RIGHT["password"])
        assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
        assert int(locked.headers["Retry-After"]) > 0
        assert client.post(TOKEN, data=RIGHT).status_code == 429
        assert "429" in client.get("/openapi.json").json()["paths"]["/api/v1/me/password"][
            "post"]["responses"]
    with transaction(app.state.sessions) as s:
        row = s.scalars(select(SignInThrottle).where(SignInThrottle.scope == "account")).one()
        assert row.subject == "demo-firm" and row.failures == 3
        codes = s.scalars(select(Operation.code).where(
            Operation.action == "users.change_password").order_by(Operation.id)).all()
    assert codes == ["wrong_password"] * 3 + ["too_many_attempts"]


def test_a_successful_change_forgets_the_accounts_failures(client, world, sessions):
    signed = client.post(TOKEN, data=RIGHT)
    headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    assert [_change(client, headers, "not-the-password").status_code for _ in range(2)] == [
        403, 403]
    with transaction(sessions) as s:
        assert s.scalars(select(SignInThrottle.failures).where(
            SignInThrottle.scope == "account")).one() == 2
    assert _change(client, headers, RIGHT["password"]).status_code == 200
    with transaction(sessions) as s:
        assert s.scalars(select(SignInThrottle).where(
            SignInThrottle.scope == "account")).all() == []
