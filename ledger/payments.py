"""Payment batches: approved claims paid to providers, all of a batch or none.

Creating a batch holds each claim's amount `P:paid` ← `P:provider:S` (one entry, pending
transfers); the bank file lists the lines; marking the batch paid posts every hold in one
entry. A claim is in at most one batch (a unique line per claim) and paid at most once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.acting import By, now
from ledger.base import Base, BigIntPK, UTCDateTime
from ledger.claims import Claim
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.journal import EntryRequest, Move, PostPending, post_entry
from ledger.money import fen_to_yuan
from ledger.paging import Page, check_page
from ledger.programs import account, programme_row
from ledger.providers import Provider

FLOW_BATCH, FLOW_PAID = "payment.batch", "payment.paid"


class PaymentBatch(Base):
    """A batch of claim payments sent to the bank together."""

    __tablename__ = "payment_batches"
    __table_args__ = (CheckConstraint("status IN ('created', 'paid')", name="status_known"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    hold_entry_id: Mapped[int] = mapped_column(BigInteger)
    paid_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PaymentLine(Base):
    """One claim in a batch (append-only; a claim appears in one line only)."""

    __tablename__ = "payment_lines"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class LineView:
    """A line of a batch."""

    claim_id: int
    provider_id: int
    amount_fen: int


@dataclass(frozen=True)
class BatchView:
    """A batch, its total and its lines."""

    id: int
    programme: str
    status: str
    total_fen: int
    created_at: datetime
    paid_at: datetime | None
    lines: tuple[LineView, ...]


def _view(session: Session, row: PaymentBatch, programme: str) -> BatchView:
    lines = session.execute(
        select(PaymentLine.claim_id, PaymentLine.provider_id, PaymentLine.amount_fen)
        .where(PaymentLine.batch_id == row.id).order_by(PaymentLine.id)
    ).all()
    return BatchView(row.id, programme, row.status, row.total_fen, row.created_at, row.paid_at,
                     tuple(LineView(*line) for line in lines))


def create_batch(
    session: Session, programme: str, *, by: By, claim_ids: Sequence[int] | None = None
) -> BatchView:
    """Batch the programme's approved, unbatched claims (or exactly `claim_ids`)."""
    prog = programme_row(session, programme, lock=True)
    statement = select(Claim).where(Claim.programme_id == prog.id)
    if claim_ids is None:
        statement = statement.where(Claim.status == "approved", Claim.batch_id.is_(None))
    else:
        if not claim_ids or len(set(claim_ids)) != len(claim_ids):
            raise InvalidInput("claim_ids: distinct claim ids, at least one", field="claim_ids")
        statement = statement.where(Claim.id.in_(list(claim_ids)))
    claims = session.scalars(statement.order_by(Claim.id).with_for_update()).all()
    if claim_ids is not None:
        found = {c.id for c in claims}
        missing = [i for i in claim_ids if i not in found]
        if missing:
            raise NotFound(f"no claim {missing[0]} in {programme}", claim_id=missing[0])
        for claim in claims:
            if claim.status == "paid" or claim.batch_id is not None:
                raise Conflict(f"claim {claim.id} is already paid or in batch {claim.batch_id}",
                               code="already_paid", claim_id=claim.id)
            if claim.status != "approved":
                raise Conflict(f"claim {claim.id} is {claim.status}, not approved",
                               code="claim_not_approved", claim_id=claim.id)
    if not claims:
        raise Conflict(f"{programme} has no approved claim to pay", code="nothing_to_pay")
    moves = tuple(Move(account(programme, "paid"), account(programme, "provider", c.provider_id),
                       c.amount_fen, pending=True) for c in claims)
    stamp = now()
    row = PaymentBatch(programme_id=prog.id, status="created",
                       total_fen=sum(c.amount_fen for c in claims), hold_entry_id=0,
                       created_by=by.label, created_at=stamp)
    session.add(row)
    session.flush()
    entry = post_entry(session, EntryRequest(moves, flow=FLOW_BATCH, ref=f"batch:{row.id}",
                                             actor=by.label))
    row.hold_entry_id = entry.id
    for claim, transfer in zip(claims, entry.transfers, strict=True):
        claim.batch_id = row.id
        session.add(PaymentLine(batch_id=row.id, claim_id=claim.id,
                                provider_id=claim.provider_id, amount_fen=claim.amount_fen,
                                transfer_id=transfer.id))
    session.flush()
    return _view(session, row, programme)


def _batch(session: Session, batch_id: int, *, lock: bool = False) -> tuple[PaymentBatch, str]:
    from ledger.programs import Programme

    statement = select(PaymentBatch, Programme.code).join(
        Programme, Programme.id == PaymentBatch.programme_id).where(PaymentBatch.id == batch_id)
    if lock:
        statement = statement.with_for_update(of=PaymentBatch)
    found = session.execute(statement).first()
    if found is None:
        raise NotFound(f"no payment batch {batch_id}", batch_id=batch_id)
    return found[0], found[1]


def mark_paid(session: Session, batch_id: int, *, by: By) -> BatchView:
    """The bank has paid the batch: post every hold in one entry; its claims are paid."""
    row, programme = _batch(session, batch_id, lock=True)
    if row.status != "created":
        raise Conflict(f"batch {batch_id} is already paid", code="already_paid")
    transfers = session.scalars(
        select(PaymentLine.transfer_id).where(PaymentLine.batch_id == row.id)
        .order_by(PaymentLine.id)
    ).all()
    entry = post_entry(session, EntryRequest(tuple(PostPending(t) for t in transfers),
                                             flow=FLOW_PAID, ref=f"batch:{row.id}",
                                             actor=by.label))
    for claim in session.scalars(select(Claim).where(Claim.batch_id == row.id)):
        claim.status = "paid"
    row.status = "paid"
    row.paid_entry_id = entry.id
    row.paid_by = by.label
    row.paid_at = now()
    session.flush()
    return _view(session, row, programme)


def get_batch(session: Session, batch_id: int) -> BatchView:
    """One batch with its lines."""
    row, programme = _batch(session, batch_id)
    return _view(session, row, programme)


def list_batches(session: Session, *, limit: int, offset: int = 0) -> Page[BatchView]:
    """Batches newest first."""
    from ledger.programs import Programme

    check_page(limit, offset)
    total = session.scalar(select(func.count()).select_from(PaymentBatch)) or 0
    rows = session.execute(
        select(PaymentBatch, Programme.code).join(Programme,
                                                  Programme.id == PaymentBatch.programme_id)
        .order_by(PaymentBatch.id.desc()).limit(limit).offset(offset)
    ).all()
    return Page([_view(session, b, code) for b, code in rows], total, limit, offset)


BANK_COLUMNS = ("batch", "line", "claim", "payee_credit_code", "payee_name", "bank_name",
                "bank_account", "amount_yuan", "memo")


def bank_file(session: Session, batch_id: int) -> str:
    """The batch as a CSV bank file (UTF-8): one payment per line, amounts in yuan."""
    row, programme = _batch(session, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BANK_COLUMNS)
    lines = session.execute(
        select(PaymentLine.id, PaymentLine.claim_id, PaymentLine.amount_fen, Provider.credit_code,
               Provider.name, Provider.bank_name, Provider.bank_account)
        .join(Provider, Provider.id == PaymentLine.provider_id)
        .where(PaymentLine.batch_id == row.id).order_by(PaymentLine.id)
    ).all()
    for number, (_, claim_id, amount, code, name, bank, acct) in enumerate(lines, 1):
        writer.writerow((row.id, number, claim_id, code, name, bank or "", acct or "",
                         fen_to_yuan(amount), f"{programme} 创新券 claim {claim_id}"))
    return out.getvalue()
