"""试算平衡表 rendered from the known year: headings, exact figures, provenance, pages."""

import hashlib
import io
from datetime import UTC, date, datetime

import pytest

from ledger.core.accounts import balance, open_account
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, NotFound
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.core.money import format_yuan
from reports.document import SHANGHAI
from reports.trial_balance import render_trial_balance
from rules.loader import SHIPPED_POLICIES

MADE_AT = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)  # 09:30:00 in Beijing


def render(sessions, policy_set, ledger, as_of, **extra):
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        result = render_trial_balance(
            s, pdf, ledger=ledger, as_of=as_of, policy_set=policy_set,
            made_by="审计员 李四", made_at=MADE_AT, **extra,
        )
    return result, pdf.getvalue()


def sha256_of(name: str) -> str:
    return hashlib.sha256((SHIPPED_POLICIES / name).read_bytes()).hexdigest()


def test_trial_balance_prints_every_account_and_equal_totals(sessions, year, policy_set, read_pdf):
    result, pdf = render(sessions, policy_set, year.ledger, date(2025, 12, 31))
    pages = read_pdf(pdf)
    assert len(pages) == 2  # the signature block closes on page 2
    text = "\n".join(pages)
    # ...with the end of the last table and what follows it, never on a page of its own.
    assert "编制人\n审计员 李四" in pages[1]
    assert "合计\n5,000.00\n5,000.00" in pages[1]
    for heading in ("试算平衡表（LN-CXQ-2025）", "一、科目余额", "二、未结冻结", "试算结果"):
        assert heading in text
    # Code (without the ledger's prefix), the account's name, debits, credits, then the
    # balance on its side (debit balances, then credit). No party stands behind these codes
    # (the year is built with the core alone), so each is named by its kind.
    for row in (
        "budget\n可用预算\n1,234,567.89\n160,000.50\n1,074,567.39\n",
        "funding\n资金来源\n0.00\n1,234,567.89\n1,234,567.89\n",
        "paid\n已支付\n25,000.25\n0.00\n25,000.25\n",
        "provider:S01\n服务机构应付\n25,000.25\n25,000.25\n",
        "voucher:V001\n创新券未用余额\n100,000.00\n25,000.25\n74,999.75\n",
        "voucher:V002\n创新券未用余额\n60,000.50\n0.00\n60,000.50\n",
        "合计\n1,444,568.89\n1,444,568.89\n1,234,567.89\n1,234,567.89",
        "provider:S01\n服务机构应付\n5,000.00\n0.00\n",
        "voucher:V001\n创新券未用余额\n0.00\n5,000.00\n",
        "合计\n5,000.00\n5,000.00",
    ):
        assert row in text, row
    assert "平衡：借方发生额合计 = 贷方发生额合计，借方余额合计 = 贷方余额合计" in text
    assert "OTHER" not in text
    assert result.totals.balanced
    assert result.totals.debits_posted == result.totals.credits_posted == 144_456_889


def test_every_page_states_its_provenance(sessions, year, policy_set, read_pdf):
    _, pdf = render(sessions, policy_set, year.ledger, date(2025, 12, 31))
    text = read_pdf(pdf)[0]
    assert "试算平衡表　项目：LN-CXQ-2025" in text
    assert "期间：截至 2025-12-31（2025-01-01 至 2025-12-31）" in text
    # Only the version in force in 2025; 2026.1 starts after the period.
    assert f"LN-CXQ 2024.12（LN-CXQ-2024.yaml）SHA-256 {sha256_of('LN-CXQ-2024.yaml')}" in text
    assert "2026.1" not in text
    assert f"账簿头哈希：{year.head_hash}（分录 11 条）" in text
    assert "生成时间：2026-01-05 09:30:00（北京时间）　生成人：审计员 李四" in text
    assert "第 1 页 / 共 2 页" in text


def test_totals_in_the_pdf_equal_todays_ledger_balances(sessions, year, policy_set, read_pdf):
    today = datetime.now(SHANGHAI).date()
    _, pdf = render(sessions, policy_set, year.ledger, today, period_start=date(2025, 1, 1))
    text = read_pdf(pdf)[0]
    with transaction(sessions) as s:
        codes = {"budget": "可用预算", "funding": "资金来源", "paid": "已支付",
                 "provider:S01": "服务机构应付", "voucher:V001": "创新券未用余额",
                 "voucher:V002": "创新券未用余额"}
        balances = {c: balance(s, f"{year.ledger}:{c}") for c in codes}
    for code, b in balances.items():
        figures = (b.debits_posted, b.credits_posted)
        row = "\n".join([code, codes[code], *map(format_yuan, figures)])
        if b.debit_balance:
            row += f"\n{format_yuan(abs(b.debit_balance))}"
        assert row in text, row
    debits = sum(b.debits_posted for b in balances.values())
    credits = sum(b.credits_posted for b in balances.values())
    assert debits == credits == 145_456_889
    assert f"合计\n{format_yuan(debits)}\n{format_yuan(credits)}" in text
    assert "1,454,568.89" in text
    # The period now spans both versions of the policy.
    assert "LN-CXQ-2024.yaml" in text and "LN-CXQ-2026.yaml" in text


def test_a_long_ledger_repeats_header_and_table_head_on_every_page(
    sessions, year, policy_set, read_pdf
):
    with transaction(sessions) as s:
        for n in range(120):
            open_account(s, f"{year.ledger}:voucher:W{n:03d}", year.ledger)
        post_entry(
            s,
            EntryRequest(
                tuple(
                    Move(f"{year.ledger}:voucher:W{n:03d}", f"{year.ledger}:budget", 1_000 + n)
                    for n in range(120)
                ),
                flow="issue",
            ),
        )
    today = datetime.now(SHANGHAI).date()
    result, pdf = render(sessions, policy_set, year.ledger, today, period_start=date(2025, 1, 1))
    pages = read_pdf(pdf)
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
        assert f"账簿头哈希：{result.head_hash}" in text
        if number < len(pages) or "合计" in text:
            assert "科目代码\n账户名称\n借方发生额\n贷方发生额\n借方余额\n贷方余额" in text, number
    everything = "\n".join(pages)
    assert all(f"voucher:W{n:03d}\n" in everything for n in range(120))
    assert "voucher:W119\n创新券未用余额\n11.19\n0.00\n11.19" in everything
    added = sum(1_000 + n for n in range(120))
    assert result.totals.debits_posted == 145_456_889 + added
    assert result.totals.balanced


def test_an_unknown_programme_is_not_found(sessions, year, policy_set):
    with pytest.raises(NotFound):
        render(sessions, policy_set, "NOPE", date(2025, 12, 31))


def test_a_period_that_ends_before_it_starts_is_refused(sessions, year, policy_set):
    with pytest.raises(InvalidInput):
        render(sessions, policy_set, year.ledger, date(2025, 1, 1), period_start=date(2025, 2, 1))
