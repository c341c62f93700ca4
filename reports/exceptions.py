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
from reports.words import N_, speaking, tr
from rules.loader import PolicySet

TITLE = N_("Exceptions report")
NONE_ROW = N_("No records in the period")
# Long enough for any refusal message or clawback reason; it wraps within its cell.
MESSAGE_CHARS = 400
# What a clawback took back, by whether it was a redemption (else an award).
_CLAWBACK_OBJECTS = {True: N_("Redemption {id}"), False: N_("Award {id}")}


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
    return data_table([tr("Time"), tr("Acted by"), tr("Operation"), tr("Object"),
                       tr("Explanation")],
                      _or_none(lines, 5), [*widths, CONTENT_WIDTH - sum(widths)], font,
                      numeric_from=None, font_size=6.5)


def _or_none(rows: Iterable[list[str]], width: int) -> Iterable[list[str]]:
    """The rows, or a single 本期无记录 row when there are none."""
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        yield [tr(NONE_ROW), *[""] * (width - 1)]


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
        Paragraph(tr("{title} ({programme})", title=tr(TITLE), programme=programme), s.title),
        Paragraph(tr("Period: {period} (Beijing time). Amounts in yuan. Refused operations are "
                     "read from the operation log (the whole system, not one programme); "
                     "clawbacks and open holds are this programme's.", period=period.text()),
                  s.body),
        key_value_table([
            (tr("Refused operations"), tr("{count} times", count=total)),
            (tr("Of which over a cap"), tr("{count} times", count=result.count(q.CAP_CODES))),
            (tr("Of which related-party"),
             tr("{count} times", count=result.count(q.RELATED_PARTY_CODES))),
            (tr("Of which claimed late"),
             tr("{count} times", count=result.count(q.LATE_CLAIM_CODES))),
            (tr("Clawbacks"), tr("{count} items, {amount} yuan", count=clawed.count,
                                 amount=money(clawed.amount))),
            (tr("Open holds on expired vouchers"),
             tr("{count} vouchers, {amount} yuan", count=holds.count,
                amount=money(holds.amount))),
        ], font, label_width=42 * mm),
        *section(tr("1. Refused operations (by refusal code)"), s.heading),
        data_table([tr("Refusal code"), tr("Meaning"), tr("Times")],
                   _or_none(([c, refusal_name(c), str(n)] for c, n in by_code), 3),
                   [60 * mm, CONTENT_WIDTH - 90 * mm, 30 * mm], font, numeric_from=2,
                   total=[tr("Total"), "", str(total)]),
        *section(tr("2. Over a cap"), s.heading),
        _refusal_table(session, q.refusals(session, window, q.CAP_CODES), font),
        *section(tr("3. Related-party transactions refused"), s.heading),
        _refusal_table(session, q.refusals(session, window, q.RELATED_PARTY_CODES), font),
        *section(tr("4. Claims filed late"), s.heading),
        _refusal_table(session, q.refusals(session, window, q.LATE_CLAIM_CODES), font),
        *section(tr("5. Clawbacks"), s.heading),
        data_table(
            [tr("Time"), tr("Object"), tr("Firm"), tr("Provider / award tier"), tr("Amount"),
             tr("Reason")],
            _or_none(([_when(c.at), tr(_CLAWBACK_OBJECTS[c.kind == "redemption"], id=c.id),
                       c.firm, c.provider if c.kind == "redemption" else tier_name(c.provider),
                       money(c.amount), c.reason[:MESSAGE_CHARS]] for c in clawback_rows), 6),
            [28 * mm, 18 * mm, 34 * mm, 34 * mm, 22 * mm, CONTENT_WIDTH - 136 * mm], font,
            numeric_from=None, amounts=(4,), font_size=6.5,
            total=[tr("Total"), str(clawed.count), "", "", money(clawed.amount), ""],
        ),
        *section(tr("6. Open holds on expired vouchers (valid to {day} or earlier)",
                    day=period.end.isoformat()), s.heading),
        data_table(
            [tr("Voucher number"), tr("Firm"), tr("Valid to"), tr("Held amount")],
            _or_none(([h.serial, h.firm, h.expires_on.isoformat(), money(h.held)]
                      for h in q.open_holds(session, prog.id, day_after)), 4),
            [26 * mm, CONTENT_WIDTH - 86 * mm, 28 * mm, 32 * mm], font, numeric_from=3,
            total=[tr("Total"), tr("{count} vouchers", count=holds.count), "", money(holds.amount)],
        ),
        Paragraph(tr("Open holds are the held balances on the voucher accounts when the report "
                     "was made: services booked and not yet completed or cancelled. Expiry "
                     "does not release a hold; the provider completes or cancels the service."),
                  s.small),
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
    language: str | None = None,
) -> Exceptions:
    """Write the exceptions report of `programme` for `period` to `out` (in Chinese unless
    `language` is given)."""
    font = font or report_font()
    with speaking(language):
        meta = report_meta(session, title=tr(TITLE), programme=programme, period=period,
                           policy_set=policy_set, made_by=made_by, made_at=made_at)
        story, result = exceptions_story(session, programme, period, font)
        build_pdf(out, meta, story, font)
    return replace(result, head_hash=meta.head_hash)
