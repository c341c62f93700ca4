"""对账单: a firm's or a provider's accounts in a programme over a period.

Opening balance at the period's first instant, every transfer of the period on the party's
accounts with a running balance, closing balance at its last instant. Balances are posted
debits less posted credits of the party's accounts (for a firm: what its vouchers and awards
still hold; for a provider: what it earned and has not been paid); holds are listed but move
only the frozen amount. The closing balance is read from account history, not summed here,
and the report checks that opening + movements = closing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Literal

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.core.errors import NotFound
from ledger.programmes.programme import programme_row
from ledger.reading import audit_queries as q
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
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
from reports.names import account_kind_name, flow_name, kind_name
from reports.provenance import Period, report_meta
from reports.words import N_, speaking, tr
from rules.loader import PolicySet

Party = Literal["firm", "provider"]
TITLES = {"firm": N_("Firm statement"), "provider": N_("Provider statement")}
# The label of the party's number, by party.
_NUMBERS = {"firm": N_("Firm number"), "provider": N_("Provider number")}
POSTED = ("normal", "post_pending")
_ONE_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Statement:
    """What the statement printed: opening, the period's posted sums, closing."""

    party: Party
    party_id: int
    accounts: int
    opening: int
    debits: int
    credits: int
    closing: int
    held_at_end: int
    movements: int
    head_hash: str

    @property
    def reconciles(self) -> bool:
        """Opening + debits - credits = closing."""
        return self.opening + self.debits - self.credits == self.closing


@dataclass
class _Running:
    """The balance after each printed row."""

    balance: int


def _party(session: Session, party: Party, party_id: int) -> tuple[str, str]:
    model = Firm if party == "firm" else Provider
    row = session.execute(
        select(model.name, model.credit_code).where(model.id == party_id)
    ).first()
    if row is None:
        raise NotFound(f"no {party} {party_id}", **{f"{party}_id": party_id})
    return str(row[0]), str(row[1])


def _account_words(account: str) -> str:
    """The statement's account in words: 创新券未用余额 V000001, 服务机构应付 (the party is the
    statement's own)."""
    _programme, kind, *rest = account.split(":")
    serial = rest[0] if kind == "voucher" and rest else ""
    return f"{account_kind_name(kind)} {serial}".strip()


def _rows(moves: Iterator[q.Movement], running: _Running) -> Iterator[list[str]]:
    for m in moves:
        shown = money(m.amount)
        if m.kind in POSTED:
            running.balance += m.amount if m.debit else -m.amount
        else:
            # A hold or its release: the amount is shown, the posted balance does not move.
            shown = tr("({amount})", amount=shown)
        yield [
            m.posted_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            str(m.entry_id),
            f"{flow_name(m.flow)}·{kind_name(m.kind)}",
            _account_words(m.account),
            shown if m.debit else "", "" if m.debit else shown, money(running.balance),
        ]


def statement_story(
    session: Session, programme: str, party: Party, party_id: int, period: Period,
    font: ReportFont,
) -> tuple[list[Flowable], Statement]:
    """The flowables of one party's statement, and the figures they print."""
    s = styles(font)
    prog = programme_row(session, programme)
    name, credit_code = _party(session, party, party_id)
    ids = (q.firm_account_ids(session, programme, prog.id, party_id) if party == "firm"
           else q.provider_account_ids(session, programme, party_id))
    window = period.window()
    opening = q.party_balance(session, ids, period.start_moment - _ONE_US)
    closing = q.party_balance(session, ids, period.end_moment)
    totals = q.movement_totals(session, ids, window)
    result = Statement(party, party_id, len(ids), opening.balance, totals.debits,
                       totals.credits, closing.balance,
                       closing.credits_pending + closing.debits_pending, totals.count, "")
    date_w, entry_w, money_w = 24 * mm, 12 * mm, 22 * mm
    business_w = 36 * mm
    account_w = CONTENT_WIDTH - date_w - entry_w - business_w - 3 * money_w
    title = tr(TITLES[party])
    verdict = tr("agrees") if result.reconciles else tr("disagrees (check it)")
    story: list[Flowable] = [
        Paragraph(tr("{title} ({programme})", title=title, programme=programme), s.title),
        key_value_table([
            (tr("Name"), name),
            (tr("Unified social credit code"), credit_code),
            (tr(_NUMBERS[party]), str(party_id)),
            (tr("Statement period"), tr("{period} (Beijing time)", period=period.text())),
            (tr("Accounts"), str(len(ids))),
        ], font, label_width=36 * mm),
        Paragraph(tr("Amounts in yuan. Balance = posted debits to date - posted credits to "
                     "date. Amounts in brackets are holds or their release and do not move the "
                     "balance."), s.small),
        *section(tr("1. Balances"), s.heading),
        key_value_table([
            (tr("Opening balance (before {day} 00:00)", day=period.start.isoformat()),
             money(result.opening)),
            (tr("Posted debits in the period (increase)"), money(result.debits)),
            (tr("Posted credits in the period (decrease)"), money(result.credits)),
            (tr("Closing balance ({day} 24:00)", day=period.end.isoformat()),
             money(result.closing)),
            (tr("Held at the end"), money(result.held_at_end)),
            (tr("Number of movements in the period"), str(result.movements)),
            (tr("Check"), tr("Opening balance + debits - credits = closing balance: {verdict}",
                        verdict=verdict)),
        ], font, label_width=70 * mm),
        *section(tr("2. Movements in the period"), s.heading),
        data_table(
            [tr("Date and time"), tr("Entry"), tr("Business"), tr("Account"),
             tr("Debit (increase)"), tr("Credit (decrease)"), tr("Balance")],
            _rows(q.movements(session, ids, window), _Running(opening.balance)),
            [date_w, entry_w, business_w, account_w, money_w, money_w, money_w], font,
            numeric_from=4, font_size=7,
        ),
        Spacer(1, 10 * mm),
        Paragraph(tr("Confirmed by (seal): ________________    Handled by: "
                     "________________"), s.body),
    ]
    return story, result


def render_statement(
    session: Session,
    out: str | Path | IO[bytes],
    *,
    programme: str,
    party: Party,
    party_id: int,
    period: Period,
    policy_set: PolicySet,
    made_by: str,
    made_at: dt.datetime | None = None,
    font: ReportFont | None = None,
    language: str | None = None,
) -> Statement:
    """Write the statement of firm or provider `party_id` in `programme` for `period` (in
    Chinese unless `language` is given)."""
    font = font or report_font()
    with speaking(language):
        meta = report_meta(session, title=tr(TITLES[party]), programme=programme,
                           period=period, policy_set=policy_set, made_by=made_by,
                           made_at=made_at)
        story, result = statement_story(session, programme, party, party_id, period, font)
        build_pdf(out, meta, story, font)
    return replace(result, head_hash=meta.head_hash)
