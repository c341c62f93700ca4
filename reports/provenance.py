"""Where a report's figures come from: its period in Asia/Shanghai and the policies in force."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger.reading.audit_queries import Window
from ledger.reading.ledger_queries import journal_summary
from reports.document import SHANGHAI, ReportMeta
from reports.words import tr
from rules.decision import PolicyRef
from rules.loader import PolicySet


@dataclass(frozen=True)
class Period:
    """Calendar days `start`..`end` inclusive, read in Asia/Shanghai."""

    start: dt.date
    end: dt.date

    @property
    def end_moment(self) -> dt.datetime:
        """The last instant of `end` in Asia/Shanghai (what "as of that day" means)."""
        next_day = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), SHANGHAI)
        return next_day - dt.timedelta(microseconds=1)

    @property
    def start_moment(self) -> dt.datetime:
        """The first instant of `start` in Asia/Shanghai."""
        return dt.datetime.combine(self.start, dt.time(), SHANGHAI)

    def window(self) -> Window:
        """The period as the ledger's audit queries take it: its days and its moments."""
        return Window(self.start, self.end, self.start_moment, self.end_moment)

    def text(self) -> str:
        """The period as the header prints it."""
        return tr("{start} to {end}", start=self.start.isoformat(), end=self.end.isoformat())


def as_of_text(day: dt.date) -> str:
    """"As of the end of `day`" as the reports print it: 截至 2025-12-31 日终."""
    return tr("as of the end of {day}", day=day.isoformat())


def as_of_period(day: dt.date) -> Period:
    """A balance as of `day` belongs to the fiscal (calendar) year up to that day."""
    return Period(dt.date(day.year, 1, 1), day)


def policies_in_force(
    policy_set: PolicySet, programme: str, period: Period
) -> tuple[PolicyRef, ...]:
    """Policy versions of `programme` in force on any day of `period`, oldest first.

    A ledger's code names its policy programme exactly or as a prefix followed by '-'
    (ledger LN-CXQ-2025 follows policy programme LN-CXQ). When none matches, every
    programme's versions in force are listed, so a report never hides what applied.
    """
    codes = [
        code for code in policy_set.programmes()
        if programme == code or programme.startswith(f"{code}-")
    ]
    # The longest match wins: LN-CXQ-X-2025 follows LN-CXQ-X rather than LN-CXQ.
    codes = [max(codes, key=len)] if codes else policy_set.programmes()
    refs: list[PolicyRef] = []
    for code in codes:
        for policy in policy_set.versions(code):
            starts, ends = policy.model.effective_from, policy.model.effective_to
            if starts <= period.end and (ends is None or ends >= period.start):
                refs.append(policy.ref)
    return tuple(refs)


def report_meta(
    session: Session,
    *,
    title: str,
    programme: str,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    period_text: str | None = None,
) -> ReportMeta:
    """The provenance every page states, read now: policies in force and the journal's head."""
    summary = journal_summary(session)
    return ReportMeta(
        title=title,
        programme=programme,
        period=period_text or period.text(),
        policies=policies_in_force(policy_set, programme, period),
        head_hash=summary.head_hash,
        entries=summary.entries,
        made_at=made_at or dt.datetime.now(dt.UTC),
        made_by=made_by,
    )
