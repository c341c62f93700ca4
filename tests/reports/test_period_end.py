"""The programme audit as of its period's end: budget position, balances and open holds.

A 2025 year is posted with explicit times (as an import of history would): an appropriation,
vouchers (one posted 01:30 on 1 April in Beijing, still 31 March in UTC), a hold left open over
the period's end on a voucher that expired, an expiry return, a completion and a payment
batch. The as-of figures are checked to the fen against a plain computation (every account's
balance at that moment, every issue and expiry entry posted by then); then the services post
today, long after the period, and the audit of the period prints the same figures while the
position as of now moves.
"""

from __future__ import annotations

import datetime as dt
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.budget import Budget, budget
from ledger.core.accounts import balance_as_of, open_account
from ledger.core.acting import SHANGHAI
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, PostPending, post_entries
from ledger.core.models import Account, JournalEntry, Transfer
from ledger.programmes.programme import create_programme, programme_row
from ledger.reading import audit_queries as q
from ledger.registry.firms import Firm
from ledger.vouchers import expiry
from ledger.vouchers import voucher as vouchers
from ledger.vouchers.csv_import import import_vouchers
from ledger.vouchers.voucher import Voucher
from ledger.vouchers.voucher_totals import VoucherMonthTotal, fill_from_vouchers
from reports.audit import render_audit
from reports.fonts import report_font
from reports.provenance import Period
from tests.reports.programme_year import OPERATOR, ensure_registry

P = "LN-CXQ-2026"
MADE_AT = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
H1 = Period(dt.date(2025, 1, 1), dt.date(2025, 6, 30))
# (serial, firm, fen, posted at (UTC), issued_on, expires_on)
VOUCHERS = (
    ("V000001", 1, 1_000_000, datetime(2025, 1, 10, 2, tzinfo=UTC), dt.date(2025, 1, 10),
     dt.date(2025, 3, 31)),
    ("V000002", 2, 2_000_000, datetime(2025, 2, 15, 2, tzinfo=UTC), dt.date(2025, 2, 15),
     dt.date(2025, 12, 31)),
    # 01:30 on 1 April in Beijing: an April voucher, though still 31 March in UTC.
    ("V000003", 3, 500_000, datetime(2025, 3, 31, 17, 30, tzinfo=UTC), dt.date(2025, 4, 1),
     dt.date(2026, 3, 31)),
    ("V000004", 1, 3_000_000, datetime(2025, 7, 5, 2, tzinfo=UTC), dt.date(2025, 7, 5),
     dt.date(2026, 6, 30)),
)


def _post(s: Session, at: datetime, flow: str, *moves: Move | PostPending) -> int:
    """Post one entry at `at`; the id of its first transfer."""
    entry = post_entries(s, [EntryRequest(tuple(moves), flow=flow, ref=f"test:{flow}",
                                          actor="test", posted_at=at)])[0]
    return entry.transfers[0].id


def build(sessions: sessionmaker[Session]) -> None:
    """The 2025 year, posted at its own moments; domain totals filled as a migration would."""
    v = {serial: f"{P}:voucher:{serial}" for serial, *_ in VOUCHERS}
    budget_code, provider, paid = f"{P}:budget", f"{P}:provider:1", f"{P}:paid"
    with transaction(sessions) as s:
        ensure_registry(s)
        prog = create_programme(s, code=P, name="辽宁省科技创新券2026", fiscal_year=2026,
                                policy="LN-CXQ", by=OPERATOR)
        prog_id = prog.id
        open_account(s, provider, P, credits_must_not_exceed_debits=True)
        for code in v.values():
            open_account(s, code, P, credits_must_not_exceed_debits=True)
        _post(s, datetime(2025, 1, 2, 2, tzinfo=UTC), "programme.appropriate",
              Move(budget_code, f"{P}:funding", 10_000_000))
        issued = {}
        for serial, _, fen, at, *_ in VOUCHERS[:3]:
            issued[serial] = _post(s, at, "voucher.issue", Move(v[serial], budget_code, fen))
        hold = _post(s, datetime(2025, 3, 1, 2, tzinfo=UTC), "redemption.book",
                     Move(provider, v["V000001"], 200_000, pending=True))
        done = _post(s, datetime(2025, 4, 1, 2, tzinfo=UTC), "redemption.book",
                     Move(provider, v["V000002"], 300_000, pending=True))
        _post(s, datetime(2025, 4, 1, 3, tzinfo=UTC), "voucher.expire",
              Move(budget_code, v["V000001"], 800_000))
        _post(s, datetime(2025, 4, 2, 2, tzinfo=UTC), "redemption.complete", PostPending(done))
        batch = _post(s, datetime(2025, 5, 1, 2, tzinfo=UTC), "payment.batch",
                      Move(paid, provider, 300_000, pending=True))
        # After the period's end (30 June):
        issued["V000004"] = _post(s, VOUCHERS[3][3], "voucher.issue",
                                  Move(v["V000004"], budget_code, 3_000_000))
        _post(s, datetime(2025, 7, 10, 2, tzinfo=UTC), "redemption.complete", PostPending(hold))
        _post(s, datetime(2025, 8, 1, 2, tzinfo=UTC), "payment.paid", PostPending(batch))
        _post(s, datetime(2026, 1, 2, 2, tzinfo=UTC), "voucher.expire",
              Move(budget_code, v["V000002"], 1_700_000))
        entries = {t: e for t, e in s.execute(select(Transfer.id, Transfer.entry_id))}
        s.execute(insert(Voucher), [
            {"programme_id": prog_id, "serial": serial, "account_code": v[serial],
             "firm_id": firm, "amount_fen": fen, "issued_on": on, "issued_year": on.year,
             "expires_on": ends, "status": "expired" if serial in ("V000001", "V000002")
             else "active", "expired_fen": {"V000001": 800_000, "V000002": 1_700_000}.get(
                 serial, 0), "issue_entry_id": entries[issued[serial]], "issued_by": "test",
             "created_at": at} for serial, firm, fen, at, on, ends in VOUCHERS])
        programme_row(s, P).vouchers_issued = len(VOUCHERS)
    with sessions() as s, s.begin():
        fill_from_vouchers(s.connection())


def plain_budget(s: Session, at: datetime) -> Budget:
    """The budget position at `at` the long way: every account's balance, every entry."""
    kinds: dict[str, list[int]] = {}
    for code in s.scalars(select(Account.code).where(Account.ledger == P)):
        b = balance_as_of(s, code, at)
        acc = kinds.setdefault(code.split(":")[1], [0, 0, 0, 0])
        for i, value in enumerate((b.debits_pending, b.debits_posted, b.credits_pending,
                                   b.credits_posted)):
            acc[i] += value
    zero = [0, 0, 0, 0]
    f, b_, p = kinds["funding"], kinds["budget"], kinds["paid"]
    v, sp = kinds.get("voucher", zero), kinds.get("provider", zero)
    a, r = kinds.get("award", zero), kinds.get("receivable", zero)

    def flow_sum(flow: str) -> int:
        return int(s.scalar(
            select(func.coalesce(func.sum(Transfer.amount), 0))
            .join(JournalEntry, JournalEntry.id == Transfer.entry_id)
            .join(Account, Account.id == Transfer.debit_account_id)
            .where(JournalEntry.flow == flow, JournalEntry.posted_at <= at,
                   Account.ledger == P)) or 0)

    return Budget(P, appropriated=f[3] - f[1], free=b_[1] - b_[3] - b_[2],
                  issued=flow_sum("voucher.issue"), unspent=v[1] - v[3] - v[2], held=v[2],
                  redeemed=sp[1] - sp[3] - sp[2], in_payment=sp[2] + a[2], paid=p[1] - p[3],
                  receivable=r[3] - r[1], expired=flow_sum("voucher.expire"),
                  awarded=a[1] - a[3] - a[2], promised=0)


def plain_open_holds(s: Session, day: dt.date, at: datetime) -> q.CountAmount:
    held = [balance_as_of(s, code, at).credits_pending for code in s.scalars(
        select(Voucher.account_code).where(Voucher.expires_on < day))]
    return q.CountAmount(sum(1 for h in held if h > 0), sum(held))


def end_of(day: dt.date) -> datetime:
    return Period(day, day).end_moment


@pytest.fixture
def year(sessions):
    build(sessions)
    return sessions


@pytest.mark.parametrize("day", [dt.date(2025, 3, 31), dt.date(2025, 4, 1),
                                 dt.date(2025, 4, 15), dt.date(2025, 6, 30),
                                 dt.date(2025, 7, 31), dt.date(2026, 1, 1)])
def test_the_budget_as_of_a_moment_equals_the_ledger_then_to_the_fen(year, day):
    at = end_of(day)
    with transaction(year) as s:
        position = budget(s, P, as_of=at)
        assert position == plain_budget(s, at)
        assert position.balanced
        assert q.open_holds_total(s, programme_row(s, P).id, day + dt.timedelta(days=1),
                                  at=at) == plain_open_holds(s, day + dt.timedelta(days=1), at)


def test_the_period_end_figures_of_the_first_half_year(year):
    with transaction(year) as s:
        b = budget(s, P, as_of=H1.end_moment)
        holds = q.open_holds_total(s, programme_row(s, P).id, dt.date(2025, 7, 1),
                                   at=H1.end_moment)
        # 31 March ends before V3 was posted (01:30 on 1 April in Beijing).
        march = budget(s, P, as_of=end_of(dt.date(2025, 3, 31)))
    assert (b.appropriated, b.issued, b.expired, b.unspent, b.held, b.redeemed, b.in_payment,
            b.paid, b.free) == (10_000_000, 3_500_000, 800_000, 2_200_000, 200_000, 0,
                                300_000, 0, 7_300_000)
    assert holds == q.CountAmount(1, 200_000)  # V1: expired in March, its hold still open
    assert (march.issued, march.expired, march.held) == (3_000_000, 0, 200_000)


@pytest.mark.parametrize(("start", "end"), [
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2025, 2, 10), dt.date(2025, 4, 1)),
    (dt.date(2025, 3, 31), dt.date(2025, 3, 31)), (dt.date(2025, 4, 1), dt.date(2026, 6, 30)),
])
def test_issued_and_expired_in_a_period_equal_the_vouchers_summed(year, start, end):
    window = Period(start, end).window()
    with transaction(year) as s:
        pid = programme_row(s, P).id
        rows = s.execute(select(Voucher.issued_on, Voucher.amount_fen, Voucher.expires_on,
                                Voucher.expired_fen)).all()
        issued = q.issued_in(s, pid, window)
        expired = q.expired_in(s, pid, window)
        months = q.months(s, pid, window, q.redemptions(s, pid, window))
    inside = [r for r in rows if start <= r[0] <= end]
    assert issued == q.CountAmount(len(inside), sum(r[1] for r in inside))
    gone = [r for r in rows if start <= r[2] <= end and r[3] > 0]
    assert expired == q.CountAmount(len(gone), sum(r[3] for r in gone))
    assert sum(m.issued for m in months) == issued.amount
    for m in months:
        assert (m.issued_count, m.issued) == (
            sum(1 for r in inside if f"{r[0]:%Y-%m}" == m.month),
            sum(r[1] for r in inside if f"{r[0]:%Y-%m}" == m.month))


def _audit_text(year, read_pdf, policy_set) -> tuple[object, str]:
    pdf = io.BytesIO()
    with transaction(year) as s:
        audit = render_audit(s, pdf, programme=P, period=H1, policy_set=policy_set,
                             made_by="审计员", made_at=MADE_AT, font=report_font())
    # The page header names the journal's head, which every posting moves.
    lines = [line for page in read_pdf(pdf.getvalue()) for line in page.splitlines()
             if "分录" not in line and audit.head_hash[:12] not in line]
    return audit, "\n".join(lines)


def test_postings_after_the_period_leave_its_audit_unchanged(year, read_pdf, policy_set):
    before, text = _audit_text(year, read_pdf, policy_set)
    with transaction(year) as s:
        now_before = budget(s, P)
    assert "一、预算概况（截至 2025-06-30 日终）" in text
    assert "期间：截至 2025-06-30（2025-01-01 至 2025-06-30）" in text  # the page header
    assert "期间：2025-01-01 至 2025-06-30（北京时间）" in text
    assert "拨入预算\n100,000.00" in text and "已发放创新券（累计）\n35,000.00" in text
    assert "冻结中（已预订未完成）\n2,000.00" in text and "可用预算\n73,000.00" in text
    assert "1 张，2,000.00 元（截至 2025-06-30 日终）" in text
    # Today, long after the period: a voucher issued and the expired vouchers returned.
    with transaction(year) as s:
        vouchers.issue_voucher(s, P, 2, 3_000_000, by=OPERATOR)
        returned = expiry.expire(s, P, by=OPERATOR).returned_fen
    assert returned == 3_500_000  # V3 and V4
    after, text_after = _audit_text(year, read_pdf, policy_set)
    with transaction(year) as s:
        now_after = budget(s, P)
    assert after.head_hash != before.head_hash
    assert (after.budget, after.issued, after.redeemed, after.expired, after.paid) == (
        before.budget, before.issued, before.redeemed, before.expired, before.paid)
    assert text_after == text
    # The dashboard's position, as of now, moved.
    assert now_after.issued == now_before.issued + 3_000_000
    assert now_after.expired == now_before.expired + 3_500_000
    assert now_after.free == now_before.free - 3_000_000 + 3_500_000


def test_the_services_keep_the_month_totals_a_backfill_would_compute(year):
    with transaction(year) as s:
        vouchers.issue_voucher(s, P, 2, 3_000_000, by=OPERATOR)
        vouchers.issue_voucher(s, P, 3, 1_000_000, by=OPERATOR)
        codes = s.scalars(select(Firm.credit_code).where(Firm.id.in_([2, 3]))
                          .order_by(Firm.id)).all()
        # The set-based import counts its vouchers as the one-by-one issue does.
        import_vouchers(s, P, (f"credit_code,amount\n{codes[0]},300\n{codes[1]},0.50\n")
                        .encode(), by=OPERATOR)
        expiry.expire(s, P, by=OPERATOR)
        expiry.expire(s, P, by=OPERATOR)  # nothing more to return: nothing counted twice

    def rows(s: Session) -> list[tuple[object, ...]]:
        t = VoucherMonthTotal
        return [tuple(r) for r in s.execute(select(
            t.programme_id, t.month, t.issued_count, t.issued_fen, t.expired_count,
            t.expired_fen, t.issue_posted_fen, t.expiry_posted_fen).order_by(t.month))]

    with transaction(year) as s:
        kept = rows(s)
        s.execute(delete(VoucherMonthTotal))
        fill_from_vouchers(s.connection())
        assert rows(s) == kept
        month = datetime.now(SHANGHAI).date().replace(day=1)
        this_month = [r for r in kept if r[1] == month]
    # Issued today by the services: counted in this month on both bases.
    assert this_month and this_month[0][3] >= 4_030_050 and this_month[0][6] >= 4_030_050


@pytest.mark.parametrize("dates", [["--as-of", "2025-06-30"],
                                   ["--from", "2025-01-01", "--to", "2025-06-30"]])
def test_the_command_line_picks_the_period_end(db_url, year, tmp_path, read_pdf, dates):
    from typer.testing import CliRunner

    from api.cli import app
    from ledger.registry.users import create_user

    with transaction(year) as s:
        create_user(s, username="auditor-zhao", password="auditor-zhao-2026", role="auditor",
                    display_name="审计员 赵六")
    out = tmp_path / "audit.pdf"
    result = CliRunner().invoke(app, ["report", "audit", "--program", P, *dates, "--out",
                                      str(out), "--url", db_url, "--user", "auditor-zhao"])
    assert result.exit_code == 0, result.output
    # As of 30 June: 100,000.00 appropriated, nothing paid yet (the batch was paid in August).
    assert "appropriated=100,000.00 paid=0.00 budget balanced" in result.output
    text = "\n".join(read_pdf(out))
    assert "一、预算概况（截至 2025-06-30 日终）" in text and "可用预算\n73,000.00" in text
