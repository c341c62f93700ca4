"""In-process timings of the issue and claim paths (issue 15 item 2); not in CI or `make bench`.

Each call runs in its own `transaction` as the API's writes do (the seal step after commit
included): `issue_voucher`, `file_claim` (three new evidence files each) and the claim's
`approve`. Printed per path: median and mean wall ms per call over `--calls` calls after
`--warmup`, the median process CPU ms (this process only: not the PostgreSQL server's),
and the statements per call — what SQLAlchemy's `before_cursor_execute` sees plus
the driver-level statements of the PostgreSQL posting and seal (`driver_rows`); PostgreSQL's
BEGIN and both engines' COMMIT are not counted.

    python bench/claim_issue_bench.py [--pg-url postgresql+psycopg://app@host/db]
        [--code /tmp/old-checkout] [--calls 300] [--warmup 30]

`--pg-url` names an existing database the bench empties (DROP SCHEMA public) and migrates;
without it only SQLite runs. `--code` runs another checkout's code (e.g. `git archive` of the
commit before a change) with this same script, for before/after figures back to back.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = "LN-CXQ-CLAIMS"
PDF = b"%PDF-1.7\n" + b"x" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"y" * 2000


class Counter:
    """Statements sent by SQLAlchemy and by the core's driver-level helper."""

    def __init__(self) -> None:
        self.n = 0

    def bump(self, *_: object, **__: object) -> None:
        self.n += 1


def _count_driver_rows(counter: Counter) -> None:
    """Count the PostgreSQL posting's and seal's driver-level statements too."""
    for name in ("ledger.core.pg_posting", "ledger.core.seal"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        original = getattr(module, "driver_rows", None)
        if original is None:
            continue

        def counted(*args: Any, _original: Callable[..., Any] = original, **kw: Any) -> Any:
            counter.bump()
            return _original(*args, **kw)

        module.driver_rows = counted  # type: ignore[attr-defined]


def _empty(url: str) -> None:
    from sqlalchemy import text

    from ledger.core.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _prepare(sessions: Any, claims_wanted: int) -> list[int]:
    """Demo registry, the programme with budget, and `claims_wanted` completed and confirmed
    redemptions of firm 1 by provider 1 (2.00 yuan of testing each): their ids."""
    from demo.seed import seed_demo
    from ledger.core.acting import By
    from ledger.core.db import transaction
    from ledger.programmes.programme import appropriate, create_programme
    from ledger.registry.providers import Provider
    from ledger.vouchers import redemptions
    from ledger.vouchers.authorisations import authorise
    from ledger.vouchers.voucher import issue_voucher

    op, provider, firm = By(1, "op"), By(2, "prov"), By(4, "firm")
    with transaction(sessions) as s:
        seed_demo(s)
        create_programme(s, code=PROGRAMME, name="bench", fiscal_year=2026, policy="LN-CXQ",
                         by=op)
        appropriate(s, PROGRAMME, 1_000_000_000, by=op)
        voucher = issue_voucher(s, PROGRAMME, 2, 10_000_000, by=op)
        credit_code = s.get(Provider, 1).credit_code
        ids = []
        for _ in range(claims_wanted):
            grant = authorise(s, firm_id=2, voucher=voucher.serial, programme=PROGRAMME,
                              provider_credit_code=credit_code, by=firm)
            ids.append(redemptions.book(
                s, voucher=voucher.serial, authorisation=grant.code, provider_id=1,
                category="testing", cost_fen=200, description="bench", by=provider).id)
    with transaction(sessions) as s:
        for rid in ids:
            redemptions.complete(s, rid, provider_id=1, by=provider)
            redemptions.confirm(s, rid, firm_id=2, by=firm)
    return ids


def _time(name: str, sessions: Any, counter: Counter, calls: int, warmup: int,
          work: Callable[[Any, int], object]) -> str:
    from ledger.core.db import transaction

    times: list[float] = []
    cpu: list[float] = []
    inside: list[int] = []
    total: list[int] = []
    for i in range(warmup + calls):
        start_n = counter.n
        start, start_cpu = time.perf_counter(), time.process_time()
        with transaction(sessions) as s:
            work(s, i)
            in_call = counter.n - start_n
        elapsed, used = time.perf_counter() - start, time.process_time() - start_cpu
        if i >= warmup:
            times.append(elapsed * 1000)
            cpu.append(used * 1000)
            inside.append(in_call)
            total.append(counter.n - start_n)
    return (f"{name:<12} median {statistics.median(times):6.2f} ms  mean "
            f"{statistics.fmean(times):6.2f} ms  CPU median {statistics.median(cpu):5.2f} ms  "
            f"statements {statistics.fmean(inside):5.1f} in "
            f"the call, {statistics.fmean(total):5.1f} with commit hooks  ({calls} calls)")


def run(url: str, calls: int, warmup: int) -> list[str]:
    """Set up a fresh database at `url` and time the three paths on it."""
    from sqlalchemy import event

    from ledger.core.acting import By
    from ledger.core.db import make_engine, make_sessionmaker
    from ledger.core.migrations import upgrade
    from ledger.registry.evidence import Upload
    from ledger.vouchers import claims
    from ledger.vouchers.voucher import issue_voucher

    if url.startswith("postgresql"):
        _empty(url)
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    n = warmup + calls
    redemption_ids = _prepare(sessions, n)
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter.bump)
    _count_driver_rows(counter)
    op, provider, approver = By(1, "op"), By(2, "prov"), By(3, "appr")
    claim_ids: list[int] = []

    def issue(s: Any, _: int) -> object:
        return issue_voucher(s, PROGRAMME, 1, 100_000, by=op)

    def file(s: Any, i: int) -> object:
        tag = str(i).encode()
        files = (Upload("contract", "contract.pdf", PDF + tag),
                 Upload("invoice", "invoice.png", PNG + tag),
                 Upload("service_report", "report.pdf", PDF + b"r" + tag))
        view = claims.file_claim(s, redemption_ids[i], provider_id=1, files=files, by=provider)
        claim_ids.append(view.id)
        return view

    def approve(s: Any, i: int) -> object:
        return claims.approve(s, claim_ids[i], by=approver)

    lines = [_time("issue", sessions, counter, calls, warmup, issue),
             _time("file_claim", sessions, counter, calls, warmup, file),
             _time("approve", sessions, counter, calls, warmup, approve)]
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose code runs")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    with tempfile.TemporaryDirectory() as tmp:
        for label, url in (("sqlite", f"sqlite:///{tmp}/bench.db"), ("postgresql", args.pg_url)):
            if url is None:
                continue
            for line in run(url, args.calls, args.warmup):
                print(f"{label:<10} {line}", flush=True)


if __name__ == "__main__":
    main()
