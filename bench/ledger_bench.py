"""Ledger core benchmark: batch and single posting vs raw sqlite3, balance reads, as_of, verify.

Run with `make bench` (or `python bench/ledger_bench.py --entries 100000`). Every figure is
measured in the same run as its baseline, so ratios hold on a noisy machine. The last line is
the machine-readable summary recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ledger.core.accounts import balance, balance_as_of, open_account
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.journal import EntryRequest, Move, post_entries, post_entry
from ledger.core.migrations import upgrade
from ledger.core.verify import chain_bodies, verify

IMPORT_FIRMS = 1_000

VOUCHERS = 200
PROVIDERS = 20


def _requests(start: int, count: int) -> list[EntryRequest]:
    """Entries of two transfers: issue to a voucher, then spend part of it at a provider."""
    out = []
    for n in range(start, start + count):
        voucher = f"B:voucher:{n % VOUCHERS}"
        out.append(
            EntryRequest(
                (
                    Move(voucher, "B:budget", 1_000 + n % 97),
                    Move(f"B:provider:{n % PROVIDERS}", voucher, 500 + n % 89),
                ),
                flow="bench",
                ref=f"order:{n}",
                actor="bench",
            )
        )
    return out


def _setup(url: str) -> tuple:  # type: ignore[type-arg]
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as s:
        open_account(s, "B:funding", "B")
        open_account(s, "B:budget", "B", credits_must_not_exceed_debits=True)
        for v in range(VOUCHERS):
            open_account(s, f"B:voucher:{v}", "B", credits_must_not_exceed_debits=True)
        for p in range(PROVIDERS):
            open_account(s, f"B:provider:{p}", "B", credits_must_not_exceed_debits=True)
        post_entries(s, [EntryRequest((Move("B:budget", "B:funding", 10**12),), flow="bench")])
    return engine, sessions


def _median_seconds(fn, repeat: int = 200) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def _interleaved_medians(first, second, rounds: int = 500) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median time of each of two calls, alternated call by call."""
    a, b = [], []
    for _ in range(rounds):
        for fn, samples in ((first, a), (second, b)):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def _raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


def _raw_floor(conn: sqlite3.Connection, first: int, entries: int) -> float:
    """Insert the entry, transfer and seal rows of entries `first`… (as the batch posts them)
    with plain executemany in one transaction, no checks; seconds (building rows not timed)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    numbers = range(first, first + entries)
    entry_rows = [(n, when, "bench", f"order:{n}", "bench", "", None) for n in numbers]
    # The chain's rows: what the seal step writes for each entry.
    seal_rows = [(n, n, "0" * 64, f"{n:064x}", when) for n in numbers]
    transfer_rows = []
    for n in numbers:
        transfer_rows.append((2 * n - 1, n, 2 + n % VOUCHERS, 1, 1_000 + n % 97, "normal", None))
        transfer_rows.append(
            (2 * n, n, 2 + VOUCHERS + n % PROVIDERS, 2 + n % VOUCHERS, 500 + n % 89, "normal", None)
        )
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO journal_entries (id, posted_at, flow, ref, actor, memo, "
        "reverses_entry_id) VALUES (?,?,?,?,?,?,?)",
        entry_rows,
    )
    conn.executemany(
        "INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at) VALUES (?,?,?,?,?)",
        seal_rows,
    )
    conn.executemany(
        "INSERT INTO transfers (id, entry_id, debit_account_id, credit_account_id, "
        "amount, kind, pending_id) VALUES (?,?,?,?,?,?,?)",
        transfer_rows,
    )
    conn.execute("COMMIT")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=300)
    parser.add_argument("--import-rows", type=int, default=100_000)
    args = parser.parse_args()
    # Removed afterwards: each run writes ~185 MB of databases.
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as workdir:
        _run(Path(workdir), args)


def _run(workdir: Path, args: argparse.Namespace) -> None:
    """Every measurement, on databases under `workdir`; prints the figures."""
    url = f"sqlite:///{workdir / 'bench.db'}"
    engine, sessions = _setup(url)

    # A second database stopped at 1,000 entries: its balance read is the baseline, timed
    # interleaved with the large one so that machine noise hits both alike.
    small_engine, small_sessions = _setup(f"sqlite:///{workdir / 'small.db'}")
    for target in (sessions, small_sessions):
        with transaction(target) as s:
            post_entries(s, _requests(0, 1_000))
    reader = make_sessionmaker(engine, read_only=True)

    # The floor is timed batch by batch right after the same batch is posted, so that machine
    # noise hits both alike; building the requests and the floor's rows is not timed.
    _copy_schema(workdir / "bench.db", workdir / "raw.db")
    raw = _raw_connection(workdir / "raw.db")
    posted = 1_000
    post_seconds = raw_seconds = 0.0
    mid_time = None
    while posted < args.entries:
        count = min(args.batch, args.entries - posted)
        requests = _requests(posted, count)
        t0 = time.perf_counter()
        with transaction(sessions) as s:
            post_entries(s, requests)
        post_seconds += time.perf_counter() - t0
        raw_seconds += _raw_floor(raw, posted - 1_000 + 1, count)
        posted += count
        if mid_time is None and posted >= args.entries // 2:
            mid_time = datetime.now(UTC)
    raw.close()
    entries_per_s = (args.entries - 1_000) / post_seconds

    with transaction(reader) as s, transaction(make_sessionmaker(small_engine, True)) as small:
        balance_small, balance_large = _interleaved_medians(
            lambda: balance(small, "B:voucher:7"), lambda: balance(s, "B:voucher:7")
        )
        at = mid_time or datetime.now(UTC)
        asof_seconds = _median_seconds(lambda: balance_as_of(s, "B:voucher:7", at))
        t0, cpu0 = time.perf_counter(), time.process_time()
        report = verify(s)
        # CPU seconds too (all threads of this process): on a shared machine wall time
        # mostly measures the neighbours.
        verify_seconds, verify_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert report.ok, report
    with transaction(reader) as s:
        t0 = time.perf_counter()
        spread = verify(s, workers=2, min_parallel=1)
        spread_seconds = time.perf_counter() - t0
    assert spread.ok and spread.head_hash == report.head_hash, spread
    total_entries = report.entries

    # The floor for verify: plain hashlib over the same canonical bytes, chained.
    with transaction(reader) as s:
        bodies = [body for *_, body in chain_bodies(s)]
    t0 = time.perf_counter()
    prev = "0" * 64
    for body in bodies:
        prev = hashlib.sha256(prev.encode() + b"\n" + body).hexdigest()
    hash_seconds = time.perf_counter() - t0
    assert prev == report.head_hash, "the plain-hashlib chain must end at verify's head"
    engine.dispose()
    small_engine.dispose()

    raw_per_s = (args.entries - 1_000) / raw_seconds
    single_seconds, hand_seconds = _single_postings(workdir, args.singles)
    import_seconds = import_vouchers_seconds(workdir, args.import_rows)

    verify_per_s = total_entries / verify_seconds
    hash_per_s = total_entries / hash_seconds
    print(f"machine: {_machine()}")
    print(
        f"posted {args.entries - 1_000} entries (2 transfers each) in {post_seconds:.2f} s "
        f"in batches of {args.batch}; raw executemany floor {raw_seconds:.2f} s"
    )
    print(
        f"balance read: {balance_small * 1e6:.0f} µs at 1,000 entries, "
        f"{balance_large * 1e6:.0f} µs at {total_entries}"
    )
    print(
        f"as_of read: {asof_seconds * 1e3:.3f} ms; verify {total_entries} entries in "
        f"{verify_seconds:.2f} s ({verify_cpu:.2f} s CPU, {total_entries / verify_cpu:.0f} "
        f"entries per CPU second), {spread_seconds:.2f} s with 2 processes "
        f"(hashlib alone {hash_seconds:.2f} s)"
    )
    print(
        f"single postings: {args.singles} in {single_seconds:.2f} s through post_entry "
        f"(seal and commit each), {hand_seconds:.2f} s as hand-written sqlite3 transactions"
    )
    print(
        f"voucher import: {args.import_rows} rows ({IMPORT_FIRMS} firms) through the import "
        f"service in {import_seconds:.2f} s (parse, decide, write, commit and seal)"
    )
    print(
        f"entries_per_s={entries_per_s:.0f} ratio_vs_raw={entries_per_s / raw_per_s:.3f} "
        f"balance_ratio={balance_large / balance_small:.2f} asof_ms={asof_seconds * 1e3:.3f} "
        f"verify_per_s={verify_per_s:.0f} verify_ratio={verify_per_s / hash_per_s:.3f} "
        f"single_ratio={hand_seconds / single_seconds:.3f} "
        f"import_100k_s={import_seconds * 100_000 / args.import_rows:.1f}"
    )


def import_vouchers_seconds(workdir: Path, rows: int, url: str | None = None) -> float:
    """Seconds to import `rows` vouchers from one CSV file through the import service (the
    `vouchers import` path), on a programme with IMPORT_FIRMS certified firms; on a new SQLite
    file unless `url` names an empty database."""
    from datetime import date

    from ledger.core.acting import By
    from ledger.programmes.programme import appropriate, create_programme
    from ledger.registry.credit_code import check_character
    from ledger.registry.firms import FIRMS, Certification
    from ledger.registry.parties import PartyData
    from ledger.vouchers.csv_import import import_vouchers

    url = url or f"sqlite:///{workdir / 'import.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    by = By(0, "bench")
    codes = []
    for n in range(IMPORT_FIRMS):
        body = f"91210200MB{n:07d}"
        codes.append(body + check_character(body))
    with transaction(sessions) as s:
        FIRMS.insert_many(s, [
            (PartyData(code, f"大连测试软件有限公司{n}", "大连", "高新园区", "small", f"孙{n}",
                       (f"孙{n}",), None, None),
             "active", (Certification("tech_sme", 2026, date(2026, 3, 1)),))
            for n, code in enumerate(codes)])
        create_programme(s, code="BENCH", name="bench", fiscal_year=2026, policy="LN-CXQ",
                         by=by)
        appropriate(s, "BENCH", rows * 20_000, by=by)
    data = ("credit_code,amount\n" + "".join(
        f"{codes[n % IMPORT_FIRMS]},{100 + n % 50}\n" for n in range(rows))).encode()
    t0 = time.perf_counter()
    with transaction(sessions) as s:
        done = import_vouchers(s, "BENCH", data, by=by)
    seconds = time.perf_counter() - t0
    assert len(done.ids) == rows, done.rows
    with transaction(sessions) as s:
        again = import_vouchers(s, "BENCH", data, by=by)
        assert again.already_imported and not again.ids
        assert verify(s).ok
    engine.dispose()
    return seconds


def _copy_schema(source: Path, target: Path) -> None:
    """A database with the same schema and accounts as the benchmark's, but an empty journal."""
    upgrade(f"sqlite:///{target}")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, isolation_level=None)
    rows = src.execute(
        "SELECT id, code, ledger, credits_must_not_exceed_debits, "
        "debits_must_not_exceed_credits, 0, 0, 0, 0, opened_at, NULL FROM accounts"
    ).fetchall()
    dst.execute("BEGIN")
    dst.executemany("INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    dst.execute("COMMIT")
    src.close()
    dst.close()


def _single_postings(workdir: Path, count: int) -> tuple[float, float]:
    """`count` postings of one transfer, one transaction each (sealed before its commit),
    through the service and as hand-written sqlite3 statements doing the same work; seconds
    for each."""
    engine, sessions = _setup(f"sqlite:///{workdir / 'single.db'}")
    _setup(f"sqlite:///{workdir / 'hand.db'}")[0].dispose()
    conn = sqlite3.connect(workdir / "hand.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    service = hand = 0.0
    # Alternated posting by posting, so that machine noise hits both alike.
    for request in _requests(0, count):
        t0 = time.perf_counter()
        with transaction(sessions) as s:
            post_entry(s, EntryRequest(request.transfers[:1], flow="bench", ref=request.ref))
        t1 = time.perf_counter()
        _hand_posting(conn, request.transfers[0], request.ref)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        service, hand = service + t1 - t0, hand + t2 - t1
    conn.close()
    engine.dispose()
    return service, hand


def _hand_posting(conn: sqlite3.Connection, move: Move, ref: str) -> None:
    """The statements of one posting and its seal, written by hand (the baseline): one
    transaction, as the service runs them on SQLite."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    conn.execute("BEGIN IMMEDIATE")
    accounts = {
        code: [aid, *totals]
        for aid, code, *totals in conn.execute(
            "SELECT id, code, debits_pending, debits_posted, credits_pending, credits_posted "
            "FROM accounts WHERE code IN (?, ?) ORDER BY id",
            (move.debit, move.credit),
        )
    }
    debit, credit = accounts[move.debit], accounts[move.credit]
    debit[2] += move.amount
    credit[4] += move.amount
    assert credit[3] + credit[4] <= credit[2] or credit[1] == 1  # the limit, as the service
    entry_id, transfer_id = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) + 1 FROM journal_entries), "
        "(SELECT coalesce(max(id), 0) + 1 FROM transfers)"
    ).fetchone()
    conn.execute(
        "INSERT INTO journal_entries (id, posted_at, flow, ref, actor, memo, reverses_entry_id) "
        "VALUES (?,?,?,?,?,?,NULL)",
        (entry_id, now, "bench", ref, "system", ""),
    )
    conn.execute(
        "INSERT INTO transfers (id, entry_id, debit_account_id, credit_account_id, amount, kind, "
        "pending_id) VALUES (?,?,?,?,?,'normal',NULL)",
        (transfer_id, entry_id, debit[0], credit[0], move.amount),
    )
    conn.executemany(
        "INSERT INTO account_history VALUES (?,?,?,?,?,?,?)",
        [(a[0], entry_id, now, *a[1:]) for a in (debit, credit)],
    )
    conn.executemany(
        "UPDATE accounts SET debits_pending=?, debits_posted=?, credits_pending=?, "
        "credits_posted=?, last_posted_at=? WHERE id=?",
        [(*a[1:], now, a[0]) for a in (debit, credit)],
    )
    # The seal, in the same transaction (SQLite has one writer, so the entry needs no queue
    # row): the head, whether anything older is queued and the largest entry id; the entry's
    # bytes from the values in hand, the seal row, the head.
    sealed, prev, older, largest = conn.execute(
        "SELECT sealed_entries, head_hash, EXISTS (SELECT 1 FROM journal_unsealed), "
        "(SELECT max(id) FROM journal_entries) FROM ledger_head WHERE id = 1"
    ).fetchone()
    assert not older and largest == entry_id
    body = "\x1f".join(
        map(str, (entry_id, now, "bench", ref, "system", transfer_id, move.debit, move.credit,
                  move.amount))
    ).encode()
    digest = hashlib.sha256(prev.encode() + b"\n" + body).hexdigest()
    conn.execute(
        "INSERT INTO journal_seals VALUES (?,?,?,?,?)", (sealed + 1, entry_id, prev, digest, now)
    )
    conn.execute(
        "UPDATE ledger_head SET sealed_entries=?, head_hash=?, last_posted_at=? WHERE id = 1",
        (sealed + 1, digest, now),
    )
    conn.execute("COMMIT")


def _machine() -> str:
    import os
    import platform

    return (
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


if __name__ == "__main__":
    main()
