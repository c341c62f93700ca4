"""Programme audit benchmark: render 项目审计报告 over a programme year of 10 k and of 1 M entries.

Each year is built on its own SQLite database: firms in Liaoning's 14 cities (skewed towards
沈阳 and 大连), providers in every category, vouchers issued month by month, three
redemptions a voucher, a payment entry at each month's end, and refusals in the operation
log. Journal entries go through the batch API (`ledger.core.journal.post_entries`); the registry
and domain rows (vouchers, redemptions, batches) are bulk-inserted beside them with the ids
of the entries that moved their money, and the redemptions' and vouchers' monthly totals are
then filled from them in one INSERT … SELECT each, as migrations 0006 and 0015 backfill them.
The audit of each year is then rendered in a fresh process, whose time and peak RSS are
measured, so neither the build nor its garbage is counted; the two years take turns, five
renders each, and the best time of each makes the ratio. `--workdir DIR` keeps the two
databases there and reuses them on the next run (migrated to the head first), skipping the
build.

Run with `make bench` (or `python bench/report_bench.py`). The last line is the summary
recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import io
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from ledger.core.accounts import open_account
from ledger.core.acting import By
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.journal import EntryRequest, Move, PostPending, post_entries
from ledger.core.migrations import upgrade
from ledger.core.models import Account
from ledger.core.oplog import Operation
from ledger.payments.batches import PaymentBatch
from ledger.programmes.programme import FLOW_APPROPRIATE, create_programme
from ledger.registry.firms import Firm
from ledger.registry.parties import LIAONING_CITIES
from ledger.registry.providers import CATEGORY_NAMES, Provider
from ledger.vouchers.redemptions import Redemption, fill_from_redemptions
from ledger.vouchers.voucher import Voucher
from ledger.vouchers.voucher_totals import fill_from_vouchers

CODE = "LN-CXQ-2025"
YEAR = 2025
VOUCHER_FEN = 1_000_000  # 10,000 yuan a voucher
REDEMPTIONS_PER_VOUCHER = 3
BATCH = 10_000
CATEGORIES = tuple(CATEGORY_NAMES)
# Roughly how firms spread over the province: 沈阳 and 大连 carry most of them.
CITY_WEIGHTS = (30, 25, 7, 4, 3, 5, 5, 5, 2, 3, 4, 2, 3, 2)
REFUSAL_CODES = ("cap_exceeded", "related_party", "claim_late", "voucher_expired",
                 "budget_exhausted", "not_eligible")


def _moment(month: int, day: int, second: int) -> datetime:
    """A UTC moment on `day` of `month` of the programme year, `second`s after 01:00."""
    return datetime(YEAR, month, day, 1, tzinfo=UTC) + dt.timedelta(seconds=second)


def _party(model: type, n: int, city: str, now: datetime) -> dict[str, object]:
    return {"credit_code": f"9121{model.__tablename__[0]}{n:013d}"[:18], "name": f"单位{n:06d}",
            "city": city, "district": "某区", "size_class": "small", "legal_rep": f"法人{n}",
            "shareholders": [], "status": "active", "bank_name": None, "bank_account": None,
            "created_at": now, "updated_at": now}


def build(url: str, entries: int, seed: int = 7) -> dict[str, int]:
    """Build a programme year of about `entries` journal entries on `url`; return its counts."""
    rng = random.Random(seed)
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    # entries = 1 appropriation + 12 month-end payments + per voucher: its issue, and a
    # booking (a hold) and a completion (the hold posted) for each of its redemptions
    vouchers = max(12, (entries - 13) // (1 + 2 * REDEMPTIONS_PER_VOUCHER))
    firms = max(14, vouchers // 2)
    providers = max(len(CATEGORIES), min(400, entries // 2_500))
    by = By(1, "bench")
    with transaction(sessions) as s:
        programme_id = create_programme(s, code=CODE, name="辽宁省科技创新券2025（基准）",
                                        fiscal_year=YEAR, policy="LN-CXQ", by=by).id
        s.execute(insert(Firm), [
            _party(Firm, n, rng.choices(LIAONING_CITIES, CITY_WEIGHTS)[0], now)
            for n in range(1, firms + 1)])
        s.execute(insert(Provider), [
            _party(Provider, n, rng.choices(LIAONING_CITIES, CITY_WEIGHTS)[0], now)
            for n in range(1, providers + 1)])
        s.execute(insert(Account), [
            {"code": f"{CODE}:voucher:V{n:07d}", "ledger": CODE,
             "credits_must_not_exceed_debits": True, "debits_must_not_exceed_credits": False,
             "debits_pending": 0, "debits_posted": 0, "credits_pending": 0,
             "credits_posted": 0, "opened_at": now} for n in range(1, vouchers + 1)])
        for p in range(1, providers + 1):
            open_account(s, f"{CODE}:provider:{p}", CODE, credits_must_not_exceed_debits=True)
    with transaction(sessions) as s:
        # The appropriation as `appropriate` posts it, stamped at the year's start.
        post_entries(s, [EntryRequest(
            (Move(f"{CODE}:budget", f"{CODE}:funding", vouchers * VOUCHER_FEN),),
            flow=FLOW_APPROPRIATE, ref=f"programme:{CODE}", actor="bench",
            posted_at=_moment(1, 1, 0))])
    counts = _post_year(sessions, rng, programme_id, vouchers, firms, providers, now)
    with engine.begin() as conn:
        # Redemptions were bulk-inserted, not completed through the service: fill their
        # monthly totals the way migration 0006 does for a database that already has some.
        fill_from_redemptions(conn)
        fill_from_vouchers(conn)
    engine.dispose()  # closes the last connection: SQLite checkpoints and drops its WAL
    return counts


def _post_year(sessions, rng: random.Random, programme_id: int, vouchers: int,  # type: ignore[no-untyped-def]
               firms: int, providers: int, now: datetime) -> dict[str, int]:
    """Post the year month by month: issues, then redemptions, then the month's payment."""
    budget, paid = f"{CODE}:budget", f"{CODE}:paid"
    serial, posted, redeemed = 0, 1, 0
    per_month = [vouchers // 12 + (1 if m < vouchers % 12 else 0) for m in range(12)]
    for month, count in enumerate(per_month, start=1):
        days = calendar.monthrange(YEAR, month)[1]
        owed: dict[int, int] = {}
        issued: list[tuple[int, str, int]] = []  # (voucher number, account, firm)
        second = 0
        for start in range(0, count, BATCH):
            chunk = []
            rows = []
            for _ in range(min(BATCH, count - start)):
                serial += 1
                second += 1
                account = f"{CODE}:voucher:V{serial:07d}"
                firm = rng.randint(1, firms)
                issued.append((serial, account, firm))
                day = 1 + (second * (days // 2)) // (count + 1)  # the first half
                chunk.append(EntryRequest((Move(account, budget, VOUCHER_FEN),),
                                          flow="voucher.issue", ref=f"voucher:{CODE}:V{serial}",
                                          actor="bench", posted_at=_moment(month, day, second)))
                rows.append({"programme_id": programme_id, "serial": f"V{serial:07d}",
                             "account_code": account, "firm_id": firm,
                             "amount_fen": VOUCHER_FEN, "issued_on": dt.date(YEAR, month, day),
                             "issued_year": YEAR, "expires_on": dt.date(YEAR + 1, month, 1)
                             - dt.timedelta(days=1), "status": "active", "expired_fen": 0,
                             "issued_by": "bench", "created_at": now})
            with transaction(sessions) as s:
                written = post_entries(s, chunk)
                for row, entry in zip(rows, written, strict=True):
                    row["issue_entry_id"] = entry.id
                s.execute(insert(Voucher), rows)
            posted += len(chunk)
        redeem = [(v, acct, firm, k) for v, acct, firm in issued
                  for k in range(REDEMPTIONS_PER_VOUCHER)]
        for start in range(0, len(redeem), BATCH):
            chunk, rows = [], []
            for v, acct, firm, _ in redeem[start:start + BATCH]:
                second += 1
                provider = 1 + int(rng.paretovariate(1.2) * 7) % providers
                amount = rng.randrange(50_000, 300_000, 100)
                done = second - count  # the second half of the month
                day = days // 2 + 1 + (done * (days - days // 2 - 1)) // (len(redeem) + 1)
                owed[provider] = owed.get(provider, 0) + amount
                chunk.append(EntryRequest(
                    (Move(f"{CODE}:provider:{provider}", acct, amount, pending=True),),
                    flow="redemption.book", ref=f"redemption:{v}", actor="bench",
                    posted_at=_moment(month, day, second)))
                category = CATEGORIES[(provider + v) % len(CATEGORIES)]
                rows.append({"programme_id": programme_id, "voucher_id": v, "firm_id": firm,
                             "provider_id": provider, "category": category,
                             "cost_fen": amount * 2, "subsidy_fen": amount, "amount_fen": amount,
                             "description": "基准", "status": "completed",
                             "booked_on": dt.date(YEAR, month, day), "booked_year": YEAR,
                             "booked_by_user": 2,
                             "decision": {}, "created_at": now, "updated_at": now})
            last = chunk[-1].posted_at
            assert last is not None
            for row in rows:
                row["completed_on"] = last.date()
            with transaction(sessions) as s:
                holds = post_entries(s, chunk)
                # The provider completes every service of the chunk at the last booking's time.
                completions = post_entries(s, [
                    EntryRequest((PostPending(hold.transfers[0].id),),
                                 flow="redemption.complete", ref=hold.ref, actor="bench",
                                 posted_at=last) for hold in holds])
                for row, hold, entry in zip(rows, holds, completions, strict=True):
                    row["hold_transfer_id"] = hold.transfers[0].id
                    row["complete_entry_id"] = entry.id
                s.execute(insert(Redemption), rows)
            posted += 2 * len(chunk)
            redeemed += len(chunk)
        pay_at = _moment(month, days, 80_000)
        with transaction(sessions) as s:
            entry = post_entries(s, [EntryRequest(
                tuple(Move(paid, f"{CODE}:provider:{p}", amount) for p, amount in owed.items()),
                flow="payment.paid", ref=f"batch:{month}", actor="bench", posted_at=pay_at)])[0]
            s.execute(insert(PaymentBatch), [{
                "programme_id": programme_id, "status": "paid", "total_fen": sum(owed.values()),
                "hold_entry_id": entry.id, "paid_entry_id": entry.id, "created_by": "bench",
                "created_at": pay_at, "paid_by": "bench", "paid_at": pay_at}])
            s.execute(insert(Operation), [{
                "at": _moment(month, 1 + k % days, k), "channel": "api", "actor": "bench",
                "role": "provider", "action": "redemptions.book", "object_type": "redemption",
                "object_id": str(k), "idempotency_key": None, "outcome": "refused",
                "code": rng.choice(REFUSAL_CODES), "message": "refused"}
                for k in range(max(1, count // 50))])
        posted += 1
    return {"entries": posted, "vouchers": vouchers, "redemptions": redeemed,
            "firms": firms, "providers": providers}


def _counts(url: str) -> dict[str, int]:
    """What a database built earlier holds (the figures `build` returns)."""
    from sqlalchemy import func, select

    from ledger.core.models import JournalEntry

    engine = make_engine(url)
    with engine.connect() as conn:
        def n(model: type) -> int:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)

        counts = {"entries": n(JournalEntry), "vouchers": n(Voucher),
                  "redemptions": n(Redemption), "firms": n(Firm), "providers": n(Provider)}
    engine.dispose()
    return counts


def render(url: str) -> dict[str, float]:
    """Render the audit of the year (in this process) and report time, size and peak RSS."""
    from reports.catalogue import render_report
    from reports.fonts import report_font
    from reports.provenance import Period
    from rules.loader import load_policies

    policy_set, font = load_policies(), report_font()
    engine = make_engine(url)
    reader = make_sessionmaker(engine, read_only=True)
    pdf = io.BytesIO()
    t0 = time.perf_counter()
    with transaction(reader) as s:
        outcome = render_report(s, pdf, "audit", programme=CODE,
                                period=Period(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)),
                                policy_set=policy_set, made_by="bench", font=font)
    seconds = time.perf_counter() - t0
    assert outcome.ok, outcome.summary
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss_mb, "pdf_kb": len(pdf.getvalue()) / 1024}


def _render_apart(url: str) -> dict[str, float]:
    """`render` in a fresh interpreter: its RSS is the report's, not the build's."""
    done = subprocess.run([sys.executable, __file__, "--render", url], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--render", metavar="URL", help="(internal) render one year and exit")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="keep the databases here; reuse them")
    parser.add_argument("--renders", type=int, default=5, help="renders of each year")
    args = parser.parse_args()
    if args.render:
        print(json.dumps(render(args.render)))
        return
    if args.workdir is None:
        # Throw-away databases are removed afterwards (`--workdir` keeps them).
        with tempfile.TemporaryDirectory(prefix="report-bench-") as workdir:
            _run(Path(workdir), args)
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        _run(args.workdir, args)


def _run(workdir: Path, args: argparse.Namespace) -> None:
    """Build (or reuse) the two years under `workdir`, render them, print the figures."""
    years = {}
    for label, entries in (("10k", args.small), ("1m", args.large)):
        path = workdir / f"{label}-{entries}.db"
        url = f"sqlite:///{path}"
        t0 = time.perf_counter()
        if path.exists():
            upgrade(url)  # a database built before a migration gets its backfill now
            counts = _counts(url)
        else:
            counts = build(url, entries)
        years[label] = (url, counts, time.perf_counter() - t0)
    # The two years render in turn, `--renders` times each, so both meet the same load on this
    # shared machine; the best of each is kept (the first also warms the OS cache).
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in years}
    for _ in range(args.renders):
        for label, (url, _, _) in years.items():
            runs[label].append(_render_apart(url))
    results = {}
    for label, (_, counts, built) in years.items():
        times = ", ".join(f"{r['seconds']:.2f}" for r in runs[label])
        best = dict(min(runs[label], key=lambda r: r["seconds"]))
        best["rss_mb"] = max(r["rss_mb"] for r in runs[label])
        results[label] = best
        print(f"{label}: {counts['entries']} entries ({counts['vouchers']} vouchers, "
              f"{counts['redemptions']} redemptions, {counts['firms']} firms, "
              f"{counts['providers']} providers) built or migrated in {built:.0f} s; audit "
              f"{best['seconds']:.2f} s (runs {times}),"
              f" peak RSS {best['rss_mb']:.0f} MB, PDF {best['pdf_kb']:.0f} KB", flush=True)
    large, small = results["1m"], results["10k"]
    print(f"audit_1m_s={large['seconds']:.2f} audit_1m_rss_mb={large['rss_mb']:.0f} "
          f"ratio_1m_vs_10k={large['seconds'] / small['seconds']:.2f}")


if __name__ == "__main__":
    main()
