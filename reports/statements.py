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
from rules.loader import PolicySet

Party = Literal["firm", "provider"]
TITLES = {"firm": "企业对账单", "provider": "服务机构对账单"}
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
        """Opening + debits − credits = closing."""
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
            shown = f"（{shown}）"
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
    title = TITLES[party]
    verdict = "相符" if result.reconciles else "不符（请核查）"
    story: list[Flowable] = [
        Paragraph(f"{title}（{programme}）", s.title),
        key_value_table([
            ("单位名称", name),
            ("统一社会信用代码", credit_code),
            (f"{'企业' if party == 'firm' else '服务机构'}编号", str(party_id)),
            ("对账期间", f"{period.text()}（北京时间）"),
            ("科目数", str(len(ids))),
        ], font, label_width=36 * mm),
        Paragraph("金额单位：元。余额 = 借方过账累计 － 贷方过账累计。"
                  "括号内金额为冻结或解除冻结，不改变余额。", s.small),
        *section("一、余额汇总", s.heading),
        key_value_table([
            (f"期初余额（{period.start.isoformat()} 00:00 前）", money(result.opening)),
            ("本期借方过账合计（增加）", money(result.debits)),
            ("本期贷方过账合计（减少）", money(result.credits)),
            (f"期末余额（{period.end.isoformat()} 24:00）", money(result.closing)),
            ("期末冻结中", money(result.held_at_end)),
            ("本期明细笔数", str(result.movements)),
            ("核对", f"期初余额 + 借方 － 贷方 = 期末余额：{verdict}"),
        ], font, label_width=70 * mm),
        *section("二、本期明细", s.heading),
        data_table(
            ["日期时间", "分录号", "业务", "科目", "借方（增加）", "贷方（减少）", "余额"],
            _rows(q.movements(session, ids, window), _Running(opening.balance)),
            [date_w, entry_w, business_w, account_w, money_w, money_w, money_w], font,
            numeric_from=4, font_size=7,
        ),
        Spacer(1, 10 * mm),
        Paragraph("对账单位（盖章）：________________　　经办人：________________", s.body),
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
) -> Statement:
    """Write the statement of firm or provider `party_id` in `programme` for `period`."""
    font = font or report_font()
    meta = report_meta(session, title=TITLES[party], programme=programme, period=period,
                       policy_set=policy_set, made_by=made_by, made_at=made_at)
    story, result = statement_story(session, programme, party, party_id, period, font)
    build_pdf(out, meta, story, font)
    return replace(result, head_hash=meta.head_hash)
