"""PostgreSQL posting benchmark: single postings between 50 accounts from 1, 4 and 16 processes.

Starts its own throw-away PostgreSQL cluster the way `.ci/run` does (as root; or give `--url`),
migrates it, and in one run measures the project's posting service (`post_entry` in its own
transaction, then the seal step, as the API does) and a baseline written here: a minimal
plpgsql function that locks two account rows in id order, checks the balance, inserts one
transfer row and updates both balances. Not part of CI. The last line is the figure line
recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time

from pg_cluster import database

ACCOUNTS = 50
FUNDS = 10**12

BASELINE_DDL = """
DROP SCHEMA IF EXISTS bench_baseline CASCADE;
CREATE SCHEMA bench_baseline;
CREATE TABLE bench_baseline.accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE bench_baseline.transfers (
    id bigserial PRIMARY KEY, debit bigint NOT NULL, credit bigint NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0));
CREATE FUNCTION bench_baseline.transfer(p_debit bigint, p_credit bigint, p_amount bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    available bigint;
    new_id bigint;
BEGIN
    PERFORM 1 FROM bench_baseline.accounts WHERE id IN (p_debit, p_credit)
        ORDER BY id FOR UPDATE;
    SELECT balance INTO available FROM bench_baseline.accounts WHERE id = p_credit;
    IF available < p_amount THEN
        RAISE EXCEPTION 'insufficient balance';
    END IF;
    INSERT INTO bench_baseline.transfers (debit, credit, amount)
        VALUES (p_debit, p_credit, p_amount) RETURNING id INTO new_id;
    UPDATE bench_baseline.accounts SET balance = balance + p_amount WHERE id = p_debit;
    UPDATE bench_baseline.accounts SET balance = balance - p_amount WHERE id = p_credit;
    RETURN new_id;
END $$;
"""


def prepare(url: str) -> None:
    """Migrate, open 50 funded accounts for the service, and the baseline's schema."""
    from ledger.core.accounts import open_account
    from ledger.core.db import make_engine, make_sessionmaker, transaction
    from ledger.core.journal import EntryRequest, Move, post_entry
    from ledger.core.migrations import upgrade

    upgrade(url)
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as s:
        open_account(s, "B:funding", "B")
        for n in range(ACCOUNTS):
            open_account(s, f"B:acct:{n}", "B", credits_must_not_exceed_debits=True)
        post_entry(s, EntryRequest(
            tuple(Move(f"B:acct:{n}", "B:funding", FUNDS) for n in range(ACCOUNTS)),
            flow="bench"))
    with engine.begin() as conn:
        conn.exec_driver_sql(BASELINE_DDL)
        conn.exec_driver_sql(
            "INSERT INTO bench_baseline.accounts SELECT n, %s FROM generate_series(1, %s) n",
            (FUNDS, ACCOUNTS),
        )
    engine.dispose()


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds of the server process `pid` (None when /proc does not show it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _service_worker(url: str, seconds: float, seed: int) -> tuple[list[float], float | None]:
    """Latencies, and this process's CPU plus its backend's over the timed loop (or None)."""
    from ledger.core.db import make_engine, make_sessionmaker, transaction
    from ledger.core.journal import EntryRequest, Move, post_entry

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(seed)

    def post() -> None:
        a, b = rng.sample(range(ACCOUNTS), 2)
        with transaction(sessions) as s:
            post_entry(s, EntryRequest((Move(f"B:acct:{a}", f"B:acct:{b}", 1),), flow="bench"))

    # Not timed, as the baseline's connect is not: the connection and SQLAlchemy's first
    # compilation of each statement.
    post()
    with engine.connect() as conn:  # the pool's one connection, which every posting uses
        backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    server_before, client_before = _backend_cpu(backend), time.process_time()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while (start := time.perf_counter()) < deadline:
        post()
        latencies.append(time.perf_counter() - start)
    client = time.process_time() - client_before
    server_after = _backend_cpu(backend)
    engine.dispose()
    if server_before is None or server_after is None:
        return latencies, None
    return latencies, client + (server_after - server_before)


def _baseline_worker(url: str, seconds: float, seed: int) -> tuple[list[float], float | None]:
    import psycopg

    rng = random.Random(seed)
    latencies: list[float] = []
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        backend = c.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        server_before, client_before = _backend_cpu(backend), time.process_time()
        deadline = time.perf_counter() + seconds
        while (start := time.perf_counter()) < deadline:
            a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
            c.execute("SELECT bench_baseline.transfer(%s, %s, 1)", (a, b))
            latencies.append(time.perf_counter() - start)
        client = time.process_time() - client_before
        server_after = _backend_cpu(backend)
    if server_before is None or server_after is None:
        return latencies, None
    return latencies, client + (server_after - server_before)


def measure(kind: str, url: str, workers: int, seconds: float) -> tuple[float, float]:
    """Postings per second over all worker processes, and the p99 latency in ms."""
    tps, p99, _cpu = measure_cpu(kind, url, workers, seconds)
    return tps, p99


def measure_cpu(
    kind: str, url: str, workers: int, seconds: float
) -> tuple[float, float, float | None]:
    """As `measure`, and the CPU per posting in ms, client and server together (None when
    the server's processes are not in this /proc)."""
    target = _service_worker if kind == "service" else _baseline_worker
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.starmap(target, [(url, seconds, n) for n in range(workers)])
    latencies = sorted(x for r in results for x in r[0])
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
    cpus = [r[1] for r in results]
    cpu = None
    if latencies and all(c is not None for c in cpus):
        cpu = sum(c for c in cpus if c is not None) / len(latencies) * 1000
    return len(latencies) / seconds, p99 * 1000, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="An empty PostgreSQL database (default: own cluster)")
    parser.add_argument("--port", type=int, default=54391)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with database(args.url, args.port) as url:
        prepare(url)
        figures = {}
        for kind, workers in (("service", 1), ("service", 4), ("service", 16),
                              ("baseline", 1), ("baseline", 16)):
            tps, p99, cpu = measure_cpu(kind, url, workers, args.seconds)
            figures[(kind, workers)] = (tps, p99, cpu)
            # CPU per posting, the client's and its backend's: on two shared cores what
            # bounds throughput, and steadier than it when other work loads the machine.
            per = "" if cpu is None else f"  cpu {cpu:5.2f} ms/posting"
            print(f"{kind} {workers:>2} workers: {tps:8.0f} postings/s  p99 {p99:7.1f} ms{per}",
                  flush=True)
        _check(url)
    _bounds(figures)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    one, sixteen = figures[("service", 1)][0], figures[("service", 16)]
    base = figures[("baseline", 16)][0]
    print(f"pg_1w_tps={one:.0f} pg_16w_tps={sixteen[0]:.0f} baseline_16w_tps={base:.0f} "
          f"ratio_16w={sixteen[0] / base:.3f} scale_16_vs_1={sixteen[0] / one:.2f} "
          f"p99_16w_ms={sixteen[1]:.1f}")


def _bounds(figures: dict[tuple[str, int], tuple[float, float, float | None]]) -> None:
    """What this machine allows, from the same run: how far the baseline itself scales, how
    busy one service worker keeps a core (client and server take turns, so 16 workers can
    gain at most cores / that), and the CPU a posting costs on each side."""
    cores = os.cpu_count() or 1
    service_1, base_1, base_16 = (figures[("service", 1)], figures[("baseline", 1)],
                                  figures[("baseline", 16)])
    print(f"bounds on {cores} cores: baseline scale_16_vs_1={base_16[0] / base_1[0]:.2f}",
          end="")
    if service_1[2] is not None:
        busy = service_1[2] / 1000 * service_1[0]  # CPU seconds per second of one worker
        print(f"; one service worker keeps {busy:.2f} of a core busy, so at most "
              f"{cores / busy:.2f}x with more", end="")
    if service_1[2] is not None and base_1[2] is not None:
        print(f"; cpu per posting: service {service_1[2]:.2f} ms, baseline {base_1[2]:.2f} ms "
              f"(ratio at most {base_1[2] / service_1[2]:.2f} when both are CPU-bound)", end="")
    print(flush=True)


def _check(url: str) -> None:
    """The journal the service wrote verifies: every posting sealed, every total right."""
    from ledger.core.db import make_engine, make_sessionmaker, transaction
    from ledger.core.seal import seal_committed
    from ledger.core.verify import verify

    engine = make_engine(url)
    seal_committed(make_sessionmaker(engine))
    with transaction(make_sessionmaker(engine, read_only=True)) as s:
        report = verify(s)
    engine.dispose()
    assert report.ok and not report.unsealed, report
    print(f"verify: OK entries={report.entries}, none unsealed")


if __name__ == "__main__":
    main()
