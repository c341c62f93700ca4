"""The authorization matrix: every route for every role, and without a valid token.

The firm user is bound to firm 1 and firm2 to firm 2; provider to provider 1, provider2 to 2.
A record that is not yours is 404 (never 403), so ids cannot be probed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_helpers import (
    application_files,
    bad_tokens,
    credit_code,
    firm_body,
    window_open_today,
)

from ledger.core.acting import today

WHO = ("operator", "approver", "auditor", "firm", "provider", "firm2", "provider2")
_numbers = itertools.count(100)


@dataclass(frozen=True)
class Route:
    """A request and the status each caller should get."""

    method: str
    path: str
    expect: dict[str, int]
    body: Callable[[], dict[str, Any]] | None = None
    upload: bool = False
    # A multipart request: form fields and files (the claim with its evidence).
    form: dict[str, Any] | None = None
    files: Callable[[], dict[str, Any]] | None = None


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(WHO, status)


def only_operator(status: int) -> dict[str, int]:
    return {**everyone(403), "operator": status}


BUREAU = {"operator": 200, "approver": 200, "auditor": 200}
CSV = ("credit_code,name,city,district,size_class,legal_rep\n"
       "{code},盘锦石油装备有限公司,盘锦,兴隆台区,small,冯\n")

ROUTES = [
    Route("GET", "/api/v1/me", everyone(200)),
    Route("GET", "/api/v1/firms", {**BUREAU, "firm": 200, "firm2": 200, "provider": 403,
                                   "provider2": 403}),
    Route("GET", "/api/v1/firms/1", {**BUREAU, "firm": 200, "firm2": 404, "provider": 404,
                                     "provider2": 404}),
    Route("GET", "/api/v1/firms/2", {**BUREAU, "firm": 404, "firm2": 200, "provider": 404,
                                     "provider2": 404}),
    Route("GET", "/api/v1/firms/999", {**everyone(404)}),
    Route("POST", "/api/v1/firms", only_operator(201), lambda: firm_body(next(_numbers))),
    Route("POST", "/api/v1/firms/1/status", only_operator(200),
          lambda: {"status": "suspended", "reason": "audit"}),
    Route("POST", "/api/v1/firms/1/certifications", only_operator(201),
          lambda: {"kind": "unicorn", "year": 2026, "certified_on": "2026-05-01"}),
    Route("POST", "/api/v1/firms:import", only_operator(200), upload=True),
    Route("GET", "/api/v1/providers", {**BUREAU, "provider": 200, "provider2": 200, "firm": 403,
                                       "firm2": 403}),
    Route("GET", "/api/v1/providers/1", {**BUREAU, "provider": 200, "provider2": 404,
                                         "firm": 404, "firm2": 404}),
    Route("GET", "/api/v1/providers/2", {**BUREAU, "provider": 404, "provider2": 200,
                                         "firm": 404, "firm2": 404}),
    Route("POST", "/api/v1/providers", only_operator(201),
          lambda: firm_body(next(_numbers), categories=[
              {"category": "testing", "registered_on": "2026-01-05"}])),
    Route("POST", "/api/v1/providers/1/status", only_operator(200),
          lambda: {"status": "active"}),
    Route("POST", "/api/v1/providers/1/categories", only_operator(201),
          lambda: {"category": "rd_design", "registered_on": "2026-02-01"}),
    Route("DELETE", "/api/v1/providers/1/categories/testing", only_operator(200)),
    Route("POST", "/api/v1/providers:import", only_operator(200), upload=True),
    Route("GET", "/api/v1/users", {**everyone(403), **BUREAU}),
    Route("POST", "/api/v1/users", only_operator(201),
          lambda: {"username": f"firm-user-{next(_numbers)}", "password": "0123456789",
                   "role": "firm", "firm_id": 3}),
    Route("GET", "/api/v1/operations", {**everyone(403), "auditor": 200}),
    Route("GET", "/api/v1/sign-in-locks", {**everyone(403), "operator": 200, "auditor": 200}),
    Route("DELETE", "/api/v1/sign-in-locks/999", only_operator(404)),
    # No journal in this world: the bureau is told the programme does not exist.
    Route("GET", "/api/v1/reports/certificate.pdf?program=LN-CXQ-2025",
          {**everyone(403), "operator": 404, "approver": 404, "auditor": 404}),
    Route("GET", "/api/v1/reports/audit.pdf?program=LN-CXQ-2025",
          {**everyone(403), "operator": 404, "approver": 404, "auditor": 404}),
    # A firm reaches its own statement (then: no such programme); another's is 404.
    Route("GET", "/api/v1/reports/firm-statement.pdf?program=LN-CXQ-2025&firm_id=1",
          {**everyone(404), "provider": 403, "provider2": 403}),
    Route("GET", "/api/v1/reports/provider-statement.pdf?program=LN-CXQ-2025&provider_id=2",
          {**everyone(404), "firm": 403, "firm2": 403}),
]


def call(client, route: Route, headers: dict[str, str]):
    if route.files is not None:
        return client.request(route.method, route.path, headers=headers, data=route.form,
                              files=route.files())
    if route.upload:
        data = CSV.format(code=credit_code(next(_numbers))).encode()
        return client.request(route.method, route.path, headers=headers,
                              files={"file": ("x.csv", data, "text/csv")})
    body = route.body() if route.body else None
    return client.request(route.method, route.path, headers=headers, json=body)


def test_every_route_for_every_role(client, world):
    wrong = []
    for route in ROUTES:
        for who in WHO:
            response = call(client, route, world.auth(who))
            if response.status_code != route.expect[who]:
                wrong.append((route.method, route.path, who, response.status_code,
                              response.text[:200]))
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []


P = "LN-CXQ-2026"
PDF = b"%PDF-1.7\n" + b"x" * 32
_programmes = itertools.count(1)


def some(status: int, **others: int) -> dict[str, int]:
    return {**everyone(403), **others} if status == 403 else {**everyone(status), **others}


def _evidence() -> dict[str, Any]:
    return {k: (f"{k}.pdf", PDF + k.encode(), "application/pdf")
            for k in ("contract", "invoice", "service_report")}


def _voucher_csv() -> dict[str, Any]:
    return {"file": ("v.csv", b"credit_code,amount\n91210100MA0Y7K3N5H,100\n", "text/csv")}


def _confirmation() -> dict[str, Any]:
    text = "line,amount_yuan,reference,value_date\n1,500.00,CMB0002,2026-06-01\n"
    return {"file": ("bank.csv", text.encode(), "text/csv")}


# The firm's authorisations, filled in by _voucher_world: the codes are random.
GRANTS: dict[str, str] = {}


OWN_FIRM = {**BUREAU, "firm": 200, "firm2": 404, "provider": 404, "provider2": 404}
OWN_PROVIDER = {**BUREAU, "provider": 200, "provider2": 404, "firm": 404, "firm2": 404}
# In order: each mutation leaves the state the next one needs (see _voucher_world).
VOUCHER_ROUTES = [
    Route("GET", "/api/v1/programs", everyone(200)),
    Route("GET", f"/api/v1/programs/{P}", everyone(200)),
    Route("POST", "/api/v1/programs", only_operator(201),
          lambda: {"code": f"P-{next(_programmes)}", "name": "试点", "fiscal_year": 2026,
                   "policy": "LN-CXQ"}),
    Route("POST", f"/api/v1/programs/{P}/appropriations", only_operator(201),
          lambda: {"amount": "100.00"}),
    Route("GET", f"/api/v1/programs/{P}/budget", {**everyone(403), **BUREAU}),
    Route("POST", f"/api/v1/programs/{P}/expire", only_operator(200), lambda: {}),
    Route("POST", "/api/v1/vouchers", only_operator(201),
          lambda: {"program": P, "firm_id": 1, "amount": "100"}),
    Route("POST", f"/api/v1/programs/{P}/vouchers:import", only_operator(200),
          files=_voucher_csv),
    Route("GET", "/api/v1/vouchers", {**BUREAU, "firm": 200, "firm2": 200, "provider": 403,
                                      "provider2": 403}),
    Route("GET", "/api/v1/vouchers/1", OWN_FIRM),
    Route("GET", "/api/v1/vouchers/1/history", OWN_FIRM),
    Route("GET", "/api/v1/provider-directory", everyone(200)),
    # Authorisation 3 (open, naming provider 1) was granted by _voucher_world; this makes 4.
    Route("POST", "/api/v1/authorisations", some(403, firm=201, firm2=404),
          lambda: {"voucher": "V000001", "provider_credit_code": GRANTS["provider_code"]}),
    Route("GET", "/api/v1/authorisations", everyone(200)),
    Route("GET", "/api/v1/authorisations/3", {**OWN_FIRM, "provider": 200}),
    Route("POST", "/api/v1/authorisations/4/withdraw", some(403, firm=200, firm2=404)),
    # Only the named provider books with it; another provider is told it is not theirs.
    Route("POST", "/api/v1/redemptions",
          some(403, provider=201, provider2=403),
          lambda: {"voucher": "V000001", "authorisation": GRANTS["open"],
                   "category": "testing", "cost": "100"}),
    Route("GET", "/api/v1/redemptions", everyone(200)),
    Route("GET", "/api/v1/redemptions/1", {**OWN_PROVIDER, "firm": 200}),
    Route("POST", "/api/v1/redemptions/1/complete", some(403, provider=200, provider2=404),
          lambda: {}),
    Route("POST", "/api/v1/redemptions/1/confirm", some(403, firm=200, firm2=404)),
    # The confirm above went first: the firm reaches the service, which refuses (409).
    Route("POST", "/api/v1/redemptions/1/dispute", some(403, firm=409, firm2=404),
          lambda: {"reason": "服务未按约定完成"}),
    Route("POST", "/api/v1/redemptions/2/cancel",
          some(403, operator=200, provider=409, provider2=404)),
    Route("POST", "/api/v1/claims", some(403, provider=201, provider2=404),
          form={"redemption_id": "1"}, files=_evidence),
    Route("GET", "/api/v1/claims", {**BUREAU, "provider": 200, "provider2": 200, "firm": 403,
                                    "firm2": 403}),
    Route("GET", "/api/v1/claims/1", OWN_PROVIDER),
    Route("GET", "/api/v1/claims/1/evidence/contract", OWN_PROVIDER),
    Route("POST", "/api/v1/claims/1/approve", some(403, approver=200), lambda: {}),
    Route("POST", "/api/v1/claims/1/reject", some(403, approver=409), lambda: {"reason": "x"}),
    Route("GET", f"/api/v1/payments/payable?program={P}", {**everyone(403), **BUREAU}),
    Route("POST", "/api/v1/payments", only_operator(201), lambda: {"program": P}),
    Route("GET", "/api/v1/payments", {**everyone(403), **BUREAU}),
    Route("GET", "/api/v1/payments/1", {**everyone(403), **BUREAU}),
    # Before release the bank file is refused (409) to the bureau alike.
    Route("GET", "/api/v1/payments/1/bank-file.csv",
          {**everyone(403), "operator": 409, "approver": 409, "auditor": 409}),
    Route("POST", "/api/v1/payments/1/release", some(403, approver=200)),
    # Released by the route above: the bureau's makers reach the service, which refuses.
    Route("POST", "/api/v1/payments/1/cancel", some(403, operator=409, approver=409),
          lambda: {"reason": "选错了明细"}),
    Route("GET", "/api/v1/payments/1/bank-file.csv", {**everyone(403), **BUREAU}),
    Route("GET", "/api/v1/payments/1/bank-file.xlsx", {**everyone(403), **BUREAU}),
    Route("POST", "/api/v1/payments/1/paid", only_operator(200),
          lambda: {"reference": "CMB0001", "value_date": "2026-06-01"}),
    # Paid by the route above: the operator reaches the service, which refuses.
    Route("POST", "/api/v1/payments/1/confirmation", some(403, operator=409),
          files=_confirmation),
    Route("POST", "/api/v1/payments/1/returns", only_operator(200),
          lambda: {"line": 1, "amount": "500.00", "reason": "账户已销户"}),
    Route("GET", "/api/v1/payments/1/reconciliation", {**everyone(403), **BUREAU}),
    Route("POST", "/api/v1/providers/1/bank-account", only_operator(200),
          lambda: {"bank_name": "中国银行沈阳分行", "bank_account": "6222000011112222"}),
    Route("POST", "/api/v1/firms/1/bank-account", only_operator(200),
          lambda: {"bank_name": "中国银行沈阳分行", "bank_account": "6222000011113333"}),
    Route("POST", "/api/v1/redemptions/1/clawback", some(403, approver=200),
          lambda: {"reason": "虚假服务"}),
    Route("GET", "/api/v1/journal", {**everyone(403), **BUREAU}),
    Route("GET", f"/api/v1/accounts/{P}:paid/balance", {**everyone(403), **BUREAU}),
    Route("GET", "/api/v1/ledger/verify", {**everyone(403), **BUREAU}),
]


def _voucher_world(client, world) -> None:
    """Programme P with budget, voucher 1 of firm 1, redemptions 1 and 2 booked on it with
    authorisations 1 and 2; authorisation 3 open for provider 1."""
    op, prov = world.auth("operator"), world.auth("provider")
    for path, body in ((("/api/v1/programs"), {"code": P, "name": "创新券", "fiscal_year": 2026,
                                                "policy": "LN-CXQ"}),
                       (f"/api/v1/programs/{P}/appropriations", {"amount": "100000"})):
        assert client.post(path, headers=op, json=body).status_code == 201
    assert client.post("/api/v1/vouchers", headers=op, json={
        "program": P, "firm_id": 1, "amount": "10000"}).status_code == 201
    GRANTS["provider_code"] = client.get("/api/v1/providers/1", headers=op).json()["credit_code"]
    codes = []
    for _ in range(3):
        granted = client.post("/api/v1/authorisations", headers=world.auth("firm"), json={
            "voucher": "V000001", "provider_credit_code": GRANTS["provider_code"]})
        assert granted.status_code == 201
        codes.append(granted.json()["code"])
    for code in codes[:2]:
        assert client.post("/api/v1/redemptions", headers=prov, json={
            "voucher": "V000001", "authorisation": code, "category": "testing",
            "cost": "1000"}).status_code == 201
    GRANTS["open"] = codes[2]


def test_every_voucher_route_for_every_role(client, world):
    _voucher_world(client, world)
    wrong = []
    for route in VOUCHER_ROUTES:
        for who in WHO:
            response = call(client, route, world.auth(who))
            if response.status_code != route.expect[who]:
                wrong.append((route.method, route.path, who, response.status_code,
                              response.text[:200]))
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []


A = "LN-AWARD-2026"
# Certified a month ago: new enough for the award policy's window whatever today is.
CERTIFIED = (today() - dt.timedelta(days=30)).isoformat()
OWN_AWARD = {**BUREAU, "firm": 200, "firm2": 404, "provider": 404, "provider2": 404}
AWARD_LISTS = {**BUREAU, "firm": 200, "firm2": 200, "provider": 403, "provider2": 403}
_documents = itertools.count(1)
# In order, on _award_world: award 1 is firm 1's own application; the operator's POST makes
# award 2 (firm 2's gazelle), which firm2's own application then duplicates (refused).
AWARD_ROUTES = [
    Route("GET", "/api/v1/awards", AWARD_LISTS),
    Route("GET", "/api/v1/awards/totals", AWARD_LISTS),
    Route("GET", "/api/v1/awards/1", OWN_AWARD),
    Route("POST", "/api/v1/awards", some(403, operator=201, firm=404, firm2=422),
          lambda: {"program": A, "firm_id": 2, "tier": "gazelle", "level": "provincial",
                   "document_no": f"辽科发〔2026〕{next(_documents)}号",
                   "certified_on": CERTIFIED}),
    Route("POST", "/api/v1/awards/1/approve", some(403, approver=200), lambda: {}),
    Route("POST", "/api/v1/awards/2/reject", some(403, approver=200), lambda: {"reason": "x"}),
    # 公示: award 1 (approved) is published today; an objection is recorded and dismissed.
    Route("POST", "/api/v1/award-publications", only_operator(201), lambda: {"program": A}),
    Route("GET", "/api/v1/award-publications", {**everyone(403), **BUREAU}),
    Route("GET", "/api/v1/award-publications/1", {**everyone(403), **BUREAU}),
    Route("POST", "/api/v1/award-publications/1/objections", only_operator(201),
          lambda: {"award_id": 1, "raised_by": "某单位", "text": "异议"}),
    Route("POST", "/api/v1/award-objections/1/decide", some(403, approver=200),
          lambda: {"decision": "dismissed", "reason": "不成立"}),
    Route("POST", "/api/v1/awards/1/clawback", only_operator(200),
          lambda: {"reason": "认定撤销"}),
]


def _award_world(client, world) -> None:
    """Award programme A with budget; award 1: firm 1's own unicorn application."""
    op = world.auth("operator")
    for path, body in (("/api/v1/programs", {"code": A, "name": "奖励", "fiscal_year": 2026,
                                              "policy": "LN-AWARD"}),
                       (f"/api/v1/programs/{A}/appropriations", {"amount": "10000000"})):
        assert client.post(path, headers=op, json=body).status_code == 201
    assert client.post("/api/v1/awards", headers=world.auth("firm"), json={
        "program": A, "tier": "unicorn", "level": "provincial", "document_no": "辽科发〔2026〕0号",
        "certified_on": CERTIFIED}).status_code == 201


def test_every_award_route_for_every_role(client, world):
    _award_world(client, world)
    wrong = []
    for route in AWARD_ROUTES:
        for who in WHO:
            response = call(client, route, world.auth(who))
            if response.status_code != route.expect[who]:
                wrong.append((route.method, route.path, who, response.status_code,
                              response.text[:200]))
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []


# In order, on _application_world: application 1 is firm 1's, pending. The firm's second
# application is refused (kept as application 2); firm2's is application 3.
APPLICATION_ROUTES = [
    Route("GET", "/api/v1/applications", AWARD_LISTS),
    Route("GET", "/api/v1/applications/1", OWN_AWARD),
    Route("GET", "/api/v1/applications/1/documents/plan", OWN_AWARD),
    Route("POST", "/api/v1/applications", some(403, firm=422, firm2=201),
          form={"program": P, "amount": "50000"}, files=application_files),
    Route("POST", "/api/v1/applications/1/approve", some(403, approver=200), lambda: {}),
    Route("POST", "/api/v1/applications/3/reject", some(403, approver=200),
          lambda: {"reason": "材料不全"}),
    # Only the users whose password is 0123456789 (firm2, provider2) name it rightly.
    Route("POST", "/api/v1/me/password", some(403, firm2=200, provider2=200),
          lambda: {"current_password": "0123456789", "new_password": "a-new-password-2026"}),
    # User 5 is demo-provider (see _application_world); a staff user is refused (CLI only).
    # The operator goes first: the reset ends demo-provider's token, refused from then on.
    Route("POST", "/api/v1/users/5/reset-password", {**only_operator(200), "provider": 401}),
    Route("POST", "/api/v1/users/1/reset-password", {**only_operator(403), "provider": 401}),
    # Last: every role signs out, and its token is refused from then on.
    Route("POST", "/api/v1/auth/sign-out", {**everyone(200), "provider": 401}),
]


def _application_world(client, world, app, tmp_path) -> None:
    """Programme P with budget, the window open today; application 1 is firm 1's."""
    app.state.policies = window_open_today(tmp_path)
    assert world.users["provider"].id == 5 and world.users["operator"].id == 1
    op = world.auth("operator")
    for path, body in ((("/api/v1/programs"), {"code": P, "name": "创新券", "fiscal_year": 2026,
                                                "policy": "LN-CXQ"}),
                       (f"/api/v1/programs/{P}/appropriations", {"amount": "1000000"})):
        assert client.post(path, headers=op, json=body).status_code == 201
    assert client.post("/api/v1/applications", headers=world.auth("firm"),
                       data={"program": P, "amount": "100000"},
                       files=application_files()).status_code == 201


def test_every_application_and_password_route_for_every_role(client, world, app, tmp_path):
    _application_world(client, world, app, tmp_path)
    wrong = []
    for route in APPLICATION_ROUTES:
        for who in WHO:
            response = call(client, route, world.auth(who))
            if response.status_code != route.expect[who]:
                wrong.append((route.method, route.path, who, response.status_code,
                              response.text[:200]))
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []


@pytest.mark.parametrize("route", ROUTES + VOUCHER_ROUTES + AWARD_ROUTES + APPLICATION_ROUTES,
                         ids=lambda r: f"{r.method} {r.path}")
def test_every_route_refuses_missing_and_bad_tokens(client, world, route):
    assert call(client, route, {}).status_code == 401
    for name, token in bad_tokens(world).items():
        response = call(client, route, {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name


def _template(path: str) -> str:
    path = re.sub(r"/\d+", "/{id}", path)
    path = re.sub(r"/reports/[a-z-]+\.pdf\?.*", "/reports/{kind}.pdf", path)
    path = path.split("?")[0] if "/payments/" in path else path
    path = re.sub(r"\{[a-z]+_id\}", "{id}", path)
    path = path.replace(f"{P}:paid", "{code}").replace(P, "{code}").replace(A, "{code}")
    path = path.replace("/evidence/contract", "/evidence/{kind}")
    path = path.replace("/documents/plan", "/documents/{kind}")
    return path.replace("/categories/testing", "/categories/{category}")


def test_the_matrix_covers_every_operation(app):
    documented = {(m.upper(), _template(p)) for p, item in app.openapi()["paths"].items()
                  for m in item}
    public = {("POST", "/api/v1/auth/token"), ("GET", "/api/v1/health"), ("GET", "/api/v1/ready")}
    assert documented - public == {(r.method, _template(r.path))
                                   for r in ROUTES + VOUCHER_ROUTES + AWARD_ROUTES
                                   + APPLICATION_ROUTES}


def test_a_firm_lists_only_itself_and_sees_its_bank_account_masked(client, world):
    mine = client.get("/api/v1/firms", headers=world.auth("firm")).json()
    assert [f["id"] for f in mine["items"]] == [1] and mine["total"] == 1
    assert mine["items"][0]["bank_account"].startswith("****")
    theirs = client.get("/api/v1/firms", headers=world.auth("firm2")).json()
    assert [f["id"] for f in theirs["items"]] == [2]
    full = client.get("/api/v1/firms/1", headers=world.auth("auditor")).json()
    assert full["bank_account"].isdigit()
    assert full["bank_account"][-4:] == mine["items"][0]["bank_account"][-4:]


def test_a_provider_lists_only_itself(client, world):
    mine = client.get("/api/v1/providers?limit=100", headers=world.auth("provider")).json()
    assert [p["id"] for p in mine["items"]] == [1]
    assert "*" in mine["items"][0]["bank_account"]
    theirs = client.get("/api/v1/providers", headers=world.auth("provider2")).json()
    assert [p["id"] for p in theirs["items"]] == [2]


def test_a_missing_and_a_hidden_record_look_the_same(client, world):
    hidden = client.get("/api/v1/firms/2", headers=world.auth("firm")).json()
    missing = client.get("/api/v1/firms/999", headers=world.auth("firm")).json()
    assert hidden["status"] == missing["status"] == 404
    assert hidden["code"] == missing["code"] == "not_found"


def test_staff_accounts_cannot_be_created_over_http(client, world):
    response = client.post("/api/v1/users", headers=world.auth("operator"), json={
        "username": "puppet", "password": "0123456789", "role": "approver"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"
