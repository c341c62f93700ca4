"""In-process benchmark of the booking write path: statements and wall time per operation.

Stand-alone (not in CI). On a fresh SQLite file and on an empty PostgreSQL database
(`--pg-url`), it seeds the demo registry, a programme and one voucher with a pool of the firm's
authorisations for the demo provider, then calls the services as the API does, each in its own
`transaction`: `book()` `--warmup` + `--n` times, `complete()` on the measured bookings and
`cancel()` on `--cancels` more. Per operation it prints the SQL statements sent (a
`before_cursor_execute` listener, plus the engine's statements on the driver's own cursor,
`driver_rows`, which SQLAlchemy does not see; the after-commit seal included), the wall ms
(median and mean) and this process's CPU ms (mean: the client's share, less sensitive to the
load of a shared machine than the wall time; PostgreSQL's own work is not in it). `--root`
imports the project from another checkout (the code before a change).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from booking_fixture import Figures, prepare_bookings

ROOT = Path(__file__).resolve().parent.parent
PROGRAMME = "LN-CXQ-BOOK"





def _prepare(url: str, grants: int) -> tuple[Any, Any, str, list[str]]:
    """The booking fixture (bench/booking_fixture.py) on `url`: the engine, a session factory,
    the serial and the codes."""
    from ledger.core.db import make_sessionmaker

    engine, serial, codes = prepare_bookings(url, PROGRAMME, grants)
    return engine, make_sessionmaker(engine), serial, codes


def _timed(engine: Any, sessions: Any, name: str, calls: list[Callable[[Any], Any]]
           ) -> tuple[Figures, list[Any]]:
    """Run each call in its own transaction, counting the statements each sends."""
    from sqlalchemy import event

    from ledger.core.db import transaction

    count = [0]

    def _count(*_: object) -> None:
        count[0] += 1

    def _counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def run(*a: Any, **kw: Any) -> Any:
            count[0] += 1
            return real(*a, **kw)
        return run

    for module in _DRIVER_USERS:
        module.driver_rows = _counted(_REAL_DRIVER_ROWS)
    event.listen(engine, "before_cursor_execute", _count)
    figures, results = Figures(name, [], [], []), []
    try:
        for call in calls:
            count[0] = 0
            start, cpu = time.perf_counter(), time.process_time()
            with transaction(sessions) as s:
                results.append(call(s))
            figures.ms.append((time.perf_counter() - start) * 1000)
            figures.cpu_ms.append((time.process_time() - cpu) * 1000)
            figures.statements.append(count[0])
    finally:
        event.remove(engine, "before_cursor_execute", _count)
        for module in _DRIVER_USERS:
            module.driver_rows = _REAL_DRIVER_ROWS
    return figures, results


_DRIVER_USERS: list[Any] = []
_REAL_DRIVER_ROWS: Any = None


def _find_driver_users() -> None:
    """The modules that call `driver_rows` by their own name for it (to count its calls)."""
    global _REAL_DRIVER_ROWS
    import importlib

    from ledger.core import db

    _REAL_DRIVER_ROWS = db.driver_rows
    for name in ("ledger.core.pg_posting", "ledger.core.seal"):
        module = importlib.import_module(name)
        if getattr(module, "driver_rows", None) is db.driver_rows:
            _DRIVER_USERS.append(module)


def _run(url: str, args: argparse.Namespace) -> list[Figures]:
    from ledger.core.acting import By
    from ledger.vouchers import redemptions

    total = args.warmup + args.n + args.cancels
    engine, sessions, serial, codes = _prepare(url, total)
    by = By(0, "bench:provider")

    def booking(code: str) -> Callable[[Any], Any]:
        return lambda s: redemptions.book(s, voucher=serial, authorisation=code, provider_id=1,
                                          category="testing", cost_fen=200, description="bench",
                                          by=by).id

    _timed(engine, sessions, "warm-up", [booking(c) for c in codes[:args.warmup]])
    booked, ids = _timed(engine, sessions, "book",
                         [booking(c) for c in codes[args.warmup:args.warmup + args.n]])
    completed, _ = _timed(engine, sessions, "complete", [
        (lambda s, r=r: redemptions.complete(s, r, provider_id=1, by=by)) for r in ids])
    _, more = _timed(engine, sessions, "book", [booking(c) for c in codes[-args.cancels:]])
    cancelled, _ = _timed(engine, sessions, "cancel", [
        (lambda s, r=r: redemptions.cancel(s, r, by=by, provider_id=1)) for r in more])
    engine.dispose()
    return [booked, completed, cancelled]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="Measured bookings (and completions)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--cancels", type=int, default=100)
    parser.add_argument("--pg-url", help="An empty PostgreSQL database (no PostgreSQL run without)")
    parser.add_argument("--root", type=Path, default=ROOT, help="The checkout to import")
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    print(f"code: {args.root.resolve()}", flush=True)
    _find_driver_users()
    with tempfile.TemporaryDirectory() as tmp:
        for figures in _run(f"sqlite:///{Path(tmp) / 'bench.db'}", args):
            print(f"sqlite {figures.line()}", flush=True)
    if args.pg_url:
        for figures in _run(args.pg_url, args):
            print(f"postgresql {figures.line()}", flush=True)
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
