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
from reports.words import N_, speaking, tr
from rules.loader import PolicySet

TITLE = N_("Trial balance")
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
        return tr("Balanced: total debits = total credits, total debit balances = total "
                  "credit balances")
    return tr("Not balanced: posted difference {posted}, balance difference {balances}",
              posted=money(totals.debits_posted - totals.credits_posted),
              balances=money(totals.debit_balances - totals.credit_balances))


def trial_balance_story(
    session: Session, ledger: str, at: dt.datetime, font: ReportFont
) -> tuple[list[Flowable], TrialBalanceTotals]:
    """The flowables of the trial balance of `ledger` at `at`, and the totals they print."""
    s = styles(font)
    totals = trial_balance_totals(session, ledger, at)
    shown = at.astimezone(SHANGHAI)
    story: list[Flowable] = [
        Paragraph(tr("{title} ({programme})", title=tr(TITLE), programme=ledger), s.title),
        Paragraph(
            tr("Debits, credits and balances posted up to {moment} Beijing time. Amounts in "
               "yuan.", moment=f"{shown:%Y-%m-%d %H:%M:%S}"),
            s.body,
        ),
        key_value_table(
            [
                (tr("Accounts"), str(totals.accounts)),
                (tr("Total debits"), money(totals.debits_posted)),
                (tr("Total credits"), money(totals.credits_posted)),
                (tr("Total debit balances"), money(totals.debit_balances)),
                (tr("Total credit balances"), money(totals.credit_balances)),
                (tr("Open holds (debit / credit)"),
                 f"{money(totals.debits_pending)} / {money(totals.credits_pending)}"),
                (tr("Result"), _verdict(totals)),
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
                title=tr("Balances by kind of account (yuan; positive: debit balance, "
                         "negative: credit balance)"),
            )
        )
    number_width = (CONTENT_WIDTH - _CODE_WIDTH - _NAME_WIDTH) / 4
    story += [
        *section(tr("1. Account balances"), s.heading),
        Paragraph(tr("Account codes leave out the programme's prefix “{prefix}”; accounts run "
                     "funding, budget, vouchers, providers, awards, receivables, paid, and "
                     "within a kind by number.", prefix=f"{ledger}:"), s.small),
        data_table(
            [tr("Account code"), tr("Account name"), tr("Debits"), tr("Credits"),
             tr("Debit balance"), tr("Credit balance")],
            (_split(row, name, ledger)
             for row, name in _named(session, trial_balance_rows(session, ledger, at))),
            [_CODE_WIDTH, _NAME_WIDTH, *[number_width] * 4],
            font,
            numeric_from=2,
            font_size=7.5,
            total=[
                tr("Total"),
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
            *section(tr("2. Open holds (reserved, not yet posted)"), s.heading),
            data_table(
                [tr("Account code"), tr("Account name"), tr("Held debits"), tr("Held credits")],
                ([_short(r.code, ledger), name, money(r.debits_pending),
                  money(r.credits_pending)] for r, name in _named(session, held)),
                [_CODE_WIDTH, _NAME_WIDTH, *[(CONTENT_WIDTH - _CODE_WIDTH - _NAME_WIDTH) / 2] * 2],
                font,
                numeric_from=2,
                total=[tr("Total"), "", money(totals.debits_pending),
                       money(totals.credits_pending)],
            ),
        ]
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            tr("Note: debits and credits are the amounts posted up to that moment; a balance is "
               "debits less credits, shown as a debit balance when positive and a credit "
               "balance when negative. Holds (what a booked service reserves) are not "
               "counted. The journal head hash in the header is the journal's latest hash "
               "when this table was made."),
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
    language: str | None = None,
) -> TrialBalance:
    """Write the trial balance of `ledger` as of the end of `as_of` (Beijing time) to `out`.

    The period the header states runs from `period_start` (default: 1 January of `as_of`'s
    fiscal year) to `as_of`; it picks the policy versions listed. Balances are cumulative.
    Chinese unless `language` is given.
    """
    if not ledger_exists(session, ledger):
        raise NotFound(f"no accounts in ledger {ledger}", code_value=ledger)
    font = font or report_font()
    period = as_of_period(as_of) if period_start is None else Period(period_start, as_of)
    if period.start > period.end:
        raise InvalidInput(f"period starts {period.start} after it ends {period.end}")
    at = period.end_moment
    summary = journal_summary(session)
    with speaking(language):
        story, totals = trial_balance_story(session, ledger, at, font)
        meta = ReportMeta(
            title=tr(TITLE),
            programme=ledger,
            period=tr("as of {day} ({period})", day=as_of.isoformat(), period=period.text()),
            policies=policies_in_force(policy_set, ledger, period),
            head_hash=summary.head_hash,
            entries=summary.entries,
            made_at=made_at or dt.datetime.now(dt.UTC),
            made_by=made_by,
        )
        build_pdf(out, meta, story, font)
    return TrialBalance(ledger, at, totals, summary.head_hash, summary.entries)
