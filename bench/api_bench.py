"""HTTP benchmark: bookings (sign-in, policy decision, hold, idempotency key) beside /health.

Three runs of the same load, each on a real `voucher-ledger serve` subprocess (uvicorn) on
127.0.0.1: SQLite (a fresh file, one worker), then PostgreSQL with one and with four workers
(`--pg-url`, an empty database, or a throw-away cluster started as bench/pg_bench.py does).
Each database gets the demo registry, a programme and `--pairs` firm-provider pairs (16; the
first is the demo's firm 1 and demo-provider, the others registered by the fixture), each
firm a voucher with a pool of authorisations for its provider (each booking uses one, as a
provider must). Each pair's provider signs in; booking client n books for pair n (modulo the
pairs), so concurrent bookings meet on no firm and no provider account as a bureau's many
firms would (`--pairs 1`: every booking on one firm and one provider, the worst case). The
`--clients` booking clients and `--health-clients` clients of `GET /health` run for
`--seconds`, after `--warmup` seconds (1) of the same load that are not counted (a fresh
process's first requests fill its caches; the warm-up's own count and p99 are printed); one
aiohttp session carries them all (light: the client must not be the
bottleneck of the machine it shares). Each booking is a real one: 2.00 yuan of testing, a
1.00 yuan subsidy held on the voucher, a fresh Idempotency-Key. The last line is the summary
recorded in docs/performance.md: `ratio` is booking_rps / health_rps on SQLite, and
`pg_ratio` is the four-worker PostgreSQL booking rps / the /health rps measured in that same
four-worker run (the cost of a booking against the cheapest request the same server answers
under the same load). Each run's line also gives the bookings' p99 inside the app (from the
server's access log) and the CPU this client itself used: client and server share the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import httpx
from booking_fixture import Pair, prepare_pairs
from pg_cluster import database

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = "LN-CXQ-BENCH"
# The firms' one-time authorisations granted for each run (`--grants`): more than a 10 s run
# books on the reference machine; a run that uses them all says so.
GRANTS = 6000
# Firm-provider pairs the bookings are spread over (`--pairs`): a booking locks its firm (the
# firm's yearly caps) and its provider's account, so one pair measures those locks alone.
PAIRS = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(url: str, grants: int, pairs: int) -> list[Pair]:
    """The booking fixture (bench/booking_fixture.py) on `url`: the firm-provider pairs."""
    sys.path.insert(0, str(ROOT))
    engine, prepared = prepare_pairs(url, PROGRAMME, grants, pairs)
    engine.dispose()
    return prepared


async def _run(base: str, tokens: list[str], seconds: float, clients: int,
               health_clients: int, pairs: list[Pair]
               ) -> tuple[list[float], list[float], int, int]:
    """The booking and /health clients on one aiohttp session (≈ 0.15 ms of CPU a request:
    httpx's ≈ 2.7 ms made the client itself the bottleneck of a two-core machine)."""
    latencies: list[float] = []
    health_latencies: list[float] = []
    counts = {"refused": 0}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients + health_clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        async def booker(n: int) -> None:
            # Client n books for pair n (modulo the pairs) with that pair's provider.
            pair, token = pairs[n % len(pairs)], tokens[n % len(pairs)]
            while time.perf_counter() < deadline and pair.codes:
                body = {"voucher": pair.serial, "authorisation": pair.codes.pop(),
                        "category": "testing", "cost": "2.00", "description": "bench"}
                start = time.perf_counter()
                async with client.post("/api/v1/redemptions", json=body, headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": uuid.uuid4().hex}) as r:
                    await r.read()
                latencies.append(time.perf_counter() - start)
                if r.status != 201:
                    counts["refused"] += 1

        async def prober() -> None:
            while (start := time.perf_counter()) < deadline:
                async with client.get("/api/v1/health") as r:
                    await r.read()
                    r.raise_for_status()
                health_latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(booker(n) for n in range(clients)),
                             *(prober() for _ in range(health_clients)))
    return latencies, health_latencies, counts["refused"], len(latencies)


@dataclass(frozen=True)
class Run:
    """One run's figures."""

    bookings: int
    refused: int
    health: int
    p99_ms: float
    seconds: float
    exhausted: bool
    mean_ms: float
    health_p99_ms: float
    # As the server saw them (its access log: from the request's arrival in the app to the
    # answer), and this client's CPU as a share of one core: the client shares the machine,
    # and the gap between its p99 and the server's is time spent outside the app.
    server_p99_ms: float
    client_cpu: float
    # The warm-up before the measured run: (bookings, their p99 in ms), not counted above.
    warmup: tuple[int, float] = (0, 0.0)

    @property
    def booking_rps(self) -> float:
        return self.bookings / self.seconds

    @property
    def health_rps(self) -> float:
        return self.health / self.seconds


@contextmanager
def _serve(url: str, workers: int, var_dir: str, log: Path) -> Iterator[str]:
    """`voucher-ledger serve --workers N` as a subprocess on a free port, until it answers;
    its log (the access log included) goes to `log`."""
    port = _free_port()
    env = {**os.environ, "VOUCHER_LEDGER_DATABASE_URL": url, "VOUCHER_LEDGER_VAR_DIR": var_dir,
           "VOUCHER_LEDGER_SECRET_KEY": "bench-" + "k" * 40}
    # A session of its own, so that stopping it stops uvicorn's worker processes too; the
    # server keeps its own copy of the log file's descriptor.
    with log.open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host",
             "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"serve exited with {server.returncode}")
            time.sleep(0.05)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _measure(url: str, workers: int, pairs: list[Pair], var_dir: str,
             args: argparse.Namespace) -> Run:
    """Serve `url` with `workers` processes and run the booking and /health clients on it."""
    log = Path(var_dir) / f"serve-{workers}w.log"
    with _serve(url, workers, var_dir, log) as base:
        tokens = [httpx.post(f"{base}/api/v1/auth/token", data={
            "username": p.username, "password": p.password}).json()["access_token"]
            for p in pairs]
        # The same load for `--warmup` seconds first, not counted: the first requests of a
        # fresh process fill its caches (compiled statements, pooled connections) and were
        # the slowest of a run. Its figures are printed beside the run's (`Run.warmup`).
        warm, *_ = asyncio.run(
            _run(base, tokens, args.warmup, args.clients, args.health_clients, pairs))
        cpu, wall = time.process_time(), time.perf_counter()
        latencies, health, refused, bookings = asyncio.run(
            _run(base, tokens, args.seconds, args.clients, args.health_clients, pairs))
        client_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)
    mean = sum(latencies) / max(len(latencies), 1) * 1000
    served = _served_bookings(log)
    return Run(bookings, refused, len(health), _p99_ms(latencies), args.seconds,
               exhausted=any(not p.codes for p in pairs), mean_ms=mean,
               health_p99_ms=_p99_ms(health),
               server_p99_ms=_p99_ms(served[len(warm):]), client_cpu=client_cpu,
               warmup=(len(warm), _p99_ms(warm)))


_BOOKING_SERVED = re.compile(r"POST /api/v1/redemptions 201 ([0-9.]+)ms")


def _served_bookings(log: Path) -> list[float]:
    """The bookings' times in the app, in seconds, from the server's access log."""
    return [float(m.group(1)) / 1000 for m in _BOOKING_SERVED.finditer(log.read_text())]


def _p99_ms(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0


def _say(name: str, run: Run, args: argparse.Namespace) -> None:
    short = "  (the authorisation pool ran out: raise --grants)" if run.exhausted else ""
    print(f"{name}: bookings {run.bookings} ({run.refused} refused), health {run.health}, "
          f"in {args.seconds:.0f} s with {args.clients} booking and {args.health_clients} "
          f"health clients: {run.booking_rps:.0f} bookings/s, mean {run.mean_ms:.1f} ms, "
          f"p99 {run.p99_ms:.1f} ms (in the app {run.server_p99_ms:.1f} ms), "
          f"{run.health_rps:.0f} health/s (p99 {run.health_p99_ms:.1f} ms); this client used "
          f"{run.client_cpu:.2f} of a core; warm-up before it (not counted): "
          f"{run.warmup[0]} bookings, p99 {run.warmup[1]:.1f} ms{short}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="Seconds of the same load first, not counted (0: none)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--health-clients", type=int, default=4)
    parser.add_argument("--pg-url", help="An empty PostgreSQL database (default: own cluster)")
    parser.add_argument("--pg-port", type=int, default=54392,
                        help="Port of the throw-away cluster (without --pg-url)")
    parser.add_argument("--grants", type=int, default=GRANTS,
                        help="Authorisations granted per run (each booking uses one)")
    parser.add_argument("--pairs", type=int, default=PAIRS,
                        help="Firm-provider pairs the bookings are spread over (1: all on "
                             "one firm and one provider, the worst case)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        sqlite = _measure(url, 1, _prepare(url, args.grants, args.pairs), tmp, args)
        _say("sqlite 1 worker", sqlite, args)
        with database(args.pg_url, args.pg_port) as pg_url:
            # One pool for both runs, each pair's codes split in two: each run books from its
            # own half.
            pairs = _prepare(pg_url, 2 * args.grants, args.pairs)
            halves = {1: [replace(p, codes=p.codes[:len(p.codes) // 2]) for p in pairs],
                      4: [replace(p, codes=p.codes[len(p.codes) // 2:]) for p in pairs]}
            pg = {}
            for workers, half in halves.items():
                pg[workers] = _measure(pg_url, workers, half, tmp, args)
                _say(f"postgresql {workers} worker{'s' if workers > 1 else ''}", pg[workers],
                     args)
    # Each booking client waits for its answer before the next: the mean latency is
    # clients / throughput (Little's law), so a p99 within 100 ms needs at least this rate.
    print(f"bound: {args.clients} closed-loop clients with p99 <= 100 ms need more than "
          f"{args.clients / 0.1:.0f} bookings/s (measured {sqlite.booking_rps:.0f}, mean "
          f"{sqlite.mean_ms:.1f} ms = {args.clients} / rate)")
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"booking_rps={sqlite.booking_rps:.0f} booking_p99_ms={sqlite.p99_ms:.1f} "
          f"health_rps={sqlite.health_rps:.0f} "
          f"ratio={sqlite.booking_rps / max(sqlite.health_rps, 1e-9):.2f} "
          f"pg_1w_rps={pg[1].booking_rps:.0f} pg_4w_rps={pg[4].booking_rps:.0f} "
          f"pg_ratio={pg[4].booking_rps / max(pg[4].health_rps, 1e-9):.2f}")


if __name__ == "__main__":
    main()
