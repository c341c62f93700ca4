"""A small write waiting for a lock never holds up the rest of the server.

On SQLite a booking runs on the event loop when the write lock is free at once; when another
connection holds it, the booking goes to a thread and waits there, and the loop (here
`/health`) keeps answering. On PostgreSQL bookings always run in a thread; the same
test holds the firm's row lock instead. Either way the booking is written exactly once.
"""

from __future__ import annotations

import sqlite3
import threading

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from ledger.core.db import transaction
from ledger.core.models import Transfer

API = "/api/v1"
P = "LN-CXQ-2026"


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _voucher_and_code(client, world) -> tuple[str, str]:
    op = world.auth("operator")
    _ok(client.post(f"{API}/programs", headers=op, json={
        "code": P, "name": "辽宁省科技创新券2026", "fiscal_year": 2026, "policy": "LN-CXQ"}), 201)
    _ok(client.post(f"{API}/programs/{P}/appropriations", headers=op,
                    json={"amount": "100000.00"}), 201)
    serial = _ok(client.post(f"{API}/vouchers", headers=op, json={
        "program": P, "firm_id": 1, "amount": "50000.00"}), 201)["serial"]
    provider = _ok(client.get(f"{API}/providers/1", headers=op))["credit_code"]
    code = _ok(client.post(f"{API}/authorisations", headers=world.auth("firm"), json={
        "voucher": serial, "provider_credit_code": provider}), 201)["code"]
    return serial, code


class _Holder:
    """Another connection holding what a booking must wait for: SQLite's write lock, or on
    PostgreSQL firm 1's row."""

    def __init__(self, engine) -> None:
        self._engine = engine
        if engine.dialect.name == "sqlite":
            self._raw = sqlite3.connect(engine.url.database, isolation_level=None,
                                        check_same_thread=False)
            self._raw.execute("BEGIN IMMEDIATE")
        else:
            self._connection = engine.connect()
            self._transaction = self._connection.begin()
            self._connection.execute(text("SELECT id FROM firms WHERE id = 1 FOR UPDATE"))

    def release(self) -> None:
        if self._engine.dialect.name == "sqlite":
            self._raw.execute("ROLLBACK")
            self._raw.close()
        else:
            self._transaction.rollback()
            self._connection.close()


def _holds(sessions) -> int:
    with transaction(sessions) as s:
        return s.scalar(select(func.count()).select_from(Transfer)
                        .where(Transfer.kind == "pending"))


def test_a_booking_waiting_for_a_lock_leaves_health_answering(app, world, engine, sessions):
    with TestClient(app) as client:
        serial, code = _voucher_and_code(client, world)
        holds = _holds(sessions)
        holder = _Holder(engine)
        booked: list[object] = []

        def book() -> None:
            booked.append(client.post(f"{API}/redemptions", headers=world.auth("provider"), json={
                "voucher": serial, "authorisation": code, "category": "testing",
                "cost": "2000.00", "description": "材料检测"}))

        booking = threading.Thread(target=book)
        try:
            booking.start()
            booking.join(1.0)
            assert booking.is_alive(), "the booking should be waiting for the lock"
            answered: list[int] = []
            health = threading.Thread(
                target=lambda: answered.append(client.get(f"{API}/health").status_code))
            health.start()
            health.join(10)
            # /health answered while the booking still waits.
            assert answered == [200]
            assert booking.is_alive()
        finally:
            holder.release()
        booking.join(30)
    assert not booking.is_alive()
    assert booked[0].status_code == 201, booked[0].text
    assert _holds(sessions) == holds + 1
