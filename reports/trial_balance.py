"""试算平衡表: every account of a programme's ledger as of a day, with totals that must agree."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy.orm import Session

from ledger.core.errors import InvalidInput, NotFound
from ledger.reading.account_names import KIND_ORDER, account_owners
from ledger.reading.ledger_queries import (
    KindBalance,
    TrialBalanceRow,
    TrialBalanceTotals,
    balances_by_kind,
    journal_summary,
    ledger_exists,
    trial_balance_rows,
    trial_balance_totals,
)
from reports.charts import bar_chart
from reports.document import (
    CONTENT_WIDTH,
    SHANGHAI,
    ReportMeta,
    build_pdf,
    data_table,
    key_value_table,
    money,
    section,
    styles,
)
from reports.fonts import ReportFont, report_font
from reports.names import account_kind_name
from reports.provenance import Period, as_of_period, policies_in_force
from rules.loader import PolicySet

TITLE = "试算平衡表"
_CODE_WIDTH = 30 * mm
_NAME_WIDTH = 52 * mm
_NAMES_PER_QUERY = 500


@dataclass(frozen=True)
class TrialBalance:
    """What the rendered trial balance printed: its moment, totals and the head it read."""

    ledger: str
    as_of: dt.datetime
    totals: TrialBalanceTotals
    head_hash: str
    entries: int


def _short(code: str, ledger: str) -> str:
    """The code without the ledger's prefix, which the title already states."""
    return code.removeprefix(f"{ledger}:")


def _named(
    session: Session, rows: Iterator[TrialBalanceRow]
) -> Iterator[tuple[TrialBalanceRow, str]]:
    """Each row with its account's name (账户名称), looked up a batch of rows at a time."""
    while batch := list(itertools.islice(rows, _NAMES_PER_QUERY)):
        owners = account_owners(session, [r.code for r in batch])
        for row in batch:
            owner = owners[row.code]
            yield row, owner.name or account_kind_name(owner.kind)


def _chart_rank(kind: KindBalance) -> int:
    """Bars in the chart's order of accounts (funding first, paid last)."""
    return KIND_ORDER.index(kind.kind) if kind.kind in KIND_ORDER else len(KIND_ORDER)


def _split(row: TrialBalanceRow, name: str, ledger: str) -> list[str]:
    """Code, name, posted debits and credits, then the balance on its own side."""
    debit_side = money(row.balance) if row.balance > 0 else ""
    credit_side = money(-row.balance) if row.balance < 0 else ""
    return [_short(row.code, ledger), name, money(row.debits_posted), money(row.credits_posted),
            debit_side, credit_side]


def _verdict(totals: TrialBalanceTotals) -> str:
    if totals.balanced:
        return "平衡：借方发生额合计 = 贷方发生额合计，借方余额合计 = 贷方余额合计"
    return (
        "不平衡：发生额差额 "
        f"{money(totals.debits_posted - totals.credits_posted)}，余额差额 "
        f"{money(totals.debit_balances - totals.credit_balances)}"
    )


def trial_balance_story(
    session: Session, ledger: str, at: dt.datetime, font: ReportFont
) -> tuple[list[Flowable], TrialBalanceTotals]:
    """The flowables of the trial balance of `ledger` at `at`, and the totals they print."""
    s = styles(font)
    totals = trial_balance_totals(session, ledger, at)
    shown = at.astimezone(SHANGHAI)
    story: list[Flowable] = [
        Paragraph(f"{TITLE}（{ledger}）", s.title),
        Paragraph(
            f"截至北京时间 {shown:%Y-%m-%d %H:%M:%S} 已过账的累计发生额与余额。金额单位：元。",
            s.body,
        ),
        key_value_table(
            [
                ("科目数", str(totals.accounts)),
                ("借方发生额合计", money(totals.debits_posted)),
                ("贷方发生额合计", money(totals.credits_posted)),
                ("借方余额合计", money(totals.debit_balances)),
                ("贷方余额合计", money(totals.credit_balances)),
                ("未结冻结（借方 / 贷方）",
                 f"{money(totals.debits_pending)} / {money(totals.credits_pending)}"),
                ("试算结果", _verdict(totals)),
            ],
            font,
            label_width=42 * mm,
        ),
        Spacer(1, 4 * mm),
    ]
    kinds = sorted(balances_by_kind(session, ledger, at), key=_chart_rank)
    if kinds:
        story.append(
            bar_chart(
                [account_kind_name(k.kind) for k in kinds],
                [k.balance for k in kinds],
                font,
                title="各类科目余额（元；正数为借方余额，负数为贷方余额）",
            )
        )
    number_width = (CONTENT_WIDTH - _CODE_WIDTH - _NAME_WIDTH) / 4
    story += [
        *section("一、科目余额", s.heading),
        Paragraph(f"科目代码省略项目前缀“{ledger}:”；账户按资金来源、预算、创新券、服务机构、"
                  "奖励、应收、已支付排列，同类按编号顺序。", s.small),
        data_table(
            ["科目代码", "账户名称", "借方发生额", "贷方发生额", "借方余额", "贷方余额"],
            (_split(row, name, ledger)
             for row, name in _named(session, trial_balance_rows(session, ledger, at))),
            [_CODE_WIDTH, _NAME_WIDTH, *[number_width] * 4],
            font,
            numeric_from=2,
            font_size=7.5,
            total=[
                "合计",
                "",
                money(totals.debits_posted),
                money(totals.credits_posted),
                money(totals.debit_balances),
                money(totals.credit_balances),
            ],
        ),
    ]
    if totals.debits_pending or totals.credits_pending:
        held = trial_balance_rows(session, ledger, at, held_only=True)
        story += [
            *section("二、未结冻结（已预留、尚未过账的款项）", s.heading),
            data_table(
                ["科目代码", "账户名称", "冻结借方", "冻结贷方"],
                ([_short(r.code, ledger), name, money(r.debits_pending),
                  money(r.credits_pending)] for r, name in _named(session, held)),
                [_CODE_WIDTH, _NAME_WIDTH, *[(CONTENT_WIDTH - _CODE_WIDTH - _NAME_WIDTH) / 2] * 2],
                font,
                numeric_from=2,
                total=["合计", "", money(totals.debits_pending), money(totals.credits_pending)],
            ),
        ]
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            "说明：发生额为截至该时点已过账的借方、贷方累计金额；余额为借方发生额减贷方发生额，"
            "正数列于借方余额，负数列于贷方余额。冻结款项（服务预订的预留）不计入发生额。"
            "页眉的账簿头哈希是生成本表时日记账的最新哈希。",
            s.small,
        ),
    ]
    return story, totals


def render_trial_balance(
    session: Session,
    out: str | Path | IO[bytes],
    *,
    ledger: str,
    as_of: dt.date,
    policy_set: PolicySet,
    period_start: dt.date | None = None,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
) -> TrialBalance:
    """Write the trial balance of `ledger` as of the end of `as_of` (Beijing time) to `out`.

    The period the header states runs from `period_start` (default: 1 January of `as_of`'s
    fiscal year) to `as_of`; it picks the policy versions listed. Balances are cumulative.
    """
    if not ledger_exists(session, ledger):
        raise NotFound(f"no accounts in ledger {ledger}", code_value=ledger)
    font = font or report_font()
    period = as_of_period(as_of) if period_start is None else Period(period_start, as_of)
    if period.start > period.end:
        raise InvalidInput(f"period starts {period.start} after it ends {period.end}")
    at = period.end_moment
    summary = journal_summary(session)
    story, totals = trial_balance_story(session, ledger, at, font)
    meta = ReportMeta(
        title=TITLE,
        programme=ledger,
        period=f"截至 {as_of.isoformat()}（{period.text()}）",
        policies=policies_in_force(policy_set, ledger, period),
        head_hash=summary.head_hash,
        entries=summary.entries,
        made_at=made_at or dt.datetime.now(dt.UTC),
        made_by=made_by,
    )
    build_pdf(out, meta, story, font)
    return TrialBalance(ledger, at, totals, summary.head_hash, summary.entries)
