"""完整性证明: journal hashes, a fresh verify (passing and failing), policy files' SHA-256."""

import hashlib
import io
from datetime import UTC, date, datetime

from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from ledger.core.db import transaction
from reports.certificate import render_certificate
from reports.provenance import Period
from rules.loader import SHIPPED_POLICIES

MADE_AT = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))


def render(sessions, policy_set, period=YEAR_2025):
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        made = render_certificate(
            s, pdf, programme="LN-CXQ-2025", period=period, policy_set=policy_set,
            made_by="审计员 王五", made_at=MADE_AT,
        )
    return made, pdf.getvalue()


def test_certificate_head_hash_equals_what_verify_prints(
    db_url, sessions, year, policy_set, read_pdf
):
    verified = CliRunner().invoke(app, ["verify", "--url", db_url])
    assert verified.exit_code == 0, verified.output
    line = verified.output.strip()
    assert line == f"OK entries=11 head={year.head_hash}"
    head = line.rsplit("head=", 1)[1]
    made, pdf = render(sessions, policy_set)
    text_ = read_pdf(pdf)[0]
    assert f"账簿头哈希\n{head}\n" in text_
    assert f"重算头哈希\n{head}\n" in text_
    assert f"账簿头哈希：{head}（分录 11 条）" in text_
    assert made.report.ok and made.summary.head_hash == head


def test_certificate_states_the_journal_and_a_passing_verify(sessions, year, policy_set, read_pdf):
    made, pdf = render(sessions, policy_set)
    pages = read_pdf(pdf)
    assert len(pages) == 1
    page = pages[0]
    for heading in ("完整性证明", "一、日记账", "二、重新核验（verify）", "三、适用的政策文件"):
        assert heading in page
    assert "分录条数\n11\n" in page
    assert f"首条分录哈希\n{made.summary.first_hash}\n" in page
    assert "首条分录时间\n2025-01-10 20:00:00\n" in page
    assert "通过（OK）：哈希链完整，11 条分录逐条重算一致" in page
    assert "首个断点\n无\n科目不符\n0 项" in page
    assert "生成时间：2026-01-05 09:30:00（北京时间）　生成人：审计员 王五" in page
    assert "第 1 页 / 共 1 页" in page


def test_certificate_lists_the_policy_files_in_force_with_their_sha256(
    sessions, year, policy_set, read_pdf
):
    _, pdf = render(sessions, policy_set, Period(date(2025, 1, 1), date(2026, 3, 31)))
    page = read_pdf(pdf)[0]
    for name, version in (("LN-CXQ-2024.yaml", "2024.12"), ("LN-CXQ-2026.yaml", "2026.1")):
        digest = hashlib.sha256((SHIPPED_POLICIES / name).read_bytes()).hexdigest()
        assert f"LN-CXQ\n{version}\n{name}\n{digest}" in page
    assert "LN-AWARD" not in page


def test_a_changed_account_total_fails_the_certificate(
    engine, sessions, year, policy_set, read_pdf
):
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE accounts SET debits_posted = debits_posted + 1 WHERE code = :code"),
            {"code": "LN-CXQ-2025:paid"},
        )
    made, pdf = render(sessions, policy_set)
    page = read_pdf(pdf)[0]
    assert not made.report.ok
    assert "未通过（FAILED）：1 项科目合计与日记账不符" in page
    assert "LN-CXQ-2025:paid\n借方发生额\n25,000.26\n25,000.25" in page
    assert "科目不符\n1 项" in page


def test_an_edited_entry_breaks_the_chain_on_the_certificate(
    engine, sessions, year, policy_set, read_pdf
):
    with engine.begin() as conn:
        # Only a tamperer bypasses the append-only triggers; this test plays one.
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER journal_entries_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("UPDATE journal_entries SET memo = 'edited' WHERE id = 3"))
    made, pdf = render(sessions, policy_set)
    page = read_pdf(pdf)[0]
    assert made.report.first_break is not None and made.report.first_break.entry_id == 3
    assert "未通过（FAILED）：哈希链在第 3 条分录断开" in page
    assert "首个断点\n第 3 条：content hash" in page


def test_an_empty_journal_still_certifies(sessions, policy_set, read_pdf):
    made, pdf = render(sessions, policy_set)
    page = read_pdf(pdf)[0]
    assert made.report.ok and made.summary.entries == 0
    assert "分录条数\n0\n首条分录哈希\n—（日记账为空）" in page
    assert f"账簿头哈希\n{'0' * 64}" in page
