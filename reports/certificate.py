"""完整性证明: the journal's size and hashes, a fresh verify's verdict, the policies' SHA-256."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy.orm import Session

from ledger.core.seal import SEAL_BOUND
from ledger.core.verify import VerifyReport, verify
from ledger.reading.ledger_queries import JournalSummary, journal_summary
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
from reports.provenance import Period, policies_in_force
from rules.decision import PolicyRef
from rules.loader import PolicySet

TITLE = "完整性证明"
_NAMES = {
    "debits_pending": "冻结借方",
    "debits_posted": "借方发生额",
    "credits_pending": "冻结贷方",
    "credits_posted": "贷方发生额",
}
# verify() streams the whole journal, and a mismatch list could be long; the certificate
# prints the first ones and says how many there were.
MAX_MISMATCHES_SHOWN = 200


@dataclass(frozen=True)
class Certificate:
    """What the certificate printed: the journal summary, the verify report, the policies."""

    summary: JournalSummary
    report: VerifyReport
    policies: tuple[PolicyRef, ...]


def _moment(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _verdict(report: VerifyReport) -> str:
    if report.ok:
        return (
            f"通过（OK）：哈希链完整，{report.entries} 条分录逐条重算一致，"
            "各科目合计与日记账一致"
        )
    problems = []
    if report.first_break is not None:
        problems.append(f"哈希链在第 {report.first_break.entry_id} 条分录断开")
    if report.mismatches:
        problems.append(f"{len(report.mismatches)} 项科目合计与日记账不符")
    if report.stale:
        problems.append(f"{len(report.stale)} 条分录超过 {_bound()} 未封存")
    return "未通过（FAILED）：" + "；".join(problems)


def _bound() -> str:
    return f"{int(SEAL_BOUND.total_seconds() // 60)} 分钟"


def _coverage(summary: JournalSummary, report: VerifyReport) -> str:
    """Which entries the head hash covers: the sealed ones; those still waiting are counted."""
    covered = f"账簿头哈希覆盖已封存的 {summary.entries} 条分录"
    if not report.unsealed:
        return covered + "，无待封存分录"
    return covered + f"；另有 {len(report.unsealed)} 条已提交、待封存的分录不在其内"


def _mismatch_label(total: str) -> str:
    name, _, note = total.partition(" ")
    return _NAMES.get(name, name) + ("（最新历史行）" if note else "")


def certificate_story(
    summary: JournalSummary,
    report: VerifyReport,
    policies: tuple[PolicyRef, ...],
    made_at: dt.datetime,
    font: ReportFont,
) -> list[Flowable]:
    """The flowables of the certificate, from a journal summary and a fresh verify report."""
    s = styles(font)
    story: list[Flowable] = [
        Paragraph(TITLE, s.title),
        Paragraph(
            f"本证明于北京时间 {_moment(made_at)} 生成。生成前，系统从第一条分录起逐条重算了"
            "日记账的哈希链（SHA-256，每条分录的哈希覆盖前一条分录的哈希与本条内容），"
            "并按转账记录重算了每个科目的四项合计，与存储值逐一比对。",
            s.body,
        ),
        *section("一、日记账", s.heading),
        key_value_table(
            [
                ("分录条数", str(summary.entries)),
                ("首条分录哈希", summary.first_hash or "—（日记账为空）"),
                ("账簿头哈希", summary.head_hash),
                ("覆盖范围", _coverage(summary, report)),
                ("首条分录时间", _moment(summary.first_posted_at)),
                ("末条分录时间", _moment(summary.last_posted_at)),
            ],
            font,
            label_width=34 * mm,
        ),
        *section("二、重新核验（verify）", s.heading),
        key_value_table(
            [
                ("核验结果", _verdict(report)),
                ("核验分录数", str(report.entries)),
                ("重算头哈希", report.head_hash),
                (
                    "首个断点",
                    "无" if report.first_break is None
                    else f"第 {report.first_break.entry_id} 条：{report.first_break.reason}",
                ),
                ("科目不符", f"{len(report.mismatches)} 项"),
            ],
            font,
            label_width=34 * mm,
        ),
    ]
    if report.mismatches:
        shown = report.mismatches[:MAX_MISMATCHES_SHOWN]
        code_width = 62 * mm
        rest = (CONTENT_WIDTH - code_width) / 3
        story += [
            Spacer(1, 3 * mm),
            data_table(
                ["科目代码", "合计项", "存储值", "重算值"],
                ([m.code, _mismatch_label(m.total), money(m.stored), money(m.recomputed)]
                 for m in shown),
                [code_width, rest, rest, rest],
                font,
                numeric_from=2,
            ),
        ]
        if len(report.mismatches) > len(shown):
            story.append(
                Paragraph(f"另有 {len(report.mismatches) - len(shown)} 项未列出。", s.small)
            )
    story += [
        *section("三、适用的政策文件", s.heading),
        data_table(
            ["项目", "版本", "文件", "文件 SHA-256"],
            ([p.programme, p.version, p.file, p.sha256] for p in policies),
            [22 * mm, 16 * mm, 36 * mm, CONTENT_WIDTH - 74 * mm],
            font,
            numeric_from=None,
            font_size=7,
        ),
    ]
    return story


def render_certificate(
    session: Session,
    out: str | Path | IO[bytes],
    *,
    programme: str,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
) -> Certificate:
    """Verify the journal afresh and write the integrity certificate to `out`."""
    font = font or report_font()
    made_at = made_at or dt.datetime.now(dt.UTC)
    summary = journal_summary(session)
    report = verify(session)
    policies = policies_in_force(policy_set, programme, period)
    meta = ReportMeta(
        title=TITLE,
        programme=programme,
        period=period.text(),
        policies=policies,
        head_hash=summary.head_hash,
        entries=summary.entries,
        made_at=made_at,
        made_by=made_by,
    )
    build_pdf(out, meta, certificate_story(summary, report, policies, made_at, font), font)
    return Certificate(summary, report, policies)
