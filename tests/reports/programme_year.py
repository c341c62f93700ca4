"""A voucher programme year built through the services, for the audit, statements and exceptions.

Five demo firms in five cities, three providers; four vouchers (one issued in 2025, expired
with a hold still open), redemptions in four categories: one paid, one approved, one clawed
back, one completed, one cancelled; refusals written to the operation log as the API would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from demo.seed import FIRMS, PROVIDERS
from ledger.core import oplog
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.payments import batches as payments
from ledger.payments.confirmation import mark_paid
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry.evidence import Upload
from ledger.registry.firms import Certification, Firm, add_certification, create_firm
from ledger.registry.providers import create_provider
from ledger.vouchers import claims, clawbacks, expiry, redemptions
from ledger.vouchers import voucher as vouchers
from tests.authorised import authorised_book

CODE = "LN-CXQ-2026"
OPERATOR, PROVIDER, APPROVER, FIRM = By(1, "op"), By(2, "prov"), By(3, "appr"), By(4, "firm")
PDF = b"%PDF-1.7\n" + b"x" * 100
EVIDENCE = (Upload("contract", "contract.pdf", PDF), Upload("invoice", "invoice.pdf", PDF + b"i"),
            Upload("service_report", "report.pdf", PDF + b"r"))
# Refusals as the API's mutate() logs them: (code, action, object id).
REFUSALS = (("cap_exceeded", "redemptions.book", "1"), ("cap_exceeded", "redemptions.book", "2"),
            ("related_party", "redemptions.book", "3"), ("claim_late", "claims.file", "4"),
            ("voucher_expired", "redemptions.book", "4"))


@dataclass(frozen=True)
class Year:
    """Ids and amounts (fen) of what was built."""

    v1: int
    v2: int
    v3: int
    old: int
    paid: int  # R1, testing, firm 1 (沈阳), provider 1: paid
    approved: int  # R2, instrument sharing, firm 2 (大连), provider 1: claim approved
    clawed: int  # R3, patent application, firm 1, provider 2: clawed back
    completed: int  # R4, rd design, firm 3 (鞍山), provider 3: completed only
    held: int  # R5, testing, old voucher of firm 1, provider 1: hold left open
    expired_fen: int  # what expiry returned from the old voucher


def ensure_registry(session: Session) -> None:
    """The demo firms and providers (ids 1–5 and 1–3), unless a test already registered them."""
    if session.scalar(select(func.count()).select_from(Firm)):
        return
    for party, certs in FIRMS:
        create_firm(session, party, certifications=certs)
    for party, regs in PROVIDERS:
        create_provider(session, party, categories=regs)


def _redeem(s: Session, voucher_id: int, provider_id: int, category: str, cost: int,
            *, amount: int | None = None, firm_id: int) -> int:
    r = authorised_book(s, voucher_id=voucher_id, provider_id=provider_id, category=category,
                        cost_fen=cost, description="服务", by=PROVIDER)
    redemptions.complete(s, r.id, provider_id=provider_id, by=PROVIDER, amount_fen=amount)
    redemptions.confirm(s, r.id, firm_id=firm_id, by=FIRM)
    return r.id


def build_year(sessions: sessionmaker[Session]) -> Year:
    """Build the year; every step is one service call in its own transaction."""
    with transaction(sessions) as s:
        ensure_registry(s)
        add_certification(s, 1, Certification("tech_sme", 2025, dt.date(2025, 3, 1)))
        create_programme(s, code=CODE, name="辽宁省科技创新券2026", fiscal_year=2026,
                         policy="LN-CXQ", by=OPERATOR)
        appropriate(s, CODE, 100_000_000, by=OPERATOR)
    with transaction(sessions) as s:
        v1 = vouchers.issue_voucher(s, CODE, 1, 5_000_000, by=OPERATOR).id
        v2 = vouchers.issue_voucher(s, CODE, 2, 3_000_000, by=OPERATOR).id
        v3 = vouchers.issue_voucher(s, CODE, 3, 2_000_000, by=OPERATOR).id
        old = vouchers.issue_voucher(s, CODE, 1, 1_000_000, by=OPERATOR,
                                     issued_on=dt.date(2025, 6, 1)).id
    with transaction(sessions) as s:
        paid = _redeem(s, v1, 1, "testing", 1_000_000, firm_id=1)
        approved = _redeem(s, v2, 1, "instrument_sharing", 800_000, amount=300_000, firm_id=2)
        clawed = _redeem(s, v1, 2, "patent_application", 600_000, firm_id=1)
        completed = _redeem(s, v3, 3, "rd_design", 2_000_000, firm_id=3)
        held = authorised_book(s, voucher_id=old, provider_id=1, category="testing",
                               cost_fen=1_000_000, description="服务", by=PROVIDER,
                               on=dt.date(2025, 7, 1)).id
        cancelled = authorised_book(s, voucher_id=v2, provider_id=3,
                                    category="technology_transfer", cost_fen=400_000,
                                    description="服务", by=PROVIDER)
        redemptions.cancel(s, cancelled.id, by=OPERATOR)
    with transaction(sessions) as s:
        first = claims.file_claim(s, paid, provider_id=1, files=EVIDENCE, by=PROVIDER)
        claims.approve(s, first.id, by=APPROVER)
        batch = payments.create_batch(s, CODE, by=OPERATOR)
        payments.release_batch(s, batch.id, by=APPROVER)
        mark_paid(s, batch.id, by=OPERATOR, reference="BANK0001", value_date="2025-08-01")
        second = claims.file_claim(s, approved, provider_id=1, files=EVIDENCE, by=PROVIDER)
        claims.approve(s, second.id, by=APPROVER)
        clawbacks.clawback(s, clawed, by=APPROVER, reason="服务未实际发生")
        returned = expiry.expire(s, CODE, by=OPERATOR).returned_fen
    with transaction(sessions) as s:
        actor = oplog.Actor(name="user:2:demo-provider", role="provider")
        for code, action, object_id in REFUSALS:
            oplog.record(s, actor, action, "redemption", object_id, refused_code=code,
                         message=f"refused: {code}")
        oplog.record(s, actor, "redemptions.book", "redemption", "9")  # done: not a refusal
    return Year(v1, v2, v3, old, paid, approved, clawed, completed, held, returned)
