"""The report kinds, their periods and one entry point that renders any of them.

The command line and the HTTP API both call `render_report`, so a report is the same PDF
whichever way it is asked for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from ledger.core.errors import InvalidInput, NotFound, PermissionDenied
from ledger.reading.ledger_queries import journal_summary, ledger_exists
from ledger.registry.users import UserView, find_user
from reports.audit import render_audit
from reports.certificate import render_certificate
from reports.document import SHANGHAI, money
from reports.exceptions import render_exceptions
from reports.fonts import ReportFont
from reports.provenance import Period
from reports.publicity import render_publicity
from reports.statements import Party, render_statement
from reports.trial_balance import render_trial_balance
from rules.loader import PolicySet

KINDS = ("certificate", "trial-balance", "audit", "firm-statement", "provider-statement",
         "exceptions", "award-publicity")
# The kinds about one party, and which party: they need its id.
PARTY_KINDS: dict[str, Party] = {"firm-statement": "firm", "provider-statement": "provider"}


@dataclass(frozen=True)
class ReportOutcome:
    """What was rendered: whether its check passed, and a one-line summary."""

    kind: str
    ok: bool
    summary: str
    head_hash: str


def check_kind(kind: str) -> str:
    """The kind itself, or NotFound naming the kinds there are."""
    if kind not in KINDS:
        raise NotFound(f"unknown report kind {kind!r}; kinds: {', '.join(KINDS)}")
    return kind


def maker_name(user: UserView) -> str:
    """Who made a report, as its 生成人 line and signature block name them: the user's
    display name and sign-in, e.g. 审计员 李四（demo-auditor）."""
    if user.display_name and user.display_name != user.username:
        return f"{user.display_name}（{user.username}）"
    return user.username


def report_maker(session: Session, username: str) -> UserView:
    """The active user `username`, who makes a report, or InvalidInput naming the user."""
    user = find_user(session, username)
    if user is None or not user.active:
        raise InvalidInput(f"no active user {username!r}", field="user")
    return user


def party_scope(user: UserView, kind: str, firm_id: int | None,
                provider_id: int | None) -> int | None:
    """The party id the report is about, as `user` may see it.

    Bureau staff read any report of any party. A firm reads only its own firm statement and
    a provider only its own provider statement (their id is the default); another party's
    statement is 404, as for any record that is not theirs; other kinds are 403.
    """
    party = PARTY_KINDS.get(kind)
    given = {"firm": firm_id, "provider": provider_id}
    if user.is_bureau:
        return None if party is None else given[party]
    own = {"firm": user.firm_id, "provider": user.provider_id}.get(user.role)
    if party != user.role or own is None:
        raise PermissionDenied(f"the {user.role} role may not read the {kind} report")
    asked = given[party]
    other = given["provider" if party == "firm" else "firm"]
    if (asked is not None and asked != own) or other is not None:
        raise NotFound(f"no {party} {asked}", **{f"{party}_id": asked})
    return own


def today_in_beijing() -> dt.date:
    """Today in Beijing, where the bureau's days begin and end."""
    return dt.datetime.now(SHANGHAI).date()


def resolve_period(
    session: Session,
    kind: str,
    start: dt.date | None,
    end: dt.date | None,
    as_of: dt.date | None,
) -> Period:
    """The period asked for; with no start, the calendar (fiscal) year of its end, or for
    the certificate the journal's first day."""
    if as_of is not None and (start is not None or end is not None):
        raise InvalidInput("give as_of, or from and to, not both", field="as_of")
    end = as_of or end or today_in_beijing()
    if start is None:
        if kind != "certificate":
            start = dt.date(end.year, 1, 1)
        else:
            first = journal_summary(session).first_posted_at
            start = min(end, end if first is None else first.astimezone(SHANGHAI).date())
    if start > end:
        raise InvalidInput(f"from {start} is after to {end}", field="from")
    return Period(start, end)


def render_report(
    session: Session,
    out: BinaryIO,
    kind: str,
    *,
    programme: str,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    font: ReportFont,
    party_id: int | None = None,
    language: str | None = None,
) -> ReportOutcome:
    """Render report `kind` of `programme` for `period` as a PDF into `out`.

    The statements need `party_id`: the firm's or the provider's id. The PDF is in Chinese
    unless `language` names another of the reports' catalogues (reports.words.LANGUAGES).
    """
    check_kind(kind)
    if not ledger_exists(session, programme):
        raise NotFound(f"no programme {programme} in the ledger", code_value=programme)
    common = {"programme": programme, "period": period, "policy_set": policy_set,
              "made_by": made_by, "font": font, "language": language}
    if kind in PARTY_KINDS:
        party = PARTY_KINDS[kind]
        if party_id is None:
            raise InvalidInput(f"{kind} needs the {party}'s id ({party}_id)",
                               field=f"{party}_id")
        st = render_statement(session, out, party=party, party_id=party_id, **common)
        summary = (f"{kind} {programme} {party} {party_id} {period.text()} "
                   f"opening={money(st.opening)} closing={money(st.closing)} "
                   f"movements={st.movements} {'reconciled' if st.reconciles else 'NOT RECONCILED'}"
                   f" head={st.head_hash}")
        return ReportOutcome(kind, st.reconciles, summary, st.head_hash)
    if kind == "audit":
        audit = render_audit(session, out, **common)
        verdict = "balanced" if audit.budget.balanced else "NOT BALANCED"
        summary = (f"audit {programme} {period.text()} appropriated="
                   f"{money(audit.budget.appropriated)} paid={money(audit.budget.paid)} "
                   f"budget {verdict} head={audit.head_hash}")
        return ReportOutcome(kind, audit.budget.balanced, summary, audit.head_hash)
    if kind == "exceptions":
        ex = render_exceptions(session, out, **common)
        summary = (f"exceptions {programme} {period.text()} refusals="
                   f"{sum(n for _, n in ex.refusals)} clawbacks={ex.clawbacks.count} "
                   f"open_holds={ex.open_holds.count} head={ex.head_hash}")
        return ReportOutcome(kind, True, summary, ex.head_hash)
    if kind == "award-publicity":
        pub = render_publicity(session, out, **common)
        summary = (f"award-publicity {programme} {period.text()} lists={len(pub.publications)} "
                   f"awards={pub.awards} amount={money(pub.amount_fen)} head={pub.head_hash}")
        return ReportOutcome(kind, True, summary, pub.head_hash)
    if kind == "trial-balance":
        tb = render_trial_balance(
            session, out, ledger=programme, as_of=period.end, period_start=period.start,
            policy_set=policy_set, made_by=made_by, font=font, language=language,
        )
        verdict = "balanced" if tb.totals.balanced else "NOT BALANCED"
        summary = (f"trial-balance {programme} as of {period.end} "
                   f"accounts={tb.totals.accounts} {verdict} head={tb.head_hash}")
        return ReportOutcome(kind, tb.totals.balanced, summary, tb.head_hash)
    report = render_certificate(
        session, out, programme=programme, period=period,
        policy_set=policy_set, made_by=made_by, font=font, language=language,
    ).report
    summary = (f"certificate {'OK' if report.ok else 'FAILED'} "
               f"entries={report.entries} head={report.head_hash}")
    return ReportOutcome(kind, report.ok, summary, report.head_hash)
