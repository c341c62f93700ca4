"""Bookings one after another on SQLite: WAL checkpoints at commit against a checkpoint thread.

Stand-alone (not in CI or `make bench`). Each round builds the booking fixture on a fresh
SQLite file twice and times `--n` `POST /redemptions` through a FastAPI TestClient (in process,
one at a time, after 50 not counted): first with SQLite's default (the commit that takes the
WAL past 1,000 pages copies them into the database), then with
`ledger.core.checkpoints.checkpoint_in_background`, as `voucher-ledger serve` runs. The last
line gives the medians over the rounds of each side's mean and p99, and their ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from booking_fixture import prepare_bookings

ROOT = Path(__file__).resolve().parent.parent
WARMUP = 50


def _bookings_ms(n: int, background: bool) -> list[float]:
    """`n` bookings' wall times in ms, sorted, on a fresh file."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ledger.core.checkpoints import checkpoint_in_background

    with tempfile.TemporaryDirectory() as tmp:
        engine, serial, codes = prepare_bookings(f"sqlite:///{tmp}/bench.db", "LN-CXQ-CKPT",
                                                 n + WARMUP)
        checkpoints = checkpoint_in_background(engine) if background else None
        times: list[float] = []
        with TestClient(create_app(engine, key="bench-" + "k" * 40, minutes=60)) as client:
            token = client.post("/api/v1/auth/token", data={
                "username": "demo-provider", "password": "demo-provider-2026"}
            ).json()["access_token"]
            for n_done, code in enumerate(codes):
                start = time.perf_counter()
                answer = client.post("/api/v1/redemptions", json={
                    "voucher": serial, "authorisation": code, "category": "testing",
                    "cost": "2.00", "description": "bench"}, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})
                if answer.status_code != 201:
                    raise SystemExit(f"booking: {answer.status_code} {answer.text[:300]}")
                if n_done >= WARMUP:
                    times.append((time.perf_counter() - start) * 1000)
        if checkpoints is not None:
            checkpoints.stop()
        engine.dispose()
    return sorted(times)


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="Measured bookings per side")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sides: dict[str, list[tuple[float, float]]] = {"commit": [], "thread": []}
    for _ in range(args.rounds):
        for side in sides:
            times = _bookings_ms(args.n, background=side == "thread")
            sides[side].append((statistics.mean(times), _p99(times)))
            print(f"checkpoints by the {side}: {len(times)} bookings, mean "
                  f"{statistics.mean(times):.2f} ms, p99 {_p99(times):.2f} ms, "
                  f"max {times[-1]:.2f} ms", flush=True)
    mean = {side: statistics.median(m for m, _ in runs) for side, runs in sides.items()}
    p99 = {side: statistics.median(p for _, p in runs) for side, runs in sides.items()}
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"commit_mean_ms={mean['commit']:.2f} commit_p99_ms={p99['commit']:.2f} "
          f"thread_mean_ms={mean['thread']:.2f} thread_p99_ms={p99['thread']:.2f} "
          f"mean_ratio={mean['thread'] / mean['commit']:.2f} "
          f"p99_ratio={p99['thread'] / p99['commit']:.2f}")


if __name__ == "__main__":
    main()
