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
from reports.words import N_, speaking, tr
from rules.loader import PolicySet

TITLE = N_("Programme audit report")
TOP_PROVIDERS = 10
NONE_ROW = N_("No records in the period")


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
    verdict = tr("holds") if b.balanced else tr("does not hold (check it)")
    if isinstance(b, AwardBudget):
        return [
            (tr("Appropriated budget"), money(b.appropriated)),
            (tr("Available budget"), money(b.free)),
            (tr("Of which committed to pending applications"), money(b.promised)),
            (tr("Approved, unpaid"), money(b.awarded)),
            (tr("In payment"), money(b.in_payment)),
            (tr("Paid"), money(b.paid)),
            (tr("Clawbacks receivable"), money(b.receivable)),
            (tr("Budget identity"),
             tr("Appropriated = free + approved unpaid + in payment + paid - receivable: "
                "{verdict}", verdict=verdict)),
        ]
    return [
        (tr("Appropriated budget"), money(b.appropriated)),
        (tr("Vouchers issued (to date)"), money(b.issued)),
        (tr("Unspent voucher balance"), money(b.unspent)),
        (tr("Held (booked, not completed)"), money(b.held)),
        (tr("Redeemed, unpaid"), money(b.redeemed)),
        (tr("In payment"), money(b.in_payment)),
        (tr("Paid"), money(b.paid)),
        (tr("Expired back to the budget (to date)"), money(b.expired)),
        (tr("Clawbacks receivable"), money(b.receivable)),
        (tr("Available budget"), money(b.free)),
        (tr("Budget identity"),
         tr("Appropriated = free + unspent + held + unpaid + in payment + paid - receivable: "
            "{verdict}", verdict=verdict)),
    ]


def _redemption_table(
    groups: Sequence[q.RedemptionGroup], total: q.RedemptionGroup, first: str,
    label_width: float, font: ReportFont, *, ranked: bool = False,
) -> Flowable:
    figures = (CONTENT_WIDTH - label_width - (12 * mm if ranked else 0)) / 4
    rank = [tr("Rank")] if ranked else []
    rows = [[*([str(i)] if ranked else []), g.label, str(g.count), money(g.completed),
             money(g.clawed_back), money(g.net)] for i, g in enumerate(groups, 1)]
    if not rows:
        rows = [[*([""] if ranked else []), tr(NONE_ROW), "0", money(0), money(0), money(0)]]
    return data_table(
        [*rank, first, tr("Count"), tr("Completed redemptions"), tr("Of which clawed back"),
         tr("Net redeemed")], rows,
        [*([12 * mm] if ranked else []), label_width, figures, figures, figures, figures], font,
        numeric_from=2 if ranked else 1,
        total=None if ranked else [tr("Total"), str(total.count), money(total.completed),
                                   money(total.clawed_back), money(total.net)],
    )


def _award_table(groups: Sequence[q.AwardGroup], first: str, names: bool,
                 font: ReportFont) -> Flowable:
    label = 46 * mm
    figures = (CONTENT_WIDTH - label) / 5
    rows = [[tier_name(g.key) if names else g.key, str(g.count), money(g.approved),
             money(g.paid), money(g.clawed_back), money(g.approved - g.clawed_back)]
            for g in groups] or [[tr(NONE_ROW), "0", money(0), money(0), money(0), money(0)]]
    total = [tr("Total"), str(sum(g.count for g in groups)),
             money(sum(g.approved for g in groups)), money(sum(g.paid for g in groups)),
             money(sum(g.clawed_back for g in groups)),
             money(sum(g.approved - g.clawed_back for g in groups))]
    return data_table([first, tr("Applications"), tr("Approved amount"), tr("Of which paid"),
                       tr("Of which clawed back"), tr("Net approved")], rows,
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
        *section(tr("3. By service category"), s.heading),
        _redemption_table(by_category, total, tr("Service category"), 40 * mm, font),
        *_chart(by_category, tr("Net redeemed by service category (yuan)"), font),
        *section(tr("4. Providers ranked by completed redemptions (top {count})",
                    count=TOP_PROVIDERS), s.heading),
        _redemption_table(top, total, tr("Provider"), 62 * mm, font, ranked=True),
        *section(tr("5. By provider"), s.heading),
        _redemption_table(by_provider, total, tr("Provider"), 62 * mm, font),
        *section(tr("6. By region (the firm's city)"), s.heading),
        _redemption_table(by_city, total, tr("Region"), 40 * mm, font),
        *_chart(by_city, tr("Net redeemed by region (yuan)"), font),
        *section(tr("7. By month"), s.heading),
        data_table(
            [tr("Month"), tr("Issued count"), tr("Issued amount"), tr("Redeemed count"),
             tr("Completed amount")],
            ([m.month, str(m.issued_count), money(m.issued), str(m.completed_count),
              money(m.completed)] for m in month_rows),
            [24 * mm, figures, figures, figures, figures], font,
            total=[tr("Total"), str(sum(m.issued_count for m in month_rows)),
                   money(sum(m.issued for m in month_rows)),
                   str(sum(m.completed_count for m in month_rows)),
                   money(sum(m.completed for m in month_rows))],
        ),
        Spacer(1, 3 * mm),
        monthly_line([m.month for m in month_rows], [m.completed for m in month_rows], font,
                     title=tr("Completed redemptions by month (yuan)")),
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
        *section(tr("4. By region (the firm's city)"), s.heading),
        _award_table(by_city, tr("Region"), False, font),
    ]
    if by_city:
        story += [Spacer(1, 3 * mm), bar_chart(
            [g.key for g in by_city], [g.approved - g.clawed_back for g in by_city], font,
            title=tr("Net approved awards by region (yuan)"))]
    story += [
        *section(tr("5. By month (of application)"), s.heading),
        _award_table(month_groups, tr("Month"), False, font),
        Spacer(1, 3 * mm),
        monthly_line(months, [g.approved - g.clawed_back for g in month_groups], font,
                     title=tr("Net approved awards by month (yuan)")),
    ]
    return story


def _exceptions_summary(
    session: Session, prog: Programme, window: q.Window, heading: str, font: ReportFont,
    held: int | None = None,
) -> list[Flowable]:
    s = styles(font)
    clawed = q.clawback_total(session, prog.id, window)
    # `held`: what all the vouchers held at the period's end; none held, none is open.
    holds = q.CountAmount(0, 0) if held == 0 else q.open_holds_total(
        session, prog.id, window.end + dt.timedelta(days=1), at=window.end_at)
    by_code = q.refusals_by_code(session, window)
    return [
        *section(heading, s.heading),
        key_value_table(
            [(tr("Clawed back in the period"),
              tr("{count} items, {amount} yuan", count=clawed.count,
                 amount=money(clawed.amount))),
             (tr("Open holds on expired vouchers"),
              tr("{count} vouchers, {amount} yuan ({as_of})", count=holds.count,
                 amount=money(holds.amount), as_of=as_of_text(window.end))),
             (tr("Operations refused in the period"),
              tr("{count} times", count=sum(n for _, n in by_code)))],
            font, label_width=42 * mm),
        Spacer(1, 2 * mm),
        data_table(
            [tr("Refusal code"), tr("Meaning"), tr("Times")],
            ([code, refusal_name(code), str(n)] for code, n in by_code) if by_code
            else [[tr(NONE_ROW), "", "0"]],
            [60 * mm, CONTENT_WIDTH - 90 * mm, 30 * mm], font, numeric_from=2,
            total=[tr("Total"), "", str(sum(n for _, n in by_code))],
        ),
        Paragraph(tr("Refused operations are read from the operation log (the whole system, "
                     "not one programme); the exceptions report lists them."), s.small),
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
        (tr("Vouchers issued"), str(issued.count), money(issued.amount)),
        (tr("Completed redemptions"), str(total.count), money(total.completed)),
        (tr("Of which clawed back"), "", money(total.clawed_back)),
        (tr("Net redeemed"), "", money(total.net)),
        (tr("Expired back to the budget (vouchers whose validity ended in the period)"),
         str(expired.count), money(expired.amount)),
        (tr("Payment batches paid"), str(paid.count), money(paid.amount)),
        (tr("Returned by the bank (owed again)"), str(returned.count), money(returned.amount)),
    ]
    if award:
        activity = [
            (tr("Award applications"), str(sum(g.count for g in tiers)), ""),
            (tr("Approved amount"), "", money(sum(g.approved for g in tiers))),
            (tr("Of which paid"), "", money(sum(g.paid for g in tiers))),
            (tr("Of which clawed back"), "", money(sum(g.clawed_back for g in tiers))),
        ]
    story: list[Flowable] = [
        Paragraph(tr("{title} ({code} {name})", title=tr(TITLE), code=prog.code,
                     name=prog.name), s.title),
        Paragraph(tr("Period: {period} (Beijing time). Amounts in yuan. The budget position "
                     "and the open holds are balances {as_of}; every other section is the "
                     "period's activity.", period=period.text(), as_of=as_of_text(period.end)),
                  s.body),
        *section(tr("1. Budget position ({as_of})", as_of=as_of_text(period.end)),
                 s.heading),
        key_value_table(_budget_pairs(position), font, label_width=42 * mm),
        *section(tr("2. Activity in the period"), s.heading),
        data_table([tr("Item"), tr("Count"), tr("Amount")], activity,
                   [CONTENT_WIDTH - 70 * mm, 25 * mm, 45 * mm], font),
    ]
    if award:
        story += [*section(tr("3. By award tier"), s.heading),
                  _award_table(tiers, tr("Award tier"), True, font)]
        story += _award_sections(session, prog, window, font)
        story += _exceptions_summary(session, prog, window, tr("6. Exceptions summary"), font)
    else:
        story += _voucher_sections(session, prog, window, done, font)
        story += [*section(tr("8. By award tier"), s.heading),
                  _award_table(tiers, tr("Award tier"), True, font)]
        held = position.held if isinstance(position, Budget) else None
        story += _exceptions_summary(session, prog, window, tr("9. Exceptions summary"), font,
                                     held)
    summary = report_summary_line(position, period.end)
    story.append(Paragraph(summary, s.small))
    return story, Audit(prog.code, award, position, issued, total, expired, paid, "")


def report_summary_line(position: Budget | AwardBudget, end: dt.date) -> str:
    """The closing note: what the budget position was read from, and as of when."""
    return tr("Note: the budget position sums the accounts' balances {as_of} (the history of "
              "account balances), the same source as that day's trial balance; the budget "
              "identity {verdict}.", as_of=as_of_text(end),
              verdict=tr("holds") if position.balanced else tr("does not hold"))


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
    language: str | None = None,
) -> Audit:
    """Write the programme audit of `programme` for `period` to `out` (in Chinese unless
    `language` is given)."""
    font = font or report_font()
    prog = programme_row(session, programme)
    with speaking(language):
        meta = report_meta(session, title=tr(TITLE), programme=programme, period=period,
                           policy_set=policy_set, made_by=made_by, made_at=made_at,
                           period_text=tr("as of {day} ({period})",
                                          day=period.end.isoformat(), period=period.text()))
        story, audit = audit_story(session, prog, period, font)
        build_pdf(out, meta, story, font)
    return replace(audit, head_hash=meta.head_hash)
