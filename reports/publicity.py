"""奖励公示: a programme's 公示 list of approved awards, as the bureau publishes it.

Each list gives its period (start and end, calendar or working days), the journal head hash
recorded when it was published, and per award the firm's name, its unified social credit code,
the tier and the amount; no personal data (objections and who raised them are not printed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph
from sqlalchemy.orm import Session

from ledger.reading.award_publicity import PublicationView, publication, publications_starting
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
from reports.names import tier_name
from reports.provenance import Period, report_meta
from rules.loader import PolicySet

TITLE = "奖励公示"
NONE_ROW = "本期无公示"


@dataclass(frozen=True)
class Publicity:
    """What the report printed: the lists, their awards and amount, the journal head."""

    publications: tuple[int, ...]
    awards: int
    amount_fen: int
    head_hash: str


def period_rule(pub: PublicationView) -> str:
    """The period as the list states it, e.g. 2022-12-02 至 2022-12-08（5 个工作日）."""
    unit = "个工作日" if pub.working_days else "日"
    return f"{pub.starts_on.isoformat()} 至 {pub.ends_on.isoformat()}（{pub.days} {unit}）"


def _list(pub: PublicationView, font: ReportFont, number: int) -> list[Flowable]:
    s = styles(font)
    widths = [12 * mm, CONTENT_WIDTH - 122 * mm, 46 * mm, 34 * mm, 30 * mm]
    return [
        *section(f"{number}. 公示名单 第 {pub.id} 号", s.heading),
        key_value_table([
            ("公示期", period_rule(pub)),
            ("政策版本", f"{pub.programme} {pub.policy_version}"),
            ("公示时账簿头哈希", pub.head_hash),
            ("奖励", f"{len(pub.items)} 项，{money(pub.total_fen)} 元"),
        ], font, label_width=34 * mm),
        data_table(["序号", "企业名称", "统一社会信用代码", "奖励类别", "金额（元）"],
                   ([str(n), i.firm_name, i.credit_code, tier_name(i.tier), money(i.amount_fen)]
                    for n, i in enumerate(pub.items, 1)),
                   widths, font, numeric_from=4,
                   total=["合计", "", "", f"{len(pub.items)} 项", money(pub.total_fen)]),
    ]


def publicity_story(pubs: list[PublicationView], period_text: str, font: ReportFont
                    ) -> list[Flowable]:
    """The flowables of the report: an introduction, then each list."""
    s = styles(font)
    story: list[Flowable] = [
        Paragraph(TITLE, s.title),
        Paragraph(f"公示开始日期：{period_text}（北京时间）。金额单位：元。公示期内对名单有异议的，"
                  "可向主管部门书面提出；公示期满且无成立异议的奖励方予拨付。", s.body),
    ]
    if not pubs:
        story.append(Paragraph(NONE_ROW, s.body))
    for number, pub in enumerate(pubs, 1):
        story.extend(_list(pub, font, number))
    story.append(Paragraph("名单仅列企业名称、统一社会信用代码、奖励类别与金额，不含个人信息。"
                           "公示时账簿头哈希为名单发布时账簿哈希链的末端，可用于核验。", s.small))
    return story


def _render(session: Session, out: str | Path | IO[bytes], pubs: list[PublicationView], *,
            programme: str, period: Period, period_text: str, policy_set: PolicySet,
            made_by: str, made_at: dt.datetime | None, font: ReportFont | None) -> Publicity:
    font = font or report_font()
    meta = report_meta(session, title=TITLE, programme=programme, period=period,
                       policy_set=policy_set, made_by=made_by, made_at=made_at,
                       period_text=period_text)
    build_pdf(out, meta, publicity_story(pubs, period_text, font), font)
    return Publicity(tuple(p.id for p in pubs), sum(len(p.items) for p in pubs),
                     sum(p.total_fen for p in pubs), meta.head_hash)


def render_publicity(
    session: Session,
    out: str | Path | IO[bytes],
    *,
    programme: str,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
) -> Publicity:
    """Write the 公示 lists of `programme` whose period starts within `period` to `out`."""
    pubs = publications_starting(session, programme, period.start, period.end)
    return _render(session, out, pubs, programme=programme, period=period,
                   period_text=period.text(), policy_set=policy_set, made_by=made_by,
                   made_at=made_at, font=font)


def render_publication(
    session: Session,
    out: str | Path | IO[bytes],
    publication_id: int,
    *,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
) -> Publicity:
    """Write one 公示 list to `out`: its period is the list's own."""
    pub = publication(session, publication_id)
    period = Period(pub.starts_on, pub.ends_on)
    return _render(session, out, [pub], programme=pub.programme, period=period,
                   period_text=period_rule(pub), policy_set=policy_set, made_by=made_by,
                   made_at=made_at, font=font)
