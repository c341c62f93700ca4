"""Sign-in and tokens: the password flow, and every malformed token refused with 401."""

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import SETTINGS, bad_tokens
from jose import jwt

from api import auth
from api.auth import issue_token


def test_password_flow_then_me(client, world):
    response = client.post("/api/v1/auth/token",
                           data={"username": "demo-firm", "password": "demo-firm-2026"})
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 1800
    claims = jwt.get_unverified_claims(token["access_token"])
    assert set(claims) == {"sub", "role", "iat", "exp", "gen", "jti"}
    assert claims["exp"] - claims["iat"] == 1800 and claims["gen"] == 0
    assert jwt.get_unverified_header(token["access_token"])["alg"] == "HS256"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "demo-firm" and me.json()["firm_id"] == 1


@pytest.mark.parametrize(("username", "password"), [
    ("demo-firm", "wrong password"), ("nobody", "demo-firm-2026"), ("", ""),
])
def test_wrong_sign_in_is_401_problem(client, world, username, password):
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code in (401, 422)
    assert response.headers["content-type"] == "application/problem+json"
    if response.status_code == 401:
        assert response.json()["code"] == "not_authenticated"
        assert response.headers["www-authenticate"] == "Bearer"


def test_every_bad_token_is_refused(client, world):
    for name, token in bad_tokens(world).items():
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["code"] == "not_authenticated", name


def test_a_token_outlives_nothing_past_its_exp(client, world):
    issued = datetime.now(UTC) - timedelta(minutes=31)
    token = issue_token(SETTINGS, world.users["auditor"], now=issued)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_verified_before_still_expires(client, world, monkeypatch):
    """A token's verified claims are kept, but its expiry is checked again at each use."""
    token = issue_token(SETTINGS, world.users["auditor"])
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    later = int(datetime.now(UTC).timestamp()) + 31 * 60
    monkeypatch.setattr(auth, "_now", lambda: later)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_no_token_is_401(client, world):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_docs_offer_the_password_flow(client):
    schema = client.get("/openapi.json").json()
    flows = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert client.get("/docs").status_code == 200


def test_health_needs_no_token(client):
    assert client.get("/api/v1/health").json() == {"status": "ok", "database": "ok"}


def test_a_disabled_users_token_stops_working(client, world, sessions):
    from ledger.core.db import transaction
    from ledger.registry.users import set_active

    assert client.get("/api/v1/me", headers=world.auth("approver")).status_code == 200
    with transaction(sessions) as s:
        set_active(s, "demo-approver", False)
    assert client.get("/api/v1/me", headers=world.auth("approver")).status_code == 401
