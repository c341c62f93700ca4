"""Shared by the approver's and the auditor's page tests: a filed claim, an applied award,
and a journal history of two ledgers posted over past days."""

from __future__ import annotations

import datetime as dt

from console_helpers import PDF
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.awards.award import AwardView, apply_award
from ledger.core.accounts import open_account
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, post_entries
from ledger.programmes.programme import Programme, appropriate, create_programme
from ledger.registry.evidence import KINDS, Upload
from ledger.registry.users import find_user
from ledger.vouchers.claims import ClaimView, file_claim
from ledger.vouchers.redemptions import complete, confirm
from tests.authorised import authorised_book

AWARDS = "LN-AWARD-2022"


def user_by(sessions: sessionmaker[Session], username: str) -> By:
    """The demo user as the services take it."""
    with transaction(sessions) as s:
        user = find_user(s, username)
    assert user is not None
    return By(user.id, user.username)


def filed_claim(sessions: sessionmaker[Session], voucher: int, cost_fen: int = 1_000_000,
                filed_by: By | None = None) -> ClaimView:
    """A booking on `voucher` by provider 1, completed, confirmed and claimed with evidence."""
    provider, firm = user_by(sessions, "demo-provider"), user_by(sessions, "demo-firm")
    with transaction(sessions) as s:
        done = authorised_book(s, voucher_id=voucher, provider_id=1, category="testing",
                               cost_fen=cost_fen, description="检测", by=provider)
        complete(s, done.id, provider_id=1, by=provider)
        confirm(s, done.id, firm_id=1, by=firm)
        return file_claim(s, done.id, provider_id=1, by=filed_by or provider, files=[
            Upload(kind, f"{kind}.pdf", PDF + kind.encode()) for kind in KINDS])


def applied_award(sessions: sessionmaker[Session], recorded_by: By | None = None,
                  document_no: str = "辽科发〔2022〕1号", tier: str = "gazelle") -> AwardView:
    """An award application (gazelle unless told) of firm 1 in a funded award programme."""
    operator = user_by(sessions, "demo-operator")
    with transaction(sessions) as s:
        if s.scalar(select(Programme.id).where(Programme.code == AWARDS)) is None:
            create_programme(s, code=AWARDS, name="奖励2022", fiscal_year=2022,
                             policy="LN-AWARD", by=operator)
            appropriate(s, AWARDS, 100_000_000, by=operator)
        return apply_award(s, AWARDS, firm_id=1, tier=tier, level="provincial",
                           document_no=document_no, certified_on=dt.date(2022, 6, 1),
                           by=recorded_by or operator, on=dt.date(2022, 12, 1))


def post_history(sessions: sessionmaker[Session], days: int = 30) -> dt.date:
    """Entries over `days` past days: two a day in ledger AA, one in BB (noon UTC); returns
    the first day. Accounts AA:x:0..2 and BB:x:0..2 are paid from L:source."""
    first = dt.date.today() - dt.timedelta(days=days + 5)
    with transaction(sessions) as s:
        for ledger in ("AA", "BB"):
            open_account(s, f"{ledger}:source", ledger)
            for n in range(3):
                open_account(s, f"{ledger}:x:{n}", ledger)
        requests = []
        for day in range(days):
            noon = dt.datetime.combine(first + dt.timedelta(days=day), dt.time(12),
                                       dt.UTC)
            for k, ledger in enumerate(("AA", "AA", "BB")):
                n = day * 3 + k
                requests.append(EntryRequest(
                    (Move(f"{ledger}:x:{n % 3}", f"{ledger}:source", 100 + n),),
                    flow="test", ref=f"{ledger}:{n}", actor="history",
                    posted_at=noon + dt.timedelta(minutes=k)))
        post_entries(s, requests)
    return first
