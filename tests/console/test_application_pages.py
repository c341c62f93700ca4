"""The console's voucher applications, award form and passwords, through the HTTP forms."""

from __future__ import annotations

import datetime as dt
import time

from console_helpers import CODE, KEY, PDF, csrf_of, sign_in
from jose import jwt

from api.console.session import SESSION_COOKIE
from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.core.oplog import list_operations
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry import users
from ledger.registry.sign_in_throttle import ThrottlePolicy
from ledger.vouchers import applications as apps

PNG = b"\x89PNG\r\n\x1a\n" + b"z" * 40
DOCS = {"business_licence": ("licence.png", PNG, "image/png"),
        "plan": ("plan.pdf", PDF, "application/pdf")}


def _window_is_open() -> bool:
    # The shipped 2026 file opens its second window on 1 July and closes it on 31 December.
    return dt.date(2026, 7, 1) <= today() <= dt.date(2026, 12, 31)


def _apply(client, amount="100000", files=DOCS):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/firm/applications/new").text)
    return client.post("/firm/applications", follow_redirects=False, files=files,
                       data={"csrf_token": token, "programme": CODE, "amount": amount})


def test_firm_applies_approver_approves_firm_sees_the_voucher(client, sessions, world):
    sign_in(client, "demo-firm")
    form = client.get("/firm/applications/new").text
    if _window_is_open():
        assert 'id="windows"' in form and "2026年第二批" in form and "150,000.00" in form
        done = _apply(client)
        assert done.status_code == 303
        application_id = int(done.headers["location"].rsplit("/", 1)[1])
    else:  # past the shipped window: the form says so, and the service is asked for a day in it
        assert 'id="no-window"' in form
        with transaction(sessions) as s:
            from ledger.core.acting import By
            from ledger.registry.evidence import Upload

            application_id = apps.apply_for_voucher(
                s, CODE, firm_id=1, amount_fen=10_000_000, by=By(4, "demo-firm"),
                on=dt.date(2026, 9, 1), documents=[Upload(k, n, d) for k, (n, d, _) in
                                                   DOCS.items()]).id
    page = client.get(f"/firm/applications/{application_id}").text
    assert "application.documents" in page and 'id="status"' in page
    assert client.get(f"/firm/applications/{application_id}/documents/plan").content == PDF
    client.cookies.clear()
    sign_in(client, "demo-approver")
    assert f'/approver/applications/{application_id}"' in client.get(
        "/approver/applications").text
    review = client.get(f"/approver/applications/{application_id}").text
    done = client.post(f"/approver/applications/{application_id}/approve",
                       data={"csrf_token": csrf_of(review), "reason": "材料齐全"},
                       follow_redirects=False)
    assert done.status_code == 303
    client.cookies.clear()
    sign_in(client, "demo-firm")
    detail = client.get(f"/firm/applications/{application_id}").text
    assert 'id="voucher"' in detail
    with transaction(sessions) as s:
        approved = apps.get_application(s, application_id)
    assert approved.status == "approved"
    assert approved.voucher_serial in client.get("/firm").text


def test_a_refused_application_shows_its_trace_and_is_kept(client, sessions, world):
    sign_in(client, "demo-firm")
    refused = _apply(client, amount="123")
    assert refused.status_code == 422
    code = "amount_not_allowed" if _window_is_open() else "outside_window"
    assert f'data-code="{code}"' in refused.text and 'id="decision"' in refused.text
    with transaction(sessions) as s:
        kept = apps.list_applications(s, limit=5, firm_id=1).items
        logged = list_operations(s, limit=1, object_type="application").items
    assert [(a.status, a.code) for a in kept] == [("refused", code)]
    assert (logged[0].outcome, logged[0].code) == ("refused", code)
    missing = _apply(client, files={"plan": DOCS["plan"]})
    assert missing.status_code == 422


def test_another_firms_application_is_not_found(client, sessions, world):
    from ledger.core.acting import By
    from ledger.registry.evidence import Upload

    with transaction(sessions) as s:
        other = apps.apply_for_voucher(
            s, CODE, firm_id=2, amount_fen=5_000_000, by=By(7, "demo-firm2"),
            on=dt.date(2026, 9, 1), documents=[Upload("business_licence", "l.png", PNG),
                                               Upload("plan", "p.pdf", PDF)])
    sign_in(client, "demo-firm")
    assert client.get(f"/firm/applications/{other.id}").status_code == 404
    assert client.get(f"/firm/applications/{other.id}/documents/plan").status_code == 404


def test_firm_applies_for_an_award_with_its_scan(client, sessions, world):
    with transaction(sessions) as s:
        from ledger.core.acting import By

        create_programme(s, code="LN-AWARD-2026", name="奖励", fiscal_year=2026,
                         policy="LN-AWARD", by=By(1, "demo-operator"))
        appropriate(s, "LN-AWARD-2026", 100_000_000, by=By(1, "demo-operator"))
    sign_in(client, "demo-firm")
    form = client.get("/firm/awards/new").text
    certified = (today() - dt.timedelta(days=30)).isoformat()
    data = {"csrf_token": csrf_of(form), "programme": "LN-AWARD-2026", "tier": "unicorn",
            "level": "provincial", "document_no": "辽科发〔2026〕9号", "certified_on": certified}
    bad = client.post("/firm/awards", data={**data, "certified_on": "yesterday"},
                      follow_redirects=False)
    assert bad.status_code == 422 and 'data-code="invalid_input"' in bad.text
    done = client.post("/firm/awards", data=data, follow_redirects=False,
                       files={"award_certificate": ("cert.pdf", PDF, "application/pdf")})
    assert done.status_code == 303, done.text
    page = client.get(done.headers["location"]).text
    assert "award.new_certification" in page and "cert.pdf" in page
    award_id = done.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/firm/awards/{award_id}/documents/award_certificate").content == PDF
    again = client.post("/firm/awards", data=data, follow_redirects=False)
    assert again.status_code == 409 and 'data-code="already_applied"' in again.text
    client.cookies.clear()
    sign_in(client, "demo-approver")
    assert "cert.pdf" in client.get(f"/approver/awards/{award_id}").text
    assert client.get(f"/approver/awards/{award_id}/documents/award_certificate").content == PDF


def _change(client, current, new, repeat=None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/account").text)
    return client.post("/account/password", follow_redirects=False, data={
        "csrf_token": token, "current_password": current, "new_password": new,
        "repeat_password": new if repeat is None else repeat})


def test_change_my_password(client, sessions, world):
    sign_in(client, "demo-firm2")
    wrong = _change(client, "not-mine-at-all", "a-brand-new-one")
    assert wrong.status_code == 403 and 'data-code="wrong_password"' in wrong.text
    assert "not-mine-at-all" not in wrong.text
    differ = _change(client, "0123456789", "a-brand-new-one", "another-one-here")
    assert differ.status_code == 422 and 'data-code="passwords_differ"' in differ.text
    done = _change(client, "0123456789", "a-brand-new-one")
    assert done.headers["location"] == "/account?changed=1"
    with transaction(sessions) as s:
        assert users.authenticate(s, "demo-firm2", "a-brand-new-one") is not None


def test_wrong_current_passwords_lock_the_account_like_failed_sign_ins(app, client, world):
    app.state.throttle = ThrottlePolicy(account_limit=2)
    sign_in(client, "demo-firm2")
    assert [_change(client, "not-mine-at-all", "a-brand-new-one").status_code
            for _ in range(2)] == [403, 403]
    locked = _change(client, "0123456789", "a-brand-new-one")
    assert locked.status_code == 429 and 'data-code="too_many_attempts"' in locked.text
    assert int(locked.headers["Retry-After"]) > 0
    assert "0123456789" not in locked.text


def test_changing_the_password_here_ends_the_other_sessions(client, world):
    token = client.post("/api/v1/auth/token", data={"username": "demo-firm2",
                                                    "password": "0123456789"})
    elsewhere = {"Authorization": f"Bearer {token.json()['access_token']}"}
    sign_in(client, "demo-firm2")
    assert _change(client, "0123456789", "a-brand-new-one").status_code == 303
    assert client.get("/firm", follow_redirects=False).status_code == 200  # this one stays
    assert client.get("/api/v1/me", headers=elsewhere).status_code == 401


def test_a_copy_of_the_old_cookie_ends_with_the_change_and_the_new_one_with_sign_out(
        client, world):
    sign_in(client, "demo-firm2")
    old = client.cookies[SESSION_COOKIE]
    assert _change(client, "0123456789", "a-brand-new-one").status_code == 303
    bearer = {"Authorization": f"Bearer {old}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    new = client.cookies[SESSION_COOKIE]
    assert new != old and client.get("/firm", follow_redirects=False).status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/firm").text)})
    for token in (old, new):
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401


def test_a_session_signed_before_token_ids_survives_its_own_password_change(client, sessions,
                                                                           world):
    with transaction(sessions) as s:
        user = users.find_user(s, "demo-firm2")
    now = int(time.time())
    # A cookie as the console signed it before migration 0023: no generation, no token id.
    claims = {"sub": str(user.id), "role": "firm", "iat": now, "exp": now + 600}
    client.cookies.set(SESSION_COOKIE, jwt.encode(claims, KEY, algorithm="HS256"))
    assert client.get("/firm", follow_redirects=False).status_code == 200
    assert _change(client, "0123456789", "a-brand-new-one").status_code == 303
    # The change gave the browser a new cookie: still signed in, not sent to sign in.
    assert client.get("/firm", follow_redirects=False).status_code == 200


def test_reset_gives_a_one_time_password_that_must_be_changed(client, sessions, world):
    sign_in(client, "demo-operator")
    listing = client.get("/operator/users?role=firm").text
    with transaction(sessions) as s:
        target = users.find_user(s, "demo-firm2")
        staff = users.find_user(s, "demo-approver")
    assert f"/operator/users/{target.id}/reset-password" in listing
    shown = client.post(f"/operator/users/{target.id}/reset-password",
                        data={"csrf_token": csrf_of(listing)})
    assert shown.status_code == 200
    one_time = shown.text.split('id="one-time-password">')[1].split("<")[0]
    refused = client.post(f"/operator/users/{staff.id}/reset-password",
                          data={"csrf_token": csrf_of(listing)})
    assert refused.status_code == 403 and "staff_reset_refused" in refused.text
    client.cookies.clear()
    token = csrf_of(client.get("/sign-in").text)
    client.post("/sign-in", data={"csrf_token": token, "username": "demo-firm2",
                                  "password": one_time, "next": "/firm"})
    blocked = client.get("/firm", follow_redirects=False)
    assert (blocked.status_code, blocked.headers["location"]) == (303, "/account")
    assert 'id="must-change"' in client.get("/account").text
    assert _change(client, one_time, "the-firms-own-one").status_code == 303
    assert client.get("/firm", follow_redirects=False).status_code == 200
