"""Sign-in, the session cookie, CSRF, sign-out, expiry and who may see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console_helpers import KEY, csrf_of, sign_in
from fastapi.testclient import TestClient

from api.auth import TokenSettings, issue_token
from api.console.session import ANON_COOKIE, SESSION_COOKIE
from ledger.core.db import transaction
from ledger.registry.users import find_user


def test_a_signed_out_user_is_sent_to_sign_in_with_the_page_wanted(client, world):
    response = client.get("/firm/awards?status=paid", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Ffirm%2Fawards%3Fstatus%3Dpaid"
    response = sign_in(client, "demo-firm", next_url="/firm/awards?status=paid")
    assert response.headers["location"] == "/firm/awards?status=paid"


def test_sign_in_sets_an_httponly_strict_session_cookie(client, world):
    response = sign_in(client, "demo-firm")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=1800" in cookie
    assert client.get("/", follow_redirects=False).headers["location"] == "/firm"


def test_sign_in_refuses_a_wrong_password_and_keeps_the_username(client, world):
    token = csrf_of(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"csrf_token": token, "username": "demo-firm",
                                             "password": "not-the-password", "next": "/"})
    assert response.status_code == 401
    assert 'value="demo-firm"' in response.text and "not-the-password" not in response.text
    assert 'data-code="not_authenticated"' in response.text and "用户名或密码错误" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_a_post_without_its_csrf_token_is_refused(client, world):
    page = client.get("/sign-in")
    assert ANON_COOKIE in page.cookies
    refused = client.post("/sign-in", data={"username": "demo-firm",
                                            "password": "demo-firm-2026"})
    assert refused.status_code == 403 and 'data-code="csrf_failed"' in refused.text
    assert SESSION_COOKIE not in refused.cookies
    sign_in(client, "demo-firm")
    # Signed in, the token changes with the session: the anonymous one no longer counts.
    stale = csrf_of(page.text)
    assert client.post("/sign-out", data={"csrf_token": stale}).status_code == 403
    assert client.post("/sign-out", data={}).status_code == 403
    assert client.get("/firm").status_code == 200


def test_sign_out_ends_the_session(client, world):
    sign_in(client, "demo-firm")
    token = csrf_of(client.get("/firm").text)
    response = client.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert client.get("/firm", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_token_not_only_the_cookie(app, client, world):
    sign_in(client, "demo-firm")
    copied = client.cookies[SESSION_COOKIE]
    elsewhere = TestClient(app, base_url="http://testserver")
    sign_in(elsewhere, "demo-firm")
    token = csrf_of(client.get("/firm").text)
    client.post("/sign-out", data={"csrf_token": token})
    # A copy of the signed-out cookie (a stolen one, another tab) no longer opens a page,
    # nor does the same token sent to the API; the user's other session goes on.
    client.cookies.set(SESSION_COOKIE, copied)
    assert client.get("/firm", follow_redirects=False).headers["location"].startswith(
        "/sign-in")
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {copied}",
                                                "Accept-Language": "zh-CN"})
    assert refused.status_code == 401 and refused.json()["detail"] == "本次登录已退出，请重新登录。"
    assert elsewhere.get("/firm").status_code == 200
    # Signing in again opens a new session.
    sign_in(client, "demo-firm")
    assert client.get("/firm").status_code == 200


def test_an_expired_session_is_sent_to_sign_in(client, sessions, world):
    with transaction(sessions) as s:
        user = find_user(s, "demo-firm")
    assert user is not None
    old = issue_token(TokenSettings(KEY, 30), user, now=datetime.now(UTC) - timedelta(hours=1))
    client.cookies.set(SESSION_COOKIE, old)
    response = client.get("/firm", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]


def test_a_firm_opening_another_firms_voucher_gets_404(client, world):
    sign_in(client, "demo-firm")
    assert client.get(f"/firm/vouchers/{world.voucher}").status_code == 200
    for url in (f"/firm/vouchers/{world.other_voucher}", "/firm/vouchers/999999",
                "/firm/awards/999999", "/firm/vouchers/0"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert 'data-code="not_found"' in response.text or 'data-code="invalid_input"' in \
            response.text
    # An id past 64 bits is a page that says so, never a crash.
    for url in ("/firm/vouchers/9223372036854775808", "/firm/awards/9223372036854775808"):
        response = client.get(url)
        assert 400 <= response.status_code < 500, url
        assert response.headers["content-type"].startswith("text/html"), url
    csrf = csrf_of(client.get(f"/firm/vouchers/{world.voucher}").text)
    posted = client.post("/firm/redemptions/9223372036854775808/confirm",
                         data={"csrf_token": csrf})
    assert 400 <= posted.status_code < 500


def test_a_role_opening_another_roles_pages_gets_403(client, world):
    sign_in(client, "demo-firm")
    response = client.get("/provider")
    assert response.status_code == 403 and 'data-code="permission_denied"' in response.text


def test_the_approver_and_the_auditor_land_on_their_main_pages(client, world):
    for username, home in (("demo-approver", "/approver"), ("demo-auditor", "/auditor")):
        client.cookies.clear()
        sign_in(client, username)
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == home
