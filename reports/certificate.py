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
from reports.words import N_, speaking, tr
from rules.decision import PolicyRef
from rules.loader import PolicySet

TITLE = N_("Integrity certificate")
_NAMES = {
    "debits_pending": N_("Held debits"),
    "debits_posted": N_("Debits"),
    "credits_pending": N_("Held credits"),
    "credits_posted": N_("Credits"),
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
        return tr("Passed (OK): the hash chain is whole, {entries} entries recomputed one by "
                  "one agree, and every account's totals agree with the journal",
                  entries=report.entries)
    problems = []
    if report.first_break is not None:
        problems.append(tr("The hash chain breaks at entry {entry}",
                           entry=report.first_break.entry_id))
    if report.mismatches:
        problems.append(tr("{count} account totals disagree with the journal",
                           count=len(report.mismatches)))
    if report.stale:
        problems.append(tr("{count} entries unsealed for over {bound}",
                           count=len(report.stale), bound=_bound()))
    return tr("Failed (FAILED): {problems}", problems=tr("; ").join(problems))


def _bound() -> str:
    return tr("{minutes} minutes", minutes=int(SEAL_BOUND.total_seconds() // 60))


def _coverage(summary: JournalSummary, report: VerifyReport) -> str:
    """Which entries the head hash covers: the sealed ones; those still waiting are counted."""
    if not report.unsealed:
        return tr("The journal head hash covers the {entries} sealed entries; none waits to "
                  "be sealed", entries=summary.entries)
    return tr("The journal head hash covers the {entries} sealed entries; {waiting} more, "
              "committed and waiting to be sealed, are outside it", entries=summary.entries,
              waiting=len(report.unsealed))


def _mismatch_label(total: str) -> str:
    name, _, note = total.partition(" ")
    label = tr(_NAMES[name]) if name in _NAMES else name
    return tr("{total} (latest history row)", total=label) if note else label


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
        Paragraph(tr(TITLE), s.title),
        Paragraph(
            tr("This certificate was made at {made_at} Beijing time. Before making it, the "
               "system recomputed the journal's hash chain entry by entry from the first "
               "(SHA-256; each entry's hash covers the previous entry's hash and its own "
               "content), recomputed each account's four totals from the transfers, and "
               "compared them one by one with the stored values.", made_at=_moment(made_at)),
            s.body,
        ),
        *section(tr("1. Journal"), s.heading),
        key_value_table(
            [
                (tr("Entries"), str(summary.entries)),
                (tr("First entry's hash"), summary.first_hash or tr("— (the journal is empty)")),
                (tr("Journal head hash"), summary.head_hash),
                (tr("Coverage"), _coverage(summary, report)),
                (tr("First entry at"), _moment(summary.first_posted_at)),
                (tr("Last entry at"), _moment(summary.last_posted_at)),
            ],
            font,
            label_width=34 * mm,
        ),
        *section(tr("2. Verified afresh (verify)"), s.heading),
        key_value_table(
            [
                (tr("Verdict"), _verdict(report)),
                (tr("Entries verified"), str(report.entries)),
                (tr("Recomputed head hash"), report.head_hash),
                (
                    tr("First break"),
                    tr("None") if report.first_break is None
                    else tr("Entry {entry}: {reason}", entry=report.first_break.entry_id,
                            reason=report.first_break.reason),
                ),
                (tr("Accounts disagreeing"), tr("{count} items", count=len(report.mismatches))),
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
                [tr("Account code"), tr("Which total"), tr("Stored"), tr("Recomputed")],
                ([m.code, _mismatch_label(m.total), money(m.stored), money(m.recomputed)]
                 for m in shown),
                [code_width, rest, rest, rest],
                font,
                numeric_from=2,
            ),
        ]
        if len(report.mismatches) > len(shown):
            story.append(
                Paragraph(tr("{count} more not listed.",
                             count=len(report.mismatches) - len(shown)), s.small)
            )
    story += [
        *section(tr("3. Policy files in force"), s.heading),
        data_table(
            [tr("Programme"), tr("Version"), tr("File"), tr("File SHA-256")],
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
    language: str | None = None,
) -> Certificate:
    """Verify the journal afresh and write the integrity certificate to `out` (in Chinese
    unless `language` is given)."""
    font = font or report_font()
    made_at = made_at or dt.datetime.now(dt.UTC)
    summary = journal_summary(session)
    report = verify(session)
    policies = policies_in_force(policy_set, programme, period)
    with speaking(language):
        meta = ReportMeta(
            title=tr(TITLE),
            programme=programme,
            period=period.text(),
            policies=policies,
            head_hash=summary.head_hash,
            entries=summary.entries,
            made_at=made_at,
            made_by=made_by,
        )
        build_pdf(out, meta, certificate_story(summary, report, policies, made_at, font),
                  font)
    return Certificate(summary, report, policies)
