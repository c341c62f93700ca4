"""In-process benchmark of the HTTP write path: statements, wall and CPU ms per booking request.

Stand-alone (not in CI). On a fresh SQLite file and on an empty PostgreSQL database
(`--pg-url`), it builds the fixture of bench/booking_bench.py (demo registry, a programme, a
voucher, a pool of the firm's authorisations for the demo provider), signs the provider in
through a FastAPI TestClient (in process, no sockets) and, after `--warmup` requests, times
`--n` `POST /redemptions` (each with a fresh Idempotency-Key), then `POST .../complete` on
them, then `--n` `GET /health` as the baseline. Per request: the SQL statements sent (a
`before_cursor_execute` listener plus the calls of `driver_rows`, the driver's own cursor that
PostgreSQL's posting and seal use), the wall ms and this process's CPU ms. `ratio` is
booking rps / health rps, in process (api_bench's target: ≥ 0.6). `--root` imports the
project from another checkout (the code before a change); `--profile` prints a cProfile of
the measured bookings on the first engine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from booking_fixture import Figures, prepare_bookings

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = "LN-CXQ-HTTP"
KEY = "bench-" + "k" * 40





def _prepare(url: str, grants: int) -> tuple[Any, str, list[str]]:
    """The booking fixture (bench/booking_fixture.py) on `url`: the engine, the serial and the
    codes."""
    return prepare_bookings(url, PROGRAMME, grants)


class Counter:
    """Counts the statements sent: SQLAlchemy's cursor executions and `driver_rows` calls."""

    def __init__(self, engine: Any) -> None:
        import importlib

        from ledger.core import db

        self.engine, self.count = engine, 0
        self._real = db.driver_rows
        self._users = [m for m in (importlib.import_module(n) for n in
                                   ("ledger.core.pg_posting", "ledger.core.seal"))
                       if getattr(m, "driver_rows", None) is db.driver_rows]

    def _one(self, *_: object) -> None:
        self.count += 1

    def __enter__(self) -> Counter:
        from sqlalchemy import event

        real = self._real

        def counted(*a: Any, **kw: Any) -> Any:
            self.count += 1
            return real(*a, **kw)

        for module in self._users:
            module.driver_rows = counted
        event.listen(self.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *_: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._one)
        for module in self._users:
            module.driver_rows = self._real


def _timed(counter: Counter, name: str, calls: list[Callable[[], Any]],
           expect: int, answers: list[Any] | None = None) -> Figures:
    figures = Figures(name, [], [], [], per="req")
    with counter:
        for call in calls:
            counter.count = 0
            start, cpu = time.perf_counter(), time.process_time()
            response = call()
            figures.ms.append((time.perf_counter() - start) * 1000)
            figures.cpu_ms.append((time.process_time() - cpu) * 1000)
            figures.statements.append(counter.count)
            if response.status_code != expect:
                raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
            if answers is not None:
                answers.append(response.json()["id"])
    return figures


def _profile_route(profiler: cProfile.Profile | None) -> None:
    """Profile the write routes' `mutate` (a write runs on the event loop or in a worker
    thread, which a profiler enabled in this thread does not see); None puts it back."""
    from api import mutations

    if profiler is None:
        mutations.mutate = _REAL_MUTATE.pop()  # type: ignore[assignment]
        return
    real = mutations.mutate
    _REAL_MUTATE.append(real)

    def profiled(*a: Any, **kw: Any) -> Any:
        return profiler.runcall(real, *a, **kw)

    mutations.mutate = profiled  # type: ignore[assignment]


_REAL_MUTATE: list[Callable[..., Any]] = []


def _run(url: str, args: argparse.Namespace, profile: bool) -> list[Figures]:
    from fastapi.testclient import TestClient

    from api.app import create_app

    engine, serial, codes = _prepare(url, args.warmup + args.n)
    app = create_app(engine, key=KEY, minutes=60)
    counter = Counter(engine)
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "demo-provider", "password": "demo-provider-2026"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}

        def booking(code: str) -> Callable[[], Any]:
            body = {"voucher": serial, "authorisation": code, "category": "testing",
                    "cost": "2.00", "description": "bench"}
            return lambda: client.post("/api/v1/redemptions", json=body, headers={
                **auth, "Idempotency-Key": uuid.uuid4().hex})

        def completion(rid: int) -> Callable[[], Any]:
            return lambda: client.post(f"/api/v1/redemptions/{rid}/complete", json={},
                                       headers={**auth, "Idempotency-Key": uuid.uuid4().hex})

        def health() -> Any:
            return client.get("/api/v1/health")

        _timed(counter, "warm-up", [booking(c) for c in codes[:args.warmup]], 201)
        _timed(counter, "warm-up", [health] * args.warmup, 200)
        calls = [booking(c) for c in codes[args.warmup:]]
        profiler = cProfile.Profile() if profile else None
        if profiler:
            _profile_route(profiler)
        ids: list[int] = []
        booked = _timed(counter, "book", calls, 201, ids)
        if profiler:
            _profile_route(None)
        completed = _timed(counter, "complete", [completion(r) for r in ids], 200)
        healthy = _timed(counter, "health", [health] * args.n, 200)
    engine.dispose()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile_lines)
    return [booked, completed, healthy]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="Measured bookings (and the rest)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--pg-url", help="An empty PostgreSQL database (no PostgreSQL run without)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT, help="The checkout to import")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-lines", type=int, default=60)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    print(f"code: {args.root.resolve()}", flush=True)
    runs = [] if args.no_sqlite else [("sqlite", None)]
    runs += [("postgresql", args.pg_url)] if args.pg_url else []
    for i, (engine, url) in enumerate(runs):
        with tempfile.TemporaryDirectory() as tmp:
            figures = _run(url or f"sqlite:///{Path(tmp) / 'bench.db'}", args,
                           args.profile and i == 0)
        for f in figures:
            print(f"{engine} {f.line()}", flush=True)
        print(f"{engine} ratio={figures[0].rps / figures[2].rps:.2f} "
              f"(booking rps {figures[0].rps:.0f} / health rps {figures[2].rps:.0f})",
              flush=True)
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
