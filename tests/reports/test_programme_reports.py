"""The audit, the statements and the exceptions report from a programme year built by services.

Each figure asserted is what the scenario (programme_year.py) put in the ledger; totals are
checked against the ledger's own balances.
"""

from __future__ import annotations

import datetime as dt
import io
from datetime import UTC, datetime

import pytest
from programme_year import CODE, build_year

from ledger.budget import award_budget, budget
from ledger.core.accounts import balance
from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, NotFound
from ledger.core.journal import head
from ledger.core.verify import verify
from reports.catalogue import render_report
from reports.fonts import report_font
from reports.provenance import Period

MADE_AT = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
START = dt.date(2025, 1, 1)


def row(*cells: str) -> str:
    """A table row as pypdf extracts it: cells one per line."""
    return "\n".join(cells)


@pytest.fixture
def built(sessions):
    return build_year(sessions)


def render(sessions, policy_set, kind, *, party_id=None, start=START, end=None):
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        outcome = render_report(
            s, pdf, kind, programme=CODE, period=Period(start, end or today()),
            policy_set=policy_set, made_by="审计员 李四", font=report_font(), party_id=party_id)
    return outcome, pdf.getvalue()


def text_of(read_pdf, pdf: bytes) -> str:
    return "\n".join(read_pdf(pdf))


def test_audit_prints_the_budget_the_period_and_every_breakdown(
    sessions, built, policy_set, read_pdf
):
    outcome, pdf = render(sessions, policy_set, "audit")
    text = text_of(read_pdf, pdf)
    month = today().strftime("%Y-%m")
    with transaction(sessions) as s:
        b = budget(s, CODE)
        paid_account = balance(s, f"{CODE}:paid")
        entries, head_hash = head(s)
    assert outcome.ok and b.balanced
    # The budget position equals the ledger's balances to the fen.
    assert (b.appropriated, b.issued, b.unspent, b.held, b.redeemed, b.paid, b.expired,
            b.free) == (100_000_000, 11_000_000, 8_400_000, 500_000, 1_100_000, 500_000,
                        500_000, 89_500_000)
    assert paid_account.debit_balance == b.paid
    for heading in ("项目审计报告（LN-CXQ-2026 辽宁省科技创新券2026）",
                    f"一、预算概况（截至 {today().isoformat()} 日终）", "二、本期发生",
                    "三、按服务类别",
                    "四、服务机构排名", "五、按服务机构",
                    "六、按地区（企业所在市）", "七、按月份", "八、按奖励类别", "九、异常摘要"):
        assert heading in text, heading
    for expected in (
        row("拨入预算", "1,000,000.00"), row("已发放创新券（累计）", "110,000.00"),
        row("创新券未用余额", "84,000.00"), row("冻结中（已预订未完成）", "5,000.00"),
        row("已核销未支付", "11,000.00"), row("已支付", "5,000.00"),
        row("到期退回（累计）", "5,000.00"), row("可用预算", "895,000.00"),
        "拨入 = 可用 + 未用 + 冻结 + 未支付 + 支付中 + 已支付 － 追回应收：成立",
        # The period 2025-01-01 to today: four vouchers, the 2025 one expired within it.
        row("发放创新券", "4", "110,000.00"), row("完成核销", "4", "19,600.00"),
        row("其中已追回", "3,600.00"), row("净核销", "16,000.00"),
        row("到期退回（有效期止于本期的券）", "1", "5,000.00"),
        row("支付批次已付", "1", "5,000.00"), row("银行退票（已转回应付）", "0", "0.00"),
        row("仪器开放共享", "1", "3,000.00", "0.00", "3,000.00"),
        row("专利申请", "1", "3,600.00", "3,600.00", "0.00"),
        row("研发设计", "1", "8,000.00", "0.00", "8,000.00"),
        row("检验检测", "1", "5,000.00", "0.00", "5,000.00"),
        row("合计", "4", "19,600.00", "3,600.00", "16,000.00"),
        row("1", "辽宁省检验检测认证中心", "2", "8,000.00", "0.00", "8,000.00"),
        row("2", "大连理工技术转移中心有限公司", "1", "8,000.00", "0.00", "8,000.00"),
        row("3", "沈阳知行专利代理事务所有限公司", "1", "3,600.00", "3,600.00", "0.00"),
        row("大连市", "1", "3,000.00", "0.00", "3,000.00"),
        row("沈阳市", "2", "8,600.00", "3,600.00", "5,000.00"),
        row("鞍山市", "1", "8,000.00", "0.00", "8,000.00"),
        row("2025-06", "1", "10,000.00", "0", "0.00"),
        row(month, "3", "100,000.00", "4", "19,600.00"),
        row("合计", "4", "110,000.00", "4", "19,600.00"),
        row("本期追回", "1 笔，3,600.00 元"),
        row("已过期券上未结冻结", f"1 张，5,000.00 元（截至 {today().isoformat()} 日终）"),
        row("cap_exceeded", "超出限额", "2"), row("合计", "", "5").replace("\n\n", "\n"),
    ):
        assert expected in text, expected
    flat = text.replace("\n", "")
    assert head_hash in flat and f"分录 {entries} 条" in flat
    assert "LN-CXQ 2026.1" in text and "审计员 李四" in text
    assert "第 1 页 / 共" in text


def test_audit_of_a_programme_nobody_has_is_404(sessions, built, policy_set):
    with pytest.raises(NotFound), transaction(sessions) as s:
        render_report(s, io.BytesIO(), "audit", programme="LN-NOPE-2026",
                      period=Period(START, today()), policy_set=policy_set,
                      made_by="x", font=report_font())


def test_firm_statement_reconciles_with_the_vouchers_balances(
    sessions, built, policy_set, read_pdf
):
    outcome, pdf = render(sessions, policy_set, "firm-statement", party_id=1)
    text = text_of(read_pdf, pdf)
    with transaction(sessions) as s:
        held = [balance(s, f"{CODE}:voucher:V00000{n}") for n in (1, 4)]
    assert outcome.ok
    closing = sum(b.debit_balance for b in held)
    assert closing == 5_000_000  # V1: 50,000 − 5,000 paid service; V4: 10,000 − 5,000 expired
    for expected in (
        "企业对账单（LN-CXQ-2026）", row("单位名称", "沈阳新松智联机器人科技有限公司"),
        row("统一社会信用代码", "91210100MA0Y7K3N5H"), row("科目数", "2"),
        row("期初余额（2025-01-01 00:00 前）", "0.00"),
        row("本期借方过账合计（增加）", "63,600.00"), row("本期贷方过账合计（减少）", "13,600.00"),
        row(f"期末余额（{today().isoformat()} 24:00）", "50,000.00"),
        row("期末冻结中", "5,000.00"), row("本期明细笔数", "9"),
        "期初余额 + 借方 － 贷方 = 期末余额：相符", "二、本期明细",
        row("发放创新券·过账", "创新券未用余额 V000001", "50,000.00", "", "50,000.00").replace(
            "\n\n", "\n"),
        "（5,000.00）",
        "到期退回预算·过账",
    ):
        assert expected in text, expected
    assert "大连海创" not in text  # firm 2's name never appears on firm 1's statement


def test_the_statement_opening_balance_is_the_balance_before_the_period(
    sessions, built, policy_set, read_pdf
):
    # From tomorrow on nothing moves: opening = closing = the balance now, no rows.
    later = today() + dt.timedelta(days=1)
    outcome, pdf = render(sessions, policy_set, "provider-statement", party_id=1,
                          start=later, end=later)
    text = text_of(read_pdf, pdf)
    with transaction(sessions) as s:
        now = balance(s, f"{CODE}:provider:1").debit_balance
    assert outcome.ok and now == 300_000  # earned 8,000 (5,000 paid out), claim of 3,000 open
    assert row(f"期初余额（{later.isoformat()} 00:00 前）", "3,000.00") in text
    assert row("本期明细笔数", "0") in text


def test_provider_statement_lists_earnings_and_payment(sessions, built, policy_set, read_pdf):
    outcome, pdf = render(sessions, policy_set, "provider-statement", party_id=1)
    text = text_of(read_pdf, pdf)
    assert outcome.ok
    for expected in ("服务机构对账单（LN-CXQ-2026）", row("单位名称", "辽宁省检验检测认证中心"),
                     row("本期借方过账合计（增加）", "8,000.00"),
                     row("本期贷方过账合计（减少）", "5,000.00"),
                     "银行支付完成·冻结转过账", "服务完成核销·冻结转过账", "预订服务（冻结）·冻结"):
        assert expected in text, expected
    assert row("期末冻结中", "5,000.00") in text  # the open booking on the expired voucher


def test_statements_need_a_known_party(sessions, built, policy_set):
    with pytest.raises(InvalidInput):
        render(sessions, policy_set, "firm-statement")
    with pytest.raises(NotFound):
        render(sessions, policy_set, "provider-statement", party_id=99)


def test_exceptions_report_counts_refusals_clawbacks_and_open_holds(
    sessions, built, policy_set, read_pdf
):
    outcome, pdf = render(sessions, policy_set, "exceptions")
    text = text_of(read_pdf, pdf)
    assert outcome.ok
    for expected in (
        "异常报告（LN-CXQ-2026）", row("被拒操作", "5 次"), row("其中触及限额", "2 次"),
        row("其中关联交易", "1 次"), row("其中逾期申请兑付", "1 次"),
        row("追回", "1 笔，3,600.00 元"), row("已过期券上未结冻结", "1 张，5,000.00 元"),
        "一、被拒操作（按拒绝代码）", row("cap_exceeded", "超出限额", "2"),
        row("related_party", "关联交易", "1"), row("claim_late", "逾期申请兑付", "1"),
        row("voucher_expired", "创新券已过期", "1"),
        # Each refusal in words: the user by name, the operation, what it was about.
        "二、触及限额", row("预约服务", "服务预约 1", "超出限额"),
        "三、关联交易被拒", row("预约服务", "服务预约 3", "关联交易"),
        "四、逾期申请兑付", row("提交兑付申请", "服务预约 4", "逾期申请兑付"),
        "五、追回", "服务未实际发生",
        "六、已过期券上的未结冻结", row("V000004", "沈阳新松智联机器人科技有限公司", "2025-12-31",
                                     "5,000.00"),
    ):
        assert expected in text, expected
    # A name wider than its column wraps inside the cell rather than run over the next one.
    assert "沈阳知行专利代理事务所有限公司" in text.replace("\n", "")


def test_a_period_before_anything_happened_prints_empty_sections(
    sessions, built, policy_set, read_pdf
):
    _, pdf = render(sessions, policy_set, "exceptions", start=dt.date(2024, 1, 1),
                    end=dt.date(2024, 12, 31))
    text = text_of(read_pdf, pdf)
    assert row("被拒操作", "0 次") in text and "本期无记录" in text
    _, pdf = render(sessions, policy_set, "audit", start=dt.date(2024, 1, 1),
                    end=dt.date(2024, 12, 31))
    text = text_of(read_pdf, pdf)
    assert row("发放创新券", "0", "0.00") in text and "本期无记录" in text
    # The budget position is the ledger's at the period's end: nothing had been appropriated.
    assert "一、预算概况（截至 2024-12-31 日终）" in text
    assert row("拨入预算", "0.00") in text and row("可用预算", "0.00") in text


def test_the_certificate_still_verifies_the_year(sessions, built, policy_set):
    outcome, _ = render(sessions, policy_set, "certificate")
    with transaction(sessions) as s:
        assert verify(s).ok
    assert outcome.ok


def test_audit_of_an_award_programme_breaks_down_by_tier(sessions, policy_set, read_pdf):
    from ledger.awards import award as awards
    from ledger.payments import batches as payments
    from ledger.payments.confirmation import mark_paid
    from ledger.programmes.programme import appropriate, create_programme
    from tests.awards.support import (
        APPROVER,
        CERTIFIED,
        ON,
        OPERATOR,
        OTHER,
        make_firms,
        publish_ended,
    )

    code = "LN-AWARD-2022"
    with transaction(sessions) as s:
        firms = make_firms(s, 3)  # 沈阳市, 大连市, 鞍山市
        create_programme(s, code=code, name="奖励2022", fiscal_year=2022, policy="LN-AWARD",
                         by=OPERATOR)
        appropriate(s, code, 1_000_000_000, by=OPERATOR)
    ids = {}
    with transaction(sessions) as s:
        for firm, tier in zip(firms, ("gazelle", "unicorn", "gazelle"), strict=True):
            ids[firm] = awards.apply_award(
                s, code, firm_id=firm, tier=tier, level="provincial",
                document_no=f"辽科发〔2022〕{firm}号", certified_on=CERTIFIED, by=OPERATOR,
                on=ON).id
    with transaction(sessions) as s:
        for award_id in ids.values():
            awards.approve_award(s, award_id, by=APPROVER)
        publish_ended(s, code)
        batch = payments.create_batch(s, code, award_ids=[ids[firms[0]]], by=OTHER)
        payments.release_batch(s, batch.id, by=APPROVER)
        mark_paid(s, batch.id, by=OTHER, reference="BANK0001", value_date="2022-09-01")
        payments.create_batch(s, code, award_ids=[ids[firms[2]]], by=OTHER)  # left unpaid
        awards.clawback_award(s, ids[firms[1]], by=OTHER, reason="认定撤销")
        position = award_budget(s, code)
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        # The ledger moved today (the applications are dated 2022): a period ending today.
        outcome = render_report(s, pdf, "audit", programme=code,
                                period=Period(dt.date(2022, 1, 1), today()),
                                policy_set=policy_set, made_by="审计员", font=report_font())
    text = text_of(read_pdf, pdf.getvalue())
    assert outcome.ok and position.balanced
    assert (position.appropriated, position.awarded, position.in_payment, position.paid,
            position.free) == (1_000_000_000, 0, 20_000_000, 20_000_000, 960_000_000)
    for expected in (
        "三、按奖励类别", "四、按地区（企业所在市）", "五、按月份（申请月份）", "六、异常摘要",
        row("拨入预算", "10,000,000.00"), row("可用预算", "9,600,000.00"),
        row("已批准未支付", "0.00"), row("支付中", "200,000.00"), row("已支付", "200,000.00"),
        row("奖励申请", "3"), row("批准金额", "900,000.00"),
        row("瞪羚企业", "2", "400,000.00", "200,000.00", "0.00", "400,000.00"),
        row("独角兽企业", "1", "500,000.00", "0.00", "500,000.00", "0.00"),
        row("合计", "3", "900,000.00", "200,000.00", "500,000.00", "400,000.00"),
        row("大连市", "1", "500,000.00", "0.00", "500,000.00", "0.00"),
        row("2022-12", "3", "900,000.00", "200,000.00", "500,000.00", "400,000.00"),
    ):
        assert expected in text, expected
