"""The authorization matrix: every route for every role, and without a valid token.

The firm user is bound to firm 1 and firm2 to firm 2; provider to provider 1, provider2 to 2.
A record that is not yours is 404 (never 403), so ids cannot be probed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_helpers import bad_tokens, credit_code, firm_body

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
    # No journal in this world: the bureau is told the programme does not exist.
    Route("GET", "/api/v1/reports/certificate.pdf?program=LN-CXQ-2025",
          {**everyone(403), "operator": 404, "approver": 404, "auditor": 404}),
]


def call(client, route: Route, headers: dict[str, str]):
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


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_refuses_missing_and_bad_tokens(client, world, route):
    assert call(client, route, {}).status_code == 401
    for name, token in bad_tokens(world).items():
        response = call(client, route, {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name


def _template(path: str) -> str:
    path = re.sub(r"/\d+", "/{id}", path)
    path = path.replace("{firm_id}", "{id}").replace("{provider_id}", "{id}")
    path = path.replace("/categories/testing", "/categories/{category}")
    path = re.sub(r"/reports/[a-z-]+\.pdf\?.*", "/reports/{kind}.pdf", path)
    return path


def test_the_matrix_covers_every_operation(app):
    documented = {(m.upper(), _template(p)) for p, item in app.openapi()["paths"].items()
                  for m in item}
    public = {("POST", "/api/v1/auth/token"), ("GET", "/api/v1/health")}
    assert documented - public == {(r.method, _template(r.path)) for r in ROUTES}


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
