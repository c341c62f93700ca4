"""Voucher applications and passwords over HTTP: apply, refuse, approve, reset, change."""

from __future__ import annotations

from api_helpers import application_files, window_open_today

from ledger.core.db import transaction
from ledger.core.oplog import Operation

API = "/api/v1"
P = "LN-CXQ-2026"


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _programme(client, world, app, tmp_path):
    app.state.policies = window_open_today(tmp_path)
    op = world.auth("operator")
    _ok(client.post(f"{API}/programs", headers=op, json={
        "code": P, "name": "辽宁省科技创新券2026", "fiscal_year": 2026, "policy": "LN-CXQ"}), 201)
    _ok(client.post(f"{API}/programs/{P}/appropriations", headers=op,
                    json={"amount": "1000000.00"}), 201)


def _apply(client, world, amount="100000", who="firm", kinds=("business_licence", "plan")):
    return client.post(f"{API}/applications", headers=world.auth(who),
                       data={"program": P, "amount": amount}, files=application_files(kinds))


def test_firm_applies_approver_approves_firm_sees_its_voucher(client, world, app, tmp_path):
    _programme(client, world, app, tmp_path)
    applied = _ok(_apply(client, world), 201)
    assert (applied["status"], applied["window"], applied["amount"]) == ("applied", "now",
                                                                       "100000.00")
    assert applied["decision"]["allowed"] is True
    queue = _ok(client.get(f"{API}/applications", headers=world.auth("approver"),
                           params={"status": "applied"}))
    assert [a["id"] for a in queue["items"]] == [applied["id"]]
    plan = client.get(f"{API}/applications/{applied['id']}/documents/plan",
                      headers=world.auth("approver"))
    assert plan.content.startswith(b"%PDF") and plan.headers["x-content-sha256"]
    approved = _ok(client.post(f"{API}/applications/{applied['id']}/approve",
                               headers=world.auth("approver"), json={"reason": "材料齐全"}))
    assert approved["status"] == "approved" and approved["voucher_serial"] == "V000001"
    voucher = _ok(client.get(f"{API}/vouchers/{approved['voucher_id']}",
                             headers=world.auth("firm")))
    assert (voucher["serial"], voucher["available"]) == ("V000001", "100000.00")
    mine = _ok(client.get(f"{API}/applications", headers=world.auth("firm")))
    assert [a["status"] for a in mine["items"]] == ["approved"]
    assert _ok(client.get(f"{API}/applications", headers=world.auth("firm2")))["total"] == 0
    with transaction(app.state.reader) as s:
        actions = [o.action for o in s.query(Operation).order_by(Operation.id)]
    assert actions[-2:] == ["applications.apply", "applications.approve"]


def test_refusals_are_coded_traced_and_kept(client, world, app, tmp_path):
    _programme(client, world, app, tmp_path)
    over = _apply(client, world, amount="150000")
    assert over.status_code == 422
    problem = over.json()
    assert problem["code"] == "amount_not_allowed"
    assert any(t["rule"] == "application.amount" and t["outcome"] == "fail"
               for t in problem["decision"]["trace"])
    kept = _ok(client.get(f"{API}/applications/{problem['application_id']}",
                          headers=world.auth("firm")))
    assert (kept["status"], kept["code"]) == ("refused", "amount_not_allowed")
    missing = _apply(client, world, kinds=("business_licence",))
    assert missing.json()["code"] == "documents_missing"
    _ok(_apply(client, world), 201)
    assert _apply(client, world).json()["code"] == "already_applied"
    ineligible = _apply(client, world, who="firm2")
    assert ineligible.status_code == 201  # firm 2 is registered for 2026
    not_pdf = client.post(f"{API}/applications", headers=world.auth("firm"),
                          data={"program": P, "amount": "50000"},
                          files={"business_licence": ("x.txt", b"hello", "text/plain")})
    assert (not_pdf.status_code, not_pdf.json()["code"]) == (422, "evidence_type")
    assert not_pdf.json()["field"] == "business_licence"
    with transaction(app.state.reader) as s:
        refused = [o.code for o in s.query(Operation).filter(Operation.outcome == "refused")]
    assert refused == ["amount_not_allowed", "documents_missing", "already_applied",
                       "evidence_type"]


def test_reject_needs_a_reason_and_frees_the_window(client, world, app, tmp_path):
    _programme(client, world, app, tmp_path)
    applied = _ok(_apply(client, world), 201)
    blank = client.post(f"{API}/applications/{applied['id']}/reject",
                        headers=world.auth("approver"), json={"reason": ""})
    assert blank.status_code == 422
    rejected = _ok(client.post(f"{API}/applications/{applied['id']}/reject",
                               headers=world.auth("approver"), json={"reason": "计划书过简"}))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "计划书过简")
    twice = client.post(f"{API}/applications/{applied['id']}/approve",
                        headers=world.auth("approver"), json={})
    assert (twice.status_code, twice.json()["code"]) == (409, "application_rejected")
    _ok(_apply(client, world, amount="50000"), 201)


def _sign_in(client, username, password):
    return client.post(f"{API}/auth/token", data={"username": username, "password": password})


def test_password_change_and_reset(client, world):
    firm2 = world.auth("firm2")
    wrong = client.post(f"{API}/me/password", headers=firm2, json={
        "current_password": "not-the-password", "new_password": "brand-new-password"})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
    short = client.post(f"{API}/me/password", headers=firm2, json={
        "current_password": "0123456789", "new_password": "short"})
    assert short.status_code == 422
    _ok(client.post(f"{API}/me/password", headers=firm2, json={
        "current_password": "0123456789", "new_password": "brand-new-password"}))
    assert _sign_in(client, "demo-firm2", "0123456789").status_code == 401
    _ok(_sign_in(client, "demo-firm2", "brand-new-password"))

    user_id = world.users["firm2"].id
    reset = _ok(client.post(f"{API}/users/{user_id}/reset-password",
                            headers=world.auth("operator")))
    one_time = reset["one_time_password"]
    assert len(one_time) == 16
    token = _ok(_sign_in(client, "demo-firm2", one_time))["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    blocked = client.get(f"{API}/vouchers", headers=headers)
    assert (blocked.status_code, blocked.json()["code"]) == (403, "password_change_required")
    assert _ok(client.get(f"{API}/me", headers=headers))["must_change_password"] is True
    _ok(client.post(f"{API}/me/password", headers=headers, json={
        "current_password": one_time, "new_password": "chosen-by-the-firm"}))
    _ok(client.get(f"{API}/vouchers", headers=headers))
    staff = client.post(f"{API}/users/{world.users['approver'].id}/reset-password",
                        headers=world.auth("operator"))
    assert (staff.status_code, staff.json()["code"]) == (403, "staff_reset_refused")
    with transaction(client.app.state.reader) as s:
        logged = [(o.action, o.outcome) for o in s.query(Operation).order_by(Operation.id)
                  if o.action in ("users.change_password", "users.reset_password")]
    # The too-short password is refused by the request's schema, before any service runs.
    assert logged == [("users.change_password", "refused"), ("users.change_password", "done"),
                      ("users.reset_password", "done"), ("users.change_password", "done"),
                      ("users.reset_password", "refused")]


def test_applications_search_by_firm_name_code_voucher_serial_and_number(
        client, world, app, tmp_path):
    from sqlalchemy import select

    from ledger.registry.firms import Firm

    _programme(client, world, app, tmp_path)
    mine = _ok(_apply(client, world), 201)
    other = _ok(_apply(client, world, who="firm2"), 201)
    approved = _ok(client.post(f"{API}/applications/{mine['id']}/approve",
                               headers=world.auth("approver"), json={"reason": "材料齐全"}))
    with transaction(app.state.reader) as s:
        names = dict(s.execute(select(Firm.id, Firm.name).where(Firm.id.in_((1, 2)))).all())
        codes = dict(s.execute(select(Firm.id, Firm.credit_code)
                               .where(Firm.id.in_((1, 2)))).all())

    def found(who, q):
        page = _ok(client.get(f"{API}/applications", headers=world.auth(who), params={"q": q}))
        assert page["total"] == len(page["items"])
        return [a["id"] for a in page["items"]]

    assert found("approver", names[2][:3]) == [other["id"]]
    assert found("approver", codes[1][:10].lower()) == [mine["id"]]
    assert found("approver", approved["voucher_serial"]) == [mine["id"]]
    assert found("approver", "V") == [mine["id"]]
    assert found("approver", str(other["id"])) == [other["id"]]
    assert found("approver", "%") == [] and found("approver", "_") == []
    # A firm's search stays inside its own applications.
    assert found("firm", names[2][:3]) == [] and found("firm2", names[2][:3]) == [other["id"]]
    long = client.get(f"{API}/applications", headers=world.auth("approver"),
                      params={"q": "x" * 65})
    assert long.status_code == 422
