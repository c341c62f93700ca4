"""Batch recognition: a department's list of newly certified firms becomes applications."""

from __future__ import annotations

from pathlib import Path

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app
from ledger.awards import award as awards
from ledger.awards.csv_import import import_awards
from ledger.budget import award_budget, budget
from ledger.core.db import transaction
from ledger.core.errors import ImportRejected
from ledger.core.models import JournalEntry, Transfer
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments.confirmation import mark_paid
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry import users
from tests.awards.support import (
    APPROVER,
    CODE,
    ON,
    OPERATOR,
    TIER_YUAN,
    YUAN,
    awards_csv,
    credit_code,
    make_firms,
    publish_ended,
)

# 198 gazelles, 94 unicorns, one 专精特新 and one 小巨人: 294 awards, 88,600,000 yuan.
MIX = (("gazelle", "provincial", 198), ("unicorn", "provincial", 94),
       ("specialised", "provincial", 1), ("little_giant", "national", 1))
TOTAL_YUAN = 88_600_000


def _department_list() -> str:
    rows, n = [], 0
    for tier, level, count in MIX:
        for _ in range(count):
            rows.append((credit_code(n), tier, level, f"辽工信发〔2022〕{n + 1}号",
                         f"2022-{n % 11 + 1:02d}-15"))
            n += 1
    return awards_csv(rows)


@pytest.fixture
def seed_firms(sessions) -> list[int]:
    with transaction(sessions) as s:
        return make_firms(s, 300)


@pytest.fixture
def big_programme(sessions, seed_firms) -> str:
    """The award programme with exactly the list's total appropriated."""
    with transaction(sessions) as s:
        create_programme(s, code=CODE, name="辽宁省2022年企业认定奖励", fiscal_year=2022,
                         policy="LN-AWARD", by=OPERATOR)
        appropriate(s, CODE, TOTAL_YUAN * YUAN, by=OPERATOR)
    return CODE


def test_the_list_totals_the_seed_papers_figures():
    assert sum(count for _, _, count in MIX) == 294
    assert sum(TIER_YUAN[tier] * count for tier, _, count in MIX) == TOTAL_YUAN


def test_294_awards_post_exactly_88_6_million(sessions, big_programme):
    data = ("\ufeff" + _department_list()).encode("utf-8")  # UTF-8 with a BOM
    seen: list[int] = []
    with transaction(sessions) as s:
        result = import_awards(s, CODE, data, by=OPERATOR, on=ON,
                               progress=lambda _k, done, _t: seen.append(done))
    assert (result.rows, len(result.created), result.skipped) == (294, 294, 0)
    assert result.amount_fen == TOTAL_YUAN * YUAN and seen[-1] == 294
    with transaction(sessions) as s:
        assert award_budget(s, CODE).promised == TOTAL_YUAN * YUAN
        for award_id in result.created:
            awards.approve_award(s, award_id, by=APPROVER)
    with transaction(sessions) as s:
        posted = s.scalar(
            select(func.sum(Transfer.amount)).join(JournalEntry,
                                                   JournalEntry.id == Transfer.entry_id)
            .where(JournalEntry.flow == awards.FLOW_APPROVE))
        assert posted == TOTAL_YUAN * YUAN
        b = award_budget(s, CODE)
        assert (b.appropriated, b.free, b.promised, b.awarded, b.paid) == (
            TOTAL_YUAN * YUAN, 0, 0, TOTAL_YUAN * YUAN, 0)
        assert b.balanced
        # The programme's general breakdown (GET /programs/{code}/budget) agrees.
        general = budget(s, CODE)
        assert (general.free, general.awarded, general.balanced) == (
            0, TOTAL_YUAN * YUAN, True)
        totals = {t.tier: (t.count, t.amount_fen) for t in awards.totals_by_tier(s, programme=CODE)}
        assert totals == {tier: (count, TIER_YUAN[tier] * count * YUAN)
                          for tier, _, count in MIX}
        assert verify(s).ok
    # Once their 公示 has ended, one payment batch pays all 294 awards to their firms.
    with transaction(sessions) as s:
        assert len(publish_ended(s).items) == 294
        batch = payments.create_batch(s, CODE, by=OPERATOR)
        assert (len(batch.lines), batch.total_fen) == (294, TOTAL_YUAN * YUAN)
        assert budget(s, CODE).in_payment == TOTAL_YUAN * YUAN
        payments.release_batch(s, batch.id, by=APPROVER)
        mark_paid(s, batch.id, by=OPERATOR, reference="PBC2026000001", value_date="2026-07-01")
    with transaction(sessions) as s:
        general = budget(s, CODE)
        assert (general.awarded, general.in_payment, general.paid, general.balanced) == (
            0, 0, TOTAL_YUAN * YUAN, True)
        assert awards.list_awards(s, limit=1, status="paid").total == 294
    # Re-importing the same list adds nothing.
    with transaction(sessions) as s:
        again = import_awards(s, CODE, data, by=OPERATOR, on=ON)
    assert (len(again.created), again.skipped) == (0, 294)


def test_bad_rows_are_all_reported_and_nothing_is_written(sessions, big_programme):
    text = awards_csv([
        (credit_code(0), "瞪羚", "省级", "辽发〔2022〕1号", "2022-06-01"),
        (credit_code(1), "dragon", "省级", "辽发〔2022〕2号", "2022-06-01"),
        (credit_code(2), "独角兽", "市级", "辽发〔2022〕3号", "2022-13-01"),
        (credit_code(999), "瞪羚", "省级", "辽发〔2022〕4号", "2022-06-01"),
        (credit_code(0), "瞪羚", "省级", "辽发〔2022〕5号", "2022-06-01"),
    ], chinese=True)
    with transaction(sessions) as s, pytest.raises(ImportRejected) as info:
        import_awards(s, CODE, text.encode("gb18030"), by=OPERATOR, on=ON)
    errors = {(e["line"], e["column"]) for e in info.value.detail["errors"]}
    assert errors == {(3, "tier"), (4, "level"), (4, "certified_on"), (5, "credit_code"),
                      (6, "tier")}
    # Rows that parse but the policy refuses are reported the same way.
    old = awards_csv([
        (credit_code(0), "gazelle", "provincial", "A1", "2022-06-01"),
        (credit_code(1), "gazelle", "provincial", "A2", "2020-06-01"),
    ])
    with transaction(sessions) as s, pytest.raises(ImportRejected) as info:
        import_awards(s, CODE, old.encode("gb18030"), by=OPERATOR, on=ON)
    [error] = info.value.detail["errors"]
    assert (error["line"], error["column"]) == (3, "certified_on")
    assert error["reason"].startswith("certification_not_new")
    with transaction(sessions) as s:
        assert awards.list_awards(s, limit=1).total == 0


def test_the_cli_imports_with_a_progress_bar(sessions, big_programme, db_url, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(
        users, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),)))
    with transaction(sessions) as s:
        users.create_user(s, username="op1", password="correct horse battery", role="operator")
    path = tmp_path / "list.csv"
    path.write_bytes(awards_csv([
        (credit_code(0), "gazelle", "provincial", "B1", "2022-06-01"),
        (credit_code(1), "unicorn", "provincial", "B2", "2022-06-01"),
    ]).encode("gb18030"))
    args = ["awards", "import", str(path), "--program", CODE, "--user", "op1",
            "--on", ON.isoformat(), "--url", db_url]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 applications recorded (700,000.00 yuan)" in result.output
    assert "0 already recorded" in result.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "2 already recorded" in again.output
    assert "nothing added: 2 rows already imported" in again.output
    path.write_text(awards_csv([(credit_code(2), "gazelle", "x", "B3", "2022-06-01")]), "utf-8")
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 1 and "nothing was imported" in bad.output
    with transaction(sessions) as s:
        assert awards.list_awards(s, limit=10).total == 2


def test_the_rows_before_count_against_the_budget_and_a_refusal_writes_nothing(
        sessions, big_programme):
    # The list spends exactly the budget: one more gazelle at the end finds none left.
    extra = awards_csv([(credit_code(294), "gazelle", "provincial", "辽工信发〔2022〕999号",
                         "2022-06-15")]).split("\n", 1)[1]
    data = (_department_list() + extra).encode("utf-8")
    with transaction(sessions) as s, pytest.raises(ImportRejected) as info:
        import_awards(s, CODE, data, by=OPERATOR, on=ON)
    [error] = info.value.detail["errors"]
    assert error["line"] == 296 and error["reason"].startswith("budget_exhausted")
    with transaction(sessions) as s:
        assert awards.list_awards(s, limit=1).total == 0
        assert award_budget(s, CODE).promised == 0


def test_a_header_without_rows_is_refused(sessions, big_programme):
    with transaction(sessions) as s, pytest.raises(ImportRejected) as info:
        import_awards(s, CODE, awards_csv([]).encode(), by=OPERATOR, on=ON)
    assert [e["reason"] for e in info.value.detail["errors"]] == ["no rows"]
