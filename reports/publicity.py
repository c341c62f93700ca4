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
from reports.words import N_, speaking, tr
from rules.loader import PolicySet

TITLE = N_("Award publicity")
NONE_ROW = N_("No publicity lists in the period")


@dataclass(frozen=True)
class Publicity:
    """What the report printed: the lists, their awards and amount, the journal head."""

    publications: tuple[int, ...]
    awards: int
    amount_fen: int
    head_hash: str


def period_rule(pub: PublicationView) -> str:
    """The period as the list states it, e.g. 2022-12-02 至 2022-12-08（5 个工作日）."""
    rule = (N_("{start} to {end} ({days} working days)") if pub.working_days
            else N_("{start} to {end} ({days} days)"))
    return tr(rule, start=pub.starts_on.isoformat(), end=pub.ends_on.isoformat(), days=pub.days)


def _list(pub: PublicationView, font: ReportFont, number: int) -> list[Flowable]:
    s = styles(font)
    widths = [12 * mm, CONTENT_WIDTH - 122 * mm, 46 * mm, 34 * mm, 30 * mm]
    return [
        *section(tr("{number}. Publicity list no. {id}", number=number, id=pub.id), s.heading),
        key_value_table([
            (tr("Publicity period"), period_rule(pub)),
            (tr("Policy version"), f"{pub.programme} {pub.policy_version}"),
            (tr("Journal head hash at publicity"), pub.head_hash),
            (tr("Awards"), tr("{count} awards, {amount} yuan", count=len(pub.items),
                       amount=money(pub.total_fen))),
        ], font, label_width=34 * mm),
        data_table([tr("No."), tr("Firm name"), tr("Unified social credit code"), tr("Award tier"),
                    tr("Amount (yuan)")],
                   ([str(n), i.firm_name, i.credit_code, tier_name(i.tier), money(i.amount_fen)]
                    for n, i in enumerate(pub.items, 1)),
                   widths, font, numeric_from=4,
                   total=[tr("Total"), "", "", tr("{count} awards", count=len(pub.items)),
                          money(pub.total_fen)]),
    ]


def publicity_story(pubs: list[PublicationView], period_text: str, font: ReportFont,
                    *, one_list: bool = False) -> list[Flowable]:
    """The flowables of the report: an introduction, then each list; `period_text` is the
    list's own period (`one_list`) or the days the lists' periods start within."""
    s = styles(font)
    lead = (N_("Publicity period: {period} (Beijing time). Amounts in yuan. Objections to the "
               "list may be made in writing to the competent department within its publicity "
               "period; an award is paid only once its period has ended with no objection "
               "upheld.") if one_list else
            N_("Publicity starting: {period} (Beijing time). Amounts in yuan. Objections "
               "to a list may be made in writing to the competent department within its "
               "publicity period; an award is paid only once its period has ended with "
               "no objection upheld."))
    story: list[Flowable] = [
        Paragraph(tr(TITLE), s.title),
        Paragraph(tr(lead, period=period_text), s.body),
    ]
    if not pubs:
        story.append(Paragraph(tr(NONE_ROW), s.body))
    for number, pub in enumerate(pubs, 1):
        story.extend(_list(pub, font, number))
    story.append(Paragraph(tr("The lists give only the firm's name, its unified social credit "
                              "code, the award tier and the amount: no personal information. "
                              "The journal head hash at publicity is the end of the journal's "
                              "hash chain when the list was published, for verification."),
                           s.small))
    return story


def _render(session: Session, out: str | Path | IO[bytes], pubs: list[PublicationView], *,
            programme: str, period: Period, period_text: str, policy_set: PolicySet,
            made_by: str, made_at: dt.datetime | None, font: ReportFont | None,
            one_list: bool = False) -> Publicity:
    font = font or report_font()
    meta = report_meta(session, title=tr(TITLE), programme=programme, period=period,
                       policy_set=policy_set, made_by=made_by, made_at=made_at,
                       period_text=period_text)
    build_pdf(out, meta, publicity_story(pubs, period_text, font, one_list=one_list), font)
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
    language: str | None = None,
) -> Publicity:
    """Write the 公示 lists of `programme` whose period starts within `period` to `out`
    (in Chinese unless `language` is given)."""
    pubs = publications_starting(session, programme, period.start, period.end)
    with speaking(language):
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
    language: str | None = None,
) -> Publicity:
    """Write one 公示 list to `out`: its period is the list's own (in Chinese unless
    `language` is given)."""
    pub = publication(session, publication_id)
    period = Period(pub.starts_on, pub.ends_on)
    with speaking(language):
        return _render(session, out, [pub], programme=pub.programme, period=period,
                       period_text=period_rule(pub), policy_set=policy_set, made_by=made_by,
                       made_at=made_at, font=font, one_list=True)
