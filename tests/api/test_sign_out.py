"""`POST /auth/sign-out` ends the token that sends it before it expires; the user's other
tokens go on; a token without an id (signed before ids) ends every session."""

from __future__ import annotations

from api_helpers import KEY, now
from jose import jwt

from ledger.core.db import transaction
from ledger.registry.users import MAX_ENDED_TOKENS, User, change_password, sign_out


def _sign_in(client, username: str = "demo-firm2", password: str = "0123456789"
             ) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _works(client, headers: dict[str, str]) -> bool:
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def test_sign_out_ends_this_token_only(client, world):
    here, elsewhere = _sign_in(client), _sign_in(client)
    out = client.post("/api/v1/auth/sign-out", headers=here)
    assert out.status_code == 200 and out.json() == {"ended": "this_token"}, out.text
    refused = client.get("/api/v1/me", headers=here)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "invalid token: signed out; sign in again"
    # Writes too are refused before anything is read or written; signing out twice is 401.
    assert client.post("/api/v1/auth/sign-out", headers=here).status_code == 401
    assert client.post("/api/v1/me/password", headers=here, json={
        "current_password": "0123456789", "new_password": "another-pass-2026"}
    ).status_code == 401
    assert _works(client, elsewhere) and _works(client, world.auth("firm2"))
    assert _works(client, _sign_in(client))


def test_sign_out_is_logged(client, world):
    headers = _sign_in(client)
    client.post("/api/v1/auth/sign-out", headers=headers)
    user_id = str(world.users["firm2"].id)
    log = client.get("/api/v1/operations", params={"object_type": "user", "object_id": user_id},
                     headers=world.auth("auditor"))
    assert log.status_code == 200, log.text
    rows = [(r["action"], r["outcome"]) for r in log.json()["items"]]
    assert rows == [("users.sign_out", "done")]


def test_a_one_time_password_holder_may_sign_out(client, world):
    target = world.users["provider2"]
    reset = client.post(f"/api/v1/users/{target.id}/reset-password",
                        headers=world.auth("operator"))
    headers = _sign_in(client, "demo-provider2", reset.json()["one_time_password"])
    assert client.post("/api/v1/auth/sign-out", headers=headers).status_code == 200
    assert not _works(client, headers)


def test_a_token_without_an_id_ends_every_session(client, world):
    user = world.users["firm2"]
    claims = {"sub": str(user.id), "role": "firm", "iat": now(), "exp": now() + 600}
    older = {"Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='HS256')}"}
    other = _sign_in(client)
    out = client.post("/api/v1/auth/sign-out", headers=older)
    assert out.status_code == 200 and out.json() == {"ended": "every_session"}
    assert not _works(client, older) and not _works(client, other)
    assert _works(client, _sign_in(client))


def test_expired_entries_are_forgotten_and_too_many_end_every_session(client, world,
                                                                      sessions):
    user_id = world.users["firm2"].id
    with transaction(sessions) as s:
        s.get(User, user_id).ended_tokens = {"gone": now() - 5}
    first = _sign_in(client)
    client.post("/api/v1/auth/sign-out", headers=first)
    with transaction(sessions) as s:
        remembered = s.get(User, user_id).ended_tokens
    assert "gone" not in remembered and len(remembered) == 1
    with transaction(sessions) as s:
        s.get(User, user_id).ended_tokens = {
            f"t{i}": now() + 600 for i in range(MAX_ENDED_TOKENS)}
    kept, last = _sign_in(client), _sign_in(client)
    out = client.post("/api/v1/auth/sign-out", headers=last)
    assert out.json() == {"ended": "every_session"}
    assert not _works(client, kept)
    with transaction(sessions) as s:
        assert s.get(User, user_id).ended_tokens is None
    assert _works(client, _sign_in(client))


def test_a_write_with_an_idempotency_key_is_refused_once_signed_out(client, world):
    headers = _sign_in(client, "demo-provider2")
    client.post("/api/v1/auth/sign-out", headers=headers)
    refused = client.post("/api/v1/redemptions", headers={**headers, "Idempotency-Key": "k-1"},
                          json={"voucher": "V000001", "authorisation": "ABCDE12345",
                                "category": "testing", "cost": "2.00", "description": "x"})
    assert refused.status_code == 401, refused.text


def test_a_password_change_racing_a_sign_out_does_not_bring_the_token_back(world, sessions):
    # The change's token was checked before the sign-out committed; the change then runs
    # under the user's lock and must not keep the token the sign-out ended.
    user_id = world.users["firm2"].id
    with transaction(sessions) as s:
        assert sign_out(s, user_id, "tok-1", now() + 600, now())
    with transaction(sessions) as s:
        view = change_password(s, user_id, current="0123456789", new="a-new-password-2026",
                               keep_token="tok-1")
    assert view.kept_token is None
    assert not view.accepts_token(view.token_generation - 1, "tok-1")
    with transaction(sessions) as s:
        assert s.get(User, user_id).ended_tokens is None
