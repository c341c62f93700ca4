"""A password change, a reset or disabling ends the tokens signed before it; the session that
changed the password keeps working."""

from __future__ import annotations

from api_helpers import KEY, now
from jose import jwt

from ledger.core.db import transaction
from ledger.registry.users import set_active

NEW = "a-new-password-2026"


def _sign_in(client, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ended(client, headers: dict[str, str]) -> bool:
    response = client.get("/api/v1/me", headers=headers)
    if response.status_code == 200:
        return False
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"
    assert "sign in again" in response.json()["detail"]
    return True


def test_a_password_change_ends_every_other_session_but_its_own(client, world):
    here = _sign_in(client, "demo-firm2", "0123456789")
    elsewhere = _sign_in(client, "demo-firm2", "0123456789")
    changed = client.post("/api/v1/me/password", headers=here,
                          json={"current_password": "0123456789", "new_password": NEW})
    assert changed.status_code == 200, changed.text
    assert not _ended(client, here)
    assert _ended(client, elsewhere)
    assert _ended(client, world.auth("firm2"))  # signed by the test's world before
    # A write with an ended token is refused as well, before anything is read or written.
    refused = client.post("/api/v1/me/password", headers=elsewhere,
                          json={"current_password": NEW, "new_password": NEW + "-2"})
    assert refused.status_code == 401
    # Signing in again (with the new password only) gives a token that works.
    assert client.post("/api/v1/auth/token", data={
        "username": "demo-firm2", "password": "0123456789"}).status_code == 401
    assert not _ended(client, _sign_in(client, "demo-firm2", NEW))
    # The kept session may change the password again; then the one signed in between ends.
    between = _sign_in(client, "demo-firm2", NEW)
    again = client.post("/api/v1/me/password", headers=here,
                        json={"current_password": NEW, "new_password": NEW + "-2"})
    assert again.status_code == 200, again.text
    assert not _ended(client, here) and _ended(client, between)


def test_a_reset_ends_the_users_tokens(client, world):
    target = world.users["provider2"]
    reset = client.post(f"/api/v1/users/{target.id}/reset-password",
                        headers=world.auth("operator"))
    assert reset.status_code == 200, reset.text
    assert _ended(client, world.auth("provider2"))
    assert not _ended(client, world.auth("provider"))  # another user's token is untouched
    signed = _sign_in(client, "demo-provider2", reset.json()["one_time_password"])
    me = client.get("/api/v1/me", headers=signed)
    assert me.status_code == 200 and me.json()["must_change_password"] is True


def test_disabling_ends_the_tokens_for_good(client, world, sessions):
    with transaction(sessions) as s:
        set_active(s, "demo-firm2", False)
    with transaction(sessions) as s:
        set_active(s, "demo-firm2", True)
    # Enabled again: the token signed before the disabling stays refused.
    assert _ended(client, world.auth("firm2"))
    assert not _ended(client, _sign_in(client, "demo-firm2", "0123456789"))


def test_a_token_signed_before_generations_counts_as_the_first(client, world):
    user = world.users["firm2"]
    claims = {"sub": str(user.id), "role": "firm", "iat": now(), "exp": now() + 600}
    older = {"Authorization": f"Bearer {jwt.encode(claims, KEY, algorithm='HS256')}"}
    assert not _ended(client, older)
    here = _sign_in(client, "demo-firm2", "0123456789")
    assert client.post("/api/v1/me/password", headers=here, json={
        "current_password": "0123456789", "new_password": NEW}).status_code == 200
    assert _ended(client, older)


def test_a_token_with_a_malformed_generation_is_refused(client, world):
    user = world.users["firm2"]
    for gen in ("0", None, True, 1.5):
        claims = {"sub": str(user.id), "role": "firm", "iat": now(), "exp": now() + 600,
                  "gen": gen}
        token = jwt.encode(claims, KEY, algorithm="HS256")
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (gen, response.text)


def test_a_401_says_why_in_the_callers_language(client, world):
    zh = {"Accept-Language": "zh-CN"}
    expired = {"sub": str(world.users["firm2"].id), "role": "firm", "iat": now() - 7200,
               "exp": now() - 3600}
    cases = [
        ({}, "请先登录"),
        ({"Authorization": f"Bearer {jwt.encode(expired, KEY, algorithm='HS256')}"},
         "登录已过期，请重新登录。"),
        ({"Authorization": "Bearer not-a-token"}, "登录令牌无效，请重新登录。"),
    ]
    for headers, words in cases:
        response = client.get("/api/v1/me", headers={**headers, **zh})
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
        assert words in response.json()["detail"], response.json()
    here = _sign_in(client, "demo-firm2", "0123456789")
    assert client.post("/api/v1/me/password", headers=here, json={
        "current_password": "0123456789", "new_password": NEW}).status_code == 200
    ended = client.get("/api/v1/me", headers={**world.auth("firm2"), **zh})
    assert ended.json()["detail"] == "本次登录后密码已修改或重置，请重新登录。"
    wrong = client.post("/api/v1/auth/token", headers=zh,
                        data={"username": "demo-firm2", "password": "not-the-password"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "用户名或密码错误。"
    # Without a language asked for, the service's own English words, as before.
    english = client.get("/api/v1/me", headers=world.auth("firm2"))
    assert "signed before the password was last changed" in english.json()["detail"]
