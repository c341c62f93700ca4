"""HTTP benchmark: bookings (sign-in, policy decision, hold, idempotency key) beside /health.

Starts `voucher-ledger serve` (uvicorn, one worker) on 127.0.0.1 on a fresh SQLite file,
seeds the demo registry, a programme and a voucher with a pool of the firm's authorisations
for the demo provider (each booking uses one, as a provider must), signs the provider in, runs
`--clients` concurrent booking clients and `--health-clients` clients of `GET /health` for
`--seconds`. Each booking is a real one: 2.00 yuan of testing, a 1.00 yuan subsidy held on
the voucher, a fresh Idempotency-Key. The last line is the summary recorded in
docs/performance.md: `ratio` is booking_rps / health_rps (the cost of a booking measured
against the cheapest request the same server answers in the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = "LN-CXQ-BENCH"
# The firm's one-time authorisations granted before the run: more than a run books.
GRANTS = 3000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str) -> tuple[str, list[str]]:
    """Migrate, seed the demo, create the programme and one voucher for firm 1, and grant the
    demo provider GRANTS authorisations on it: the voucher's serial and the codes."""
    sys.path.insert(0, str(ROOT))
    from demo.seed import seed_demo
    from ledger.core.acting import By
    from ledger.core.db import make_engine, make_sessionmaker, transaction
    from ledger.core.migrations import upgrade
    from ledger.programmes.programme import appropriate, create_programme
    from ledger.registry.providers import Provider
    from ledger.vouchers.authorisations import authorise
    from ledger.vouchers.voucher import issue_voucher

    upgrade(url)
    engine = make_engine(url)
    by = By(0, "bench")
    with transaction(make_sessionmaker(engine)) as s:
        seed_demo(s)
        create_programme(s, code=PROGRAMME, name="bench", fiscal_year=2026, policy="LN-CXQ",
                         by=by)
        appropriate(s, PROGRAMME, 100_000_000, by=by)
        voucher = issue_voucher(s, PROGRAMME, 1, 15_000_000, by=by)
        provider = s.get(Provider, 1)
        assert provider is not None
        codes = [authorise(s, firm_id=1, voucher=voucher.serial, programme=PROGRAMME,
                           provider_credit_code=provider.credit_code, by=by).code
                 for _ in range(GRANTS)]
    engine.dispose()
    return voucher.serial, codes


async def _run(base: str, token: str, seconds: float, clients: int, health_clients: int,
               serial: str, codes: list[str]) -> tuple[list[float], int, int, int]:
    latencies: list[float] = []
    counts = {"health": 0, "refused": 0}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients + health_clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        async def booker() -> None:
            while time.perf_counter() < deadline and codes:
                body = {"voucher": serial, "authorisation": codes.pop(), "category": "testing",
                        "cost": "2.00", "description": "bench"}
                start = time.perf_counter()
                r = await client.post("/api/v1/redemptions", json=body,
                                      headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
                latencies.append(time.perf_counter() - start)
                if r.status_code != 201:
                    counts["refused"] += 1

        async def prober() -> None:
            while time.perf_counter() < deadline:
                r = await client.get("/api/v1/health")
                r.raise_for_status()
                counts["health"] += 1

        await asyncio.gather(*(booker() for _ in range(clients)),
                             *(prober() for _ in range(health_clients)))
    return latencies, counts["health"], counts["refused"], len(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--health-clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        serial, codes = _prepare(url)
        port = _free_port()
        env = {**os.environ, "VOUCHER_LEDGER_DATABASE_URL": url, "VOUCHER_LEDGER_VAR_DIR": tmp,
               "VOUCHER_LEDGER_SECRET_KEY": "bench-" + "k" * 40}
        server = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host",
             "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            token = httpx.post(f"{base}/api/v1/auth/token", data={
                "username": "demo-provider", "password": "demo-provider-2026"}
            ).json()["access_token"]
            latencies, health, refused, bookings = asyncio.run(
                _run(base, token, args.seconds, args.clients, args.health_clients, serial,
                     codes))
        finally:
            server.terminate()
            server.wait(timeout=10)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    booking_rps, health_rps = bookings / args.seconds, health / args.seconds
    print(f"bookings {bookings} ({refused} refused), health {health}, in {args.seconds:.0f} s "
          f"with {args.clients} booking and {args.health_clients} health clients")
    print(f"booking_rps={booking_rps:.0f} booking_p99_ms={p99:.1f} health_rps={health_rps:.0f} "
          f"ratio={booking_rps / max(health_rps, 1e-9):.2f}")


if __name__ == "__main__":
    main()
