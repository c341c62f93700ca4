"""`serve --workers 4`: 64 bookings raced through four worker processes on one database.

The in-process write lock orders only one process's writers; across processes SQLite's
`BEGIN IMMEDIATE` and busy timeout and PostgreSQL's row locks must keep the room exact.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from api_helpers import KEY
from fastapi.testclient import TestClient

from ledger.core.config import DATABASE_URL_ENV, SECRET_KEY_ENV
from ledger.core.db import transaction
from ledger.core.models import Transfer
from ledger.core.verify import verify
from tests.api.test_vouchers_http import API, _grant, _programme, _voucher

WORKERS = 4
BOOKINGS = 64
ROOM = 10  # a 10,000 yuan voucher; each booking of 2,000 yuan testing holds 1,000
ROOT = Path(__file__).resolve().parents[2]
START = "import sys; from api.cli import main; sys.argv[0] = 'voucher-ledger'; main()"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, DATABASE_URL_ENV: db_url, SECRET_KEY_ENV: KEY,
           "PYTHONPATH": str(ROOT), "VOUCHER_LEDGER_LOG_FORMAT": "text"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", START, "serve", "--workers", str(WORKERS), "--port",
             str(port)], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)


def _wait_for_workers(server: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    """Until every worker has started its app (uvicorn logs it once per process)."""
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text(errors="replace")
        if log.read_text(errors="replace").count("Application startup complete") >= WORKERS:
            return
        time.sleep(0.2)
    raise AssertionError(f"workers did not start:\n{log.read_text(errors='replace')}")


def test_64_bookings_through_4_worker_processes_use_exactly_the_room(
        app, world, sessions, db_url, tmp_path):
    with TestClient(app) as client:
        _programme(client, world)
        voucher = _voucher(client, world, amount="10000.00")
        codes = [_grant(client, world, voucher["serial"]) for _ in range(BOOKINGS)]
    port, log = _free_port(), tmp_path / "serve.log"
    server = _serve(db_url, port, log)
    statuses: list[tuple[int, str | None]] = []
    try:
        _wait_for_workers(server, log, time.monotonic() + 60)
        base = f"http://127.0.0.1:{port}{API}"
        barrier = threading.Barrier(BOOKINGS)
        headers = world.auth("provider")

        def book(code: str) -> None:
            with httpx.Client(timeout=60) as c:
                barrier.wait()
                response = c.post(f"{base}/redemptions", headers=headers, json={
                    "voucher": voucher["serial"], "authorisation": code,
                    "category": "testing", "cost": "2000.00", "description": "材料检测"})
                statuses.append((response.status_code, response.json().get("code")))

        threads = [threading.Thread(target=book, args=(code,)) for code in codes]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        elapsed = time.monotonic() - started
        assert not any(t.is_alive() for t in threads), "a booking never returned (deadlock?)"
        assert len(statuses) == BOOKINGS
        # No 5xx (no 'database is locked' reaches a client): every refusal is the domain's.
        assert sum(1 for s, _ in statuses if s == 201) == ROOM, statuses
        assert sorted({s for s in statuses if s[0] != 201}) == [(422, "insufficient_balance")]
        assert elapsed < 60
        with httpx.Client(timeout=30) as c:
            v = c.get(f"{base}/vouchers/{voucher['id']}", headers=world.auth("operator")).json()
        assert (v["available"], v["held"]) == ("0.00", "10000.00")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert "database is locked" not in log.read_text(errors="replace")
    with transaction(sessions) as s:
        assert s.query(Transfer).filter(Transfer.kind == "pending").count() == ROOM
        assert verify(s).ok
