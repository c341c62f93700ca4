"""项目审计报告: a programme's budget, the period's activity and its breakdowns, with charts.

The budget position, the balances and the open holds are as of the period's end (the last
instant of its last day, Beijing time), read from the accounts' history
(`ledger.budget.budget(as_of=…)`, or the award twin); the period's activity and every
breakdown are SQL group-bys over the domain tables and their monthly totals
(ledger/reading/audit_queries.py), so the report's cost follows the rows it prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy.orm import Session

from ledger.budget import AwardBudget, Budget, award_budget, budget
from ledger.programmes.programme import Programme, policies, programme_row
from ledger.reading import audit_queries as q
from reports.charts import bar_chart, monthly_line
from reports.document import (
    CONTENT_WIDTH,
    build_pdf,
    data_table,
    key_value_table,
    money,
    section,
    styles,
)
from reports.fonts import ReportFont, report_font
from reports.names import category_name, refusal_name, tier_name
from reports.provenance import Period, as_of_text, report_meta
from rules.loader import PolicySet

TITLE = "项目审计报告"
TOP_PROVIDERS = 10
NONE_ROW = "本期无记录"


@dataclass(frozen=True)
class Audit:
    """What the audit printed: the budget position and the period's headline figures."""

    programme: str
    award: bool
    budget: Budget | AwardBudget
    issued: q.CountAmount
    redeemed: q.RedemptionGroup
    expired: q.CountAmount
    paid: q.CountAmount
    head_hash: str


def is_award_programme(row: Programme) -> bool:
    """True when the programme follows an award policy (LN-AWARD) rather than a voucher one."""
    versions = policies().versions(row.policy)
    return bool(versions) and all(v.model.kind == "award" for v in versions)


def _budget_pairs(b: Budget | AwardBudget) -> list[tuple[str, str]]:
    verdict = "成立" if b.balanced else "不成立（请核查）"
    if isinstance(b, AwardBudget):
        return [
            ("拨入预算", money(b.appropriated)),
            ("可用预算", money(b.free)),
            ("其中：待审批申请占用", money(b.promised)),
            ("已批准未支付", money(b.awarded)),
            ("支付中", money(b.in_payment)),
            ("已支付", money(b.paid)),
            ("追回应收", money(b.receivable)),
            ("预算恒等式",
             f"拨入 = 可用 + 已批准未支付 + 支付中 + 已支付 － 追回应收：{verdict}"),
        ]
    return [
        ("拨入预算", money(b.appropriated)),
        ("已发放创新券（累计）", money(b.issued)),
        ("创新券未用余额", money(b.unspent)),
        ("冻结中（已预订未完成）", money(b.held)),
        ("已核销未支付", money(b.redeemed)),
        ("支付中", money(b.in_payment)),
        ("已支付", money(b.paid)),
        ("到期退回（累计）", money(b.expired)),
        ("追回应收", money(b.receivable)),
        ("可用预算", money(b.free)),
        ("预算恒等式",
         f"拨入 = 可用 + 未用 + 冻结 + 未支付 + 支付中 + 已支付 － 追回应收：{verdict}"),
    ]


def _redemption_table(
    groups: Sequence[q.RedemptionGroup], total: q.RedemptionGroup, first: str,
    label_width: float, font: ReportFont, *, ranked: bool = False,
) -> Flowable:
    figures = (CONTENT_WIDTH - label_width - (12 * mm if ranked else 0)) / 4
    rank = ["名次"] if ranked else []
    rows = [[*([str(i)] if ranked else []), g.label, str(g.count), money(g.completed),
             money(g.clawed_back), money(g.net)] for i, g in enumerate(groups, 1)]
    if not rows:
        rows = [[*([""] if ranked else []), NONE_ROW, "0", money(0), money(0), money(0)]]
    return data_table(
        [*rank, first, "笔数", "完成核销", "其中已追回", "净核销"], rows,
        [*([12 * mm] if ranked else []), label_width, figures, figures, figures, figures], font,
        numeric_from=2 if ranked else 1,
        total=None if ranked else ["合计", str(total.count), money(total.completed),
                                   money(total.clawed_back), money(total.net)],
    )


def _award_table(groups: Sequence[q.AwardGroup], first: str, names: bool,
                 font: ReportFont) -> Flowable:
    label = 46 * mm
    figures = (CONTENT_WIDTH - label) / 5
    rows = [[tier_name(g.key) if names else g.key, str(g.count), money(g.approved),
             money(g.paid), money(g.clawed_back), money(g.approved - g.clawed_back)]
            for g in groups] or [[NONE_ROW, "0", money(0), money(0), money(0), money(0)]]
    total = ["合计", str(sum(g.count for g in groups)),
             money(sum(g.approved for g in groups)), money(sum(g.paid for g in groups)),
             money(sum(g.clawed_back for g in groups)),
             money(sum(g.approved - g.clawed_back for g in groups))]
    return data_table([first, "申请笔数", "批准金额", "其中已支付", "其中已追回", "净批准"], rows,
                      [label, *[figures] * 5], font, total=total)


def _chart(groups: Sequence[q.RedemptionGroup], title: str, font: ReportFont) -> list[Flowable]:
    if not groups:
        return []
    return [Spacer(1, 3 * mm), bar_chart([g.label for g in groups], [g.net for g in groups],
                                         font, title=title)]


def _voucher_sections(
    session: Session, prog: Programme, window: q.Window, done: q.Redemptions,
    font: ReportFont,
) -> list[Flowable]:
    s = styles(font)
    total = done.total
    by_category = [
        q.RedemptionGroup(g.key, category_name(g.key), g.count, g.completed, g.clawed_back)
        for g in done.by("category")
    ]
    top = done.top_providers(TOP_PROVIDERS)
    by_provider = done.by("provider")
    by_city = q.redemptions_by_city(session, prog.id, window)
    month_rows = q.months(session, prog.id, window, done)
    figures = (CONTENT_WIDTH - 24 * mm) / 4
    return [
        *section("三、按服务类别", s.heading),
        _redemption_table(by_category, total, "服务类别", 40 * mm, font),
        *_chart(by_category, "各服务类别净核销金额（元）", font),
        *section(f"四、服务机构排名（按完成核销金额，前 {TOP_PROVIDERS} 名）", s.heading),
        _redemption_table(top, total, "服务机构", 62 * mm, font, ranked=True),
        *section("五、按服务机构", s.heading),
        _redemption_table(by_provider, total, "服务机构", 62 * mm, font),
        *section("六、按地区（企业所在市）", s.heading),
        _redemption_table(by_city, total, "地区", 40 * mm, font),
        *_chart(by_city, "各地区净核销金额（元）", font),
        *section("七、按月份", s.heading),
        data_table(
            ["月份", "发放笔数", "发放金额", "核销笔数", "完成核销金额"],
            ([m.month, str(m.issued_count), money(m.issued), str(m.completed_count),
              money(m.completed)] for m in month_rows),
            [24 * mm, figures, figures, figures, figures], font,
            total=["合计", str(sum(m.issued_count for m in month_rows)),
                   money(sum(m.issued for m in month_rows)),
                   str(sum(m.completed_count for m in month_rows)),
                   money(sum(m.completed for m in month_rows))],
        ),
        Spacer(1, 3 * mm),
        monthly_line([m.month for m in month_rows], [m.completed for m in month_rows], font,
                     title="各月完成核销金额（元）"),
    ]


def _award_sections(
    session: Session, prog: Programme, window: q.Window, font: ReportFont
) -> list[Flowable]:
    s = styles(font)
    by_city = q.award_groups(session, prog.id, window, "city")
    by_month = {g.key: g for g in q.award_groups(session, prog.id, window, "month")}
    months = q.month_labels(window.start, window.end)
    month_groups = [by_month.get(m, q.AwardGroup(m, 0, 0, 0, 0)) for m in months]
    story: list[Flowable] = [
        *section("四、按地区（企业所在市）", s.heading),
        _award_table(by_city, "地区", False, font),
    ]
    if by_city:
        story += [Spacer(1, 3 * mm), bar_chart(
            [g.key for g in by_city], [g.approved - g.clawed_back for g in by_city], font,
            title="各地区净批准奖励金额（元）")]
    story += [
        *section("五、按月份（申请月份）", s.heading),
        _award_table(month_groups, "月份", False, font),
        Spacer(1, 3 * mm),
        monthly_line(months, [g.approved - g.clawed_back for g in month_groups], font,
                     title="各月净批准奖励金额（元）"),
    ]
    return story


def _exceptions_summary(
    session: Session, prog: Programme, window: q.Window, number: str, font: ReportFont,
    held: int | None = None,
) -> list[Flowable]:
    s = styles(font)
    clawed = q.clawback_total(session, prog.id, window)
    # `held`: what all the vouchers held at the period's end; none held, none is open.
    holds = q.CountAmount(0, 0) if held == 0 else q.open_holds_total(
        session, prog.id, window.end + dt.timedelta(days=1), at=window.end_at)
    by_code = q.refusals_by_code(session, window)
    return [
        *section(f"{number}、异常摘要", s.heading),
        key_value_table(
            [("本期追回", f"{clawed.count} 笔，{money(clawed.amount)} 元"),
             ("已过期券上未结冻结", f"{holds.count} 张，{money(holds.amount)} 元"
             f"（{as_of_text(window.end)}）"),
             ("本期被拒操作", f"{sum(n for _, n in by_code)} 次")],
            font, label_width=42 * mm),
        Spacer(1, 2 * mm),
        data_table(
            ["拒绝代码", "含义", "次数"],
            ([code, refusal_name(code), str(n)] for code, n in by_code) if by_code
            else [[NONE_ROW, "", "0"]],
            [60 * mm, CONTENT_WIDTH - 90 * mm, 30 * mm], font, numeric_from=2,
            total=["合计", "", str(sum(n for _, n in by_code))],
        ),
        Paragraph("被拒操作取自操作日志（全系统，不分项目）；明细见异常报告。", s.small),
    ]


def audit_story(
    session: Session, prog: Programme, period: Period, font: ReportFont
) -> tuple[list[Flowable], Audit]:
    """The flowables of the audit of `prog` for `period`, and the figures they print."""
    s = styles(font)
    window = period.window()
    award = is_award_programme(prog)
    at = window.end_at
    position: Budget | AwardBudget = award_budget(session, prog.code, as_of=at) if award \
        else budget(session, prog.code, as_of=at)
    issued = q.issued_in(session, prog.id, window)
    done = q.redemptions(session, prog.id, window)
    total = done.total
    expired = q.expired_in(session, prog.id, window)
    paid = q.paid_in(session, prog.id, window)
    returned = q.returned_in(session, prog.id, window)
    tiers = q.award_groups(session, prog.id, window, "tier")
    activity = [
        ("发放创新券", str(issued.count), money(issued.amount)),
        ("完成核销", str(total.count), money(total.completed)),
        ("其中已追回", "", money(total.clawed_back)),
        ("净核销", "", money(total.net)),
        ("到期退回（有效期止于本期的券）", str(expired.count), money(expired.amount)),
        ("支付批次已付", str(paid.count), money(paid.amount)),
        ("银行退票（已转回应付）", str(returned.count), money(returned.amount)),
    ]
    if award:
        activity = [
            ("奖励申请", str(sum(g.count for g in tiers)), ""),
            ("批准金额", "", money(sum(g.approved for g in tiers))),
            ("其中已支付", "", money(sum(g.paid for g in tiers))),
            ("其中已追回", "", money(sum(g.clawed_back for g in tiers))),
        ]
    story: list[Flowable] = [
        Paragraph(f"{TITLE}（{prog.code} {prog.name}）", s.title),
        Paragraph(f"期间：{period.text()}（北京时间）。金额单位：元。"
                  f"“预算概况”与未结冻结为{as_of_text(period.end)}的累计余额；"
                  "其余各节为本期发生。", s.body),
        *section(f"一、预算概况（{as_of_text(period.end)}）", s.heading),
        key_value_table(_budget_pairs(position), font, label_width=42 * mm),
        *section("二、本期发生", s.heading),
        data_table(["项目", "笔数", "金额"], activity,
                   [CONTENT_WIDTH - 70 * mm, 25 * mm, 45 * mm], font),
    ]
    if award:
        story += [*section("三、按奖励类别", s.heading),
                  _award_table(tiers, "奖励类别", True, font)]
        story += _award_sections(session, prog, window, font)
        story += _exceptions_summary(session, prog, window, "六", font)
    else:
        story += _voucher_sections(session, prog, window, done, font)
        story += [*section("八、按奖励类别", s.heading),
                  _award_table(tiers, "奖励类别", True, font)]
        held = position.held if isinstance(position, Budget) else None
        story += _exceptions_summary(session, prog, window, "九", font, held)
    summary = report_summary_line(position, period.end)
    story.append(Paragraph(summary, s.small))
    return story, Audit(prog.code, award, position, issued, total, expired, paid, "")


def report_summary_line(position: Budget | AwardBudget, end: dt.date) -> str:
    """The closing note: what the budget position was read from, and as of when."""
    return (f"说明：预算概况由各科目{as_of_text(end)}的余额（科目余额历史）汇总得出，"
            "与同日试算平衡表同源；"
            f"预算恒等式{'成立' if position.balanced else '不成立'}。")


def render_audit(
    session: Session,
    out: str | Path | IO[bytes],
    *,
    programme: str,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
) -> Audit:
    """Write the programme audit of `programme` for `period` to `out`."""
    font = font or report_font()
    prog = programme_row(session, programme)
    meta = report_meta(session, title=TITLE, programme=programme, period=period,
                       policy_set=policy_set, made_by=made_by, made_at=made_at,
                       period_text=f"截至 {period.end.isoformat()}（{period.text()}）")
    story, audit = audit_story(session, prog, period, font)
    build_pdf(out, meta, story, font)
    return replace(audit, head_hash=meta.head_hash)
