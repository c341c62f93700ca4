"""Console benchmark: how long each list page takes to render, first page and a deep page, on
the demo year plus 100,000 vouchers and 1,000,000 journal entries, on SQLite and PostgreSQL.

Run with `make bench` (or `python bench/console_bench.py --scale 0.05` for a quick run). The
same data is built and measured on an SQLite file and on PostgreSQL (`--pg-url`, a database
that is emptied first, or else a throw-away cluster started as .ci/run does). The search pages
(`?q=` a serial, a name or a credit code prefix) are measured beside the plain lists. The
data is built fast: the demo year through the services (`build_demo`), then vouchers and
their accounts inserted in bulk with their issue entries posted through the batch API
`post_entries`, then spending entries (voucher → provider) to reach the journal's size, and
an operation-log row per bulk voucher as real issuing would write. Every page is rendered
through the whole app in process (Starlette's TestClient) signed in as the role that owns it.
The last line is the machine-readable summary recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from fastapi.testclient import TestClient
from pg_cluster import throwaway_cluster
from sqlalchemy import func, insert, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from demo.seed import build_demo
from ledger.core.acting import By, today
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.journal import EntryRequest, Move, post_entries
from ledger.core.migrations import upgrade
from ledger.core.models import Account, JournalEntry
from ledger.core.oplog import Operation
from ledger.programmes.programme import Programme, account, appropriate, create_programme, policies
from ledger.registry import users
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.voucher import FLOW_ISSUE, Voucher
from rules import voucher_expiry

KEY = "console-bench-signing-key-" + "b" * 32
PROGRAMME = "BENCH-2026"
BATCH = 10_000
VOUCHER_FEN = 5_000_000
_TOTAL = re.compile(r"Rows [\d,]+–[\d,]+ of ([\d,]+)")


def _say(text: str) -> None:
    print(text, flush=True)


def build(url: str, vouchers: int, entries: int) -> None:
    """The demo year, then `vouchers` bulk vouchers and journal entries up to `entries`."""
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    started = time.perf_counter()
    with transaction(sessions) as s:
        build_demo(s)
    _say(f"demo year built in {time.perf_counter() - started:.1f} s")
    with transaction(sessions) as s:
        operator = users.find_user(s, "demo-operator")
        assert operator is not None
        by = By(operator.id, operator.username)
        create_programme(s, code=PROGRAMME, name="基准测试创新券", fiscal_year=today().year,
                         policy="LN-CXQ", by=by)
        appropriate(s, PROGRAMME, vouchers * VOUCHER_FEN * 2, by=by)
        firms = list(s.scalars(select(Firm.id).order_by(Firm.id)))
        providers = list(s.scalars(select(Provider.id).order_by(Provider.id)))
        prog = s.scalar(select(Programme).where(Programme.code == PROGRAMME))
        assert prog is not None
        prog_id, policy = prog.id, prog.policy
        for p in providers:
            s.execute(insert(Account).values(**_account(account(PROGRAMME, "provider", p))))
    started = time.perf_counter()
    day = today()
    expires = voucher_expiry(policies(), policy, day)
    for start in range(0, vouchers, BATCH):
        numbers = range(start + 1, min(vouchers, start + BATCH) + 1)
        codes = [account(PROGRAMME, "voucher", f"V{n:06d}") for n in numbers]
        with transaction(sessions) as s:
            s.execute(insert(Account), [_account(c, limited=True) for c in codes])
            posted = post_entries(s, [EntryRequest(
                (Move(c, account(PROGRAMME, "budget"), VOUCHER_FEN),), flow=FLOW_ISSUE,
                ref=f"voucher:{PROGRAMME}:V{n:06d}", actor="bench",
                memo=f"firm {firms[n % len(firms)]}") for n, c in zip(numbers, codes,
                                                                       strict=True)])
            now = dt.datetime.now(dt.UTC)
            s.execute(insert(Voucher), [dict(
                programme_id=prog_id, serial=f"V{n:06d}", account_code=c,
                firm_id=firms[n % len(firms)], amount_fen=VOUCHER_FEN, issued_on=day,
                issued_year=day.year, expires_on=expires, status="active", expired_fen=0,
                issue_entry_id=e.id, issued_by="bench", created_at=now)
                for n, c, e in zip(numbers, codes, posted, strict=True)])
            s.execute(insert(Operation), [dict(
                at=now, channel="cli", actor="bench", role="operator", action="vouchers.issue",
                object_type="voucher", object_id=str(e.id), idempotency_key=None,
                outcome="done", code=None, message="") for e in posted])
            s.execute(update(Programme).where(Programme.id == prog_id)
                      .values(vouchers_issued=numbers[-1]))
    _say(f"{vouchers} vouchers issued in bulk in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with transaction(sessions) as s:
        have = s.scalar(select(func.count()).select_from(JournalEntry)) or 0
    n = 0
    while have < entries:
        count = min(BATCH, entries - have)
        requests = []
        for _ in range(count):
            n += 1
            voucher = account(PROGRAMME, "voucher", f"V{n % vouchers + 1:06d}")
            provider = account(PROGRAMME, "provider", providers[n % len(providers)])
            requests.append(EntryRequest((Move(provider, voucher, 100 + n % 97),),
                                         flow="bench.spend", ref=f"spend:{n}", actor="bench"))
        with transaction(sessions) as s:
            post_entries(s, requests)
        have += count
        if have % 100_000 < BATCH:
            _say(f"  journal: {have} entries ({time.perf_counter() - started:.0f} s)")
    _say(f"journal filled to {have} entries in {time.perf_counter() - started:.1f} s")


def _account(code: str, limited: bool = False) -> dict[str, object]:
    return dict(code=code, ledger=PROGRAMME, credits_must_not_exceed_debits=limited,
                debits_must_not_exceed_credits=False, debits_pending=0, debits_posted=0,
                credits_pending=0, credits_posted=0, opened_at=dt.datetime.now(dt.UTC))


PASSWORD = {"firm": "demo-firm-2026", "provider": "demo-provider-2026",
            "operator": "demo-operator-2026", "approver": "demo-approver-2026",
            "auditor": "demo-auditor-2026"}
# Each list page, the role that opens it, and how its deep page is reached.
PAGES = (
    ("firm", "/firm", "offset"),
    ("firm", "/firm/confirmations", "offset"),
    ("firm", "/firm/awards", "offset"),
    ("provider", "/provider", "offset"),
    ("provider", "/provider/claims", "offset"),
    ("provider", "/provider/money", "offset"),
    ("operator", "/operator/vouchers", "offset"),
    ("operator", f"/operator/vouchers?programme={PROGRAMME}", "offset"),
    ("operator", "/operator/firms", "offset"),
    ("operator", "/operator/providers", "offset"),
    ("operator", "/operator/batches", "offset"),
    ("approver", "/approver?status=", "offset"),
    ("approver", "/approver/awards?status=", "offset"),
    ("auditor", "/auditor", "keyset"),
    ("auditor", f"/auditor?program={PROGRAMME}", "keyset"),
    ("auditor", "/auditor?program=LN-CXQ-2026", "keyset"),
    ("auditor", f"/auditor?account={PROGRAMME}:budget", "keyset"),
    ("auditor", "/auditor/operations", "offset"),
)


def search_pages(url: str) -> tuple[tuple[str, str, str], ...]:
    """The `?q=` pages, searching for prefixes that the built data holds (names, codes)."""
    sessions = make_sessionmaker(make_engine(url))
    with transaction(sessions) as s:
        firm_name, firm_code = s.execute(
            select(Firm.name, Firm.credit_code).order_by(Firm.id).limit(1)).one()
        provider_name, provider_code = s.execute(
            select(Provider.name, Provider.credit_code).order_by(Provider.id).limit(1)).one()
    firm, provider = quote(firm_name[:2]), quote(provider_name[:2])
    return (
        ("firm", "/firm?q=V", "offset"),
        ("firm", f"/firm/confirmations?q={provider}", "offset"),
        ("provider", f"/provider?q={firm}", "offset"),
        ("provider", f"/provider/claims?q={firm}", "offset"),
        # A serial prefix every voucher has: redemptions and claims must not list them all.
        ("provider", "/provider?q=V", "offset"),
        ("provider", "/provider/claims?q=V", "offset"),
        ("operator", "/operator/vouchers?q=V05", "offset"),
        ("operator", f"/operator/vouchers?q={firm}", "offset"),
        ("operator", f"/operator/vouchers?q={firm_code[:8]}", "offset"),
        ("operator", f"/operator/firms?q={firm}", "offset"),
        ("operator", f"/operator/providers?q={provider_code[:6]}", "offset"),
        ("approver", f"/approver?status=&q={provider}", "offset"),
        ("approver", f"/approver?status=&q={firm}", "offset"),
        ("approver", f"/approver/awards?status=&q={firm}", "offset"),
        ("approver", f"/approver/applications?status=&q={firm}", "offset"),
        ("firm", "/firm/applications?q=V", "offset"),
    )


def _client(url: str, role: str) -> TestClient:
    engine = make_engine(url)
    app = create_app(engine, key=KEY, minutes=600)
    client = TestClient(app, base_url="http://testserver")
    page = client.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token
    signed = client.post("/sign-in", data={"csrf_token": token.group(1),
                                           "username": f"demo-{role}",
                                           "password": PASSWORD[role], "next": "/"},
                         follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return client


def _deep(client: TestClient, route: str, how: str, last_entry: int) -> str:
    join = "&" if "?" in route else "?"
    if how == "keyset":
        return f"{route}{join}after={last_entry * 9 // 10}"
    first = client.get(route, headers={"Accept-Language": "en"})
    found = _TOTAL.search(first.text)
    total = int(found.group(1).replace(",", "")) if found else 0
    return f"{route}{join}offset={max(0, total - 20)}"


def _timed(client: TestClient, url: str, rounds: int) -> tuple[float, float]:
    """Median and p95 milliseconds of `rounds` requests for `url` (after one warm-up)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * len(times)) - 1)]


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(url: str, rounds: int) -> tuple[list[tuple[str, float, float]], float]:
    """Median and p95 milliseconds of each page, first and deep; and the p95 of `/health`
    (the same app, no database work: what the machine's load alone costs a request)."""
    sessions = make_sessionmaker(make_engine(url))
    with transaction(sessions) as s:
        last_entry = s.scalar(select(func.max(JournalEntry.id))) or 0
    clients = {role: _client(url, role) for role in PASSWORD}
    _say(f"measuring ({_load()})")
    results = []
    health = []
    for role, route, how in PAGES + search_pages(url):
        client = clients[role]
        for url_ in (route, _deep(client, route, how, last_entry)):
            median, p95 = _timed(client, url_, rounds)
            results.append((url_, median, p95))
            _say(f"{url_:70s} median {median:7.1f} ms  p95 {p95:7.1f} ms")
        # The baseline, interleaved with the pages so that it sees the same load.
        health.append(_timed(client, "/api/v1/health", max(5, rounds // 3))[1])
    baseline = statistics.median(health)
    _say(f"{'/api/v1/health (baseline, median of the p95s)':70s} p95 {baseline:7.1f} ms")
    _say(f"measured ({_load()})")
    return results, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of 100,000 vouchers and 1,000,000 entries (default 1)")
    parser.add_argument("--rounds", type=int, default=30, help="timed requests per page")
    parser.add_argument("--db", help="an SQLite file to build (or reuse with --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the already built --db and --pg-url")
    parser.add_argument("--pg-url", help="a PostgreSQL database to empty, build and measure "
                        "(default: a throw-away cluster, as .ci/run starts)")
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="which to measure (default both; the summary line needs both)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    vouchers = max(100, int(100_000 * args.scale))
    entries = max(vouchers * 2, int(1_000_000 * args.scale))
    # The demo's users with the cheapest Argon2 cost: sign-in is not what is measured.
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    users._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))  # type: ignore[attr-defined]
    worst: dict[str, tuple[str, float, float]] = {}
    with contextlib.ExitStack() as stack:
        # A throw-away SQLite file is removed afterwards (`--db` keeps it).
        path = Path(args.db) if args.db else Path(
            stack.enter_context(tempfile.TemporaryDirectory())) / "console-bench.db"
        pg_url = ""
        if "postgresql" in engines:
            pg_url = args.pg_url or stack.enter_context(throwaway_cluster(54339, "console_bench"))
        for engine, url in (("sqlite", f"sqlite:///{path}"), ("postgresql", pg_url)):
            if engine not in engines:
                continue
            _say(f"== {engine}")
            if not args.reuse:
                if engine == "postgresql":
                    empty(url)
                _say(f"building: demo year + {vouchers} vouchers, journal to {entries} entries")
                build(url, vouchers, entries)
            else:
                upgrade(url)  # a database built by an older checkout gains the new indexes
            results, health = measure(url, args.rounds)
            worst[engine] = max(results, key=lambda r: r[2])
            # The ratios the standards ask for: the worst page against the lightest list and
            # against /health measured in the same run.
            baseline = min(r[2] for r in results)
            _say(f"{engine}: worst p95 {worst[engine][2]:.1f} ms = "
                 f"{worst[engine][2] / baseline:.1f} x the lightest page ({baseline:.1f} ms), "
                 f"{worst[engine][2] / health:.1f} x /api/v1/health ({health:.1f} ms)")
    if len(worst) < 2:
        return
    page = max(worst.values(), key=lambda r: r[2])[0]
    print(f"console_p95_ms={worst['sqlite'][2]:.1f} "
          f"pg_console_p95_ms={worst['postgresql'][2]:.1f} worst_page={page}")


def empty(url: str) -> None:
    """Drop everything in the PostgreSQL database at `url` (the bench builds it afresh)."""
    with make_engine(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


if __name__ == "__main__":
    main()
