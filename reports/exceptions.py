"""异常报告: what the controls stopped or undid in a period, and what is left hanging.

Refusals come from the operation log (every refused mutation is logged with its code; the
log is system-wide, not per programme); clawbacks from the redemptions and awards clawed
back in the period; open holds on expired vouchers are read from current account totals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph
from sqlalchemy.orm import Session

from ledger.programmes.programme import programme_row
from ledger.reading import audit_queries as q
from ledger.registry.names import actor_names
from reports.document import (
    CONTENT_WIDTH,
    SHANGHAI,
    build_pdf,
    data_table,
    key_value_table,
    money,
    section,
    styles,
)
from reports.fonts import ReportFont, report_font
from reports.names import object_name, operation_name, refusal_name, tier_name
from reports.provenance import Period, report_meta
from rules.loader import PolicySet

TITLE = "异常报告"
NONE_ROW = "本期无记录"
# Long enough for any refusal message or clawback reason; it wraps within its cell.
MESSAGE_CHARS = 400


@dataclass(frozen=True)
class Exceptions:
    """The counts the report printed."""

    refusals: tuple[tuple[str, int], ...]
    clawbacks: q.CountAmount
    open_holds: q.CountAmount
    head_hash: str

    def count(self, codes: Iterable[str]) -> int:
        """Refusals with one of `codes`."""
        wanted = set(codes)
        return sum(n for code, n in self.refusals if code in wanted)


def _when(at: dt.datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _refusal_table(session: Session, rows: Iterable[q.RefusalRow], font: ReportFont
                   ) -> Flowable:
    """Each refusal: when, who (by name), what, on what, and the refusal in words."""
    widths = [30 * mm, 34 * mm, 36 * mm, 22 * mm]
    found = list(rows)
    people = actor_names(session, [r.actor for r in found])
    lines = ([_when(r.at), people.get(r.actor, r.actor), operation_name(r.action),
              f"{object_name(r.object_type)} {r.object_id or ''}".strip(),
              refusal_name(r.code)] for r in found)
    return data_table(["时间", "操作人", "操作", "对象", "说明"],
                      _or_none(lines, 5), [*widths, CONTENT_WIDTH - sum(widths)], font,
                      numeric_from=None, font_size=6.5)


def _or_none(rows: Iterable[list[str]], width: int) -> Iterable[list[str]]:
    """The rows, or a single 本期无记录 row when there are none."""
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        yield [NONE_ROW, *[""] * (width - 1)]


def exceptions_story(
    session: Session, programme: str, period: Period, font: ReportFont
) -> tuple[list[Flowable], Exceptions]:
    """The flowables of the exceptions report, and the counts they print."""
    s = styles(font)
    prog = programme_row(session, programme)
    window = period.window()
    by_code = q.refusals_by_code(session, window)
    clawed = q.clawback_total(session, prog.id, window)
    day_after = period.end + dt.timedelta(days=1)
    holds = q.open_holds_total(session, prog.id, day_after)
    result = Exceptions(tuple(by_code), clawed, holds, "")
    total = sum(n for _, n in by_code)
    clawback_rows = q.clawbacks(session, prog.id, window)
    story: list[Flowable] = [
        Paragraph(f"{TITLE}（{programme}）", s.title),
        Paragraph(f"期间：{period.text()}（北京时间）。金额单位：元。被拒操作取自操作日志"
                  "（全系统，不分项目）；追回与未结冻结限于本项目。", s.body),
        key_value_table([
            ("被拒操作", f"{total} 次"),
            ("其中触及限额", f"{result.count(q.CAP_CODES)} 次"),
            ("其中关联交易", f"{result.count(q.RELATED_PARTY_CODES)} 次"),
            ("其中逾期申领", f"{result.count(q.LATE_CLAIM_CODES)} 次"),
            ("追回", f"{clawed.count} 笔，{money(clawed.amount)} 元"),
            ("已过期券上未结冻结", f"{holds.count} 张，{money(holds.amount)} 元"),
        ], font, label_width=42 * mm),
        *section("一、被拒操作（按拒绝代码）", s.heading),
        data_table(["拒绝代码", "含义", "次数"],
                   _or_none(([c, refusal_name(c), str(n)] for c, n in by_code), 3),
                   [60 * mm, CONTENT_WIDTH - 90 * mm, 30 * mm], font, numeric_from=2,
                   total=["合计", "", str(total)]),
        *section("二、触及限额", s.heading),
        _refusal_table(session, q.refusals(session, window, q.CAP_CODES), font),
        *section("三、关联交易被拒", s.heading),
        _refusal_table(session, q.refusals(session, window, q.RELATED_PARTY_CODES), font),
        *section("四、逾期申领", s.heading),
        _refusal_table(session, q.refusals(session, window, q.LATE_CLAIM_CODES), font),
        *section("五、追回", s.heading),
        data_table(
            ["时间", "对象", "企业", "服务机构／奖励类别", "金额", "原因"],
            _or_none(([_when(c.at), f"{'核销' if c.kind == 'redemption' else '奖励'} {c.id}",
                       c.firm, c.provider if c.kind == "redemption" else tier_name(c.provider),
                       money(c.amount), c.reason[:MESSAGE_CHARS]] for c in clawback_rows), 6),
            [28 * mm, 18 * mm, 34 * mm, 34 * mm, 22 * mm, CONTENT_WIDTH - 136 * mm], font,
            numeric_from=None, amounts=(4,), font_size=6.5,
            total=["合计", str(clawed.count), "", "", money(clawed.amount), ""],
        ),
        *section(f"六、已过期券上的未结冻结（有效期至 {period.end.isoformat()} 或更早）",
                 s.heading),
        data_table(
            ["券号", "企业", "有效期至", "冻结金额"],
            _or_none(([h.serial, h.firm, h.expires_on.isoformat(), money(h.held)]
                      for h in q.open_holds(session, prog.id, day_after)), 4),
            [26 * mm, CONTENT_WIDTH - 86 * mm, 28 * mm, 32 * mm], font, numeric_from=3,
            total=["合计", f"{holds.count} 张", "", money(holds.amount)],
        ),
        Paragraph("未结冻结为生成时各券科目上的冻结余额：已预订、尚未完成或取消的服务。"
                  "到期处理不会自动解除冻结，须由服务机构完成或取消。", s.small),
    ]
    return story, result


def render_exceptions(
    session: Session,
    out: str | Path | IO[bytes],
    *,
    programme: str,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
) -> Exceptions:
    """Write the exceptions report of `programme` for `period` to `out`."""
    font = font or report_font()
    meta = report_meta(session, title=TITLE, programme=programme, period=period,
                       policy_set=policy_set, made_by=made_by, made_at=made_at)
    story, result = exceptions_story(session, programme, period, font)
    build_pdf(out, meta, story, font)
    return replace(result, head_hash=meta.head_hash)
