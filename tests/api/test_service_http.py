"""Running as a service: security headers on every kind of response, request ids, readiness,
metrics and field names in validation problems."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ledger.core.db import transaction
from ledger.core.migrations import head_revisions
from ledger.core.oplog import Operation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "api" / "console" / "templates"
# One request of each kind the app answers: JSON, problem, console page, redirect, static
# asset, Swagger page, OpenAPI document, metrics refusal, wrong method.
ROUTE_KINDS = [
    ("GET", "/api/v1/health", 200),
    ("GET", "/api/v1/nothing-here", 404),
    ("GET", "/api/v1/me", 401),
    ("POST", "/api/v1/health", 405),
    ("GET", "/sign-in", 200),
    ("GET", "/", 303),
    ("GET", "/assets/console.css", 200),
    ("GET", "/docs", 200),
    ("GET", "/docs/oauth2-redirect", 200),
    ("GET", "/openapi.json", 200),
    ("GET", "/metrics", 403),
]


@pytest.mark.parametrize("method, path, status", ROUTE_KINDS)
def test_security_headers_on_every_kind_of_response(client, method, path, status):
    response = client.request(method, path, follow_redirects=False)
    assert response.status_code == status
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "server" not in headers
    assert "strict-transport-security" not in headers  # plain HTTP: no HSTS
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_hsts_behind_tls(app):
    with TestClient(app, base_url="https://ledger.example") as tls:
        response = tls.get("/api/v1/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_swagger_page_runs_only_its_hashed_inline_script(client):
    page = client.get("/docs")
    csp = page.headers["content-security-policy"]
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/]+=*'", csp)) == 2
    assert "'sha256-" not in client.get("/sign-in").headers["content-security-policy"]


def test_console_templates_carry_no_inline_script_or_style():
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text) or "<style" in text \
                or re.search(r"\sstyle=|\son[a-z]+=", text):
            offending.append(template.name)
    assert offending == []


def test_a_request_id_is_echoed_and_lands_in_the_operation_log(client, world, sessions):
    response = client.post("/api/v1/auth/token", headers={"X-Request-ID": "req-42.a"},
                           data={"username": "demo-firm", "password": "wrong"})
    assert response.status_code == 401 and response.headers["x-request-id"] == "req-42.a"
    odd = client.get("/api/v1/health", headers={"X-Request-ID": "no spaces allowed"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
    with transaction(sessions) as s:
        logged = s.scalars(select(Operation).where(Operation.action == "auth.sign_in")).one()
    assert logged.request_id == "req-42.a"
    listed = client.get("/api/v1/operations", headers=world.auth("auditor")).json()
    assert listed["items"][0]["request_id"] == "req-42.a"


def test_ready_when_database_schema_and_policies_are_good(client):
    response = client.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "migrations": "ok",
                               "policies": "ok"}


def test_ready_fails_when_the_schema_is_behind(client, engine):
    head = min(head_revisions())
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0006'")
    try:
        response = client.get("/api/v1/ready")
    finally:
        # The version table is not wiped between PostgreSQL tests: put the head back.
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head}'")
    assert response.status_code == 503
    problem = response.json()
    assert problem["code"] == "not_ready"
    assert problem["errors"][0]["field"] == "migrations"
    assert "voucher-ledger db upgrade" in problem["detail"]
    assert client.get("/api/v1/ready").status_code == 200


def test_metrics_only_for_loopback_or_the_token(app, client, world, monkeypatch):
    client.get("/api/v1/health")
    client.post("/api/v1/auth/token", data={"username": "demo-firm", "password": "wrong"})
    assert client.get("/metrics").status_code == 403
    monkeypatch.setenv("VOUCHER_LEDGER_METRICS_TOKEN", "s3cret-metrics-token")
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    scraped = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert scraped.status_code == 200
    text = scraped.text
    assert re.search(r'voucher_ledger_http_requests_total\{method="GET",'
                     r'route="/api/v1/health",status="200"\} [1-9]', text)
    assert 'voucher_ledger_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert re.search(r'voucher_ledger_refusals_total\{code="not_authenticated"\} [1-9]', text)
    assert "voucher_ledger_bookings_total" in text
    assert "voucher_ledger_journal_entries 0.0" in text
    monkeypatch.delenv("VOUCHER_LEDGER_METRICS_TOKEN")
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 200


def test_json_amount_errors_name_the_field_itself(client, world):
    response = client.post("/api/v1/programs/LN-CXQ-2026/appropriations",
                           headers=world.auth("operator"), json={"amount": 1.5})
    assert response.status_code == 422
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"amount"}
    assert problem["detail"].startswith("amount: ")


def test_a_crash_still_answers_with_headers(engine):
    app = create_app(engine, key="k" * 40)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as crashing:
        response = crashing.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert response.headers["x-frame-options"] == "DENY"


def test_json_logs_carry_the_request_id():
    script = (
        "import logging, logging.config\n"
        "from api.logs import uvicorn_log_config\n"
        "from ledger.core.oplog import REQUEST_ID\n"
        "logging.config.dictConfig(uvicorn_log_config())\n"
        "REQUEST_ID.set('req-7')\n"
        "logging.getLogger('voucher_ledger.access').info('GET / 200', extra={'status': 200})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VOUCHER_LEDGER_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, check=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["request_id"] == "req-7" and line["status"] == 200
    assert line["level"] == "INFO" and line["logger"] == "voucher_ledger.access"
    assert line["message"] == "GET / 200" and line["time"].endswith("+00:00")
