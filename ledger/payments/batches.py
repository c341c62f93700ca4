"""Payment batches: approved claims paid to providers and approved awards paid to firms.

Creating a batch holds each line's amount, `P:paid` ← `P:provider:S` for a claim and
`P:paid` ← `P:award:F` for an award (one entry, pending transfers); the bank file lists the
lines with the payee's bank account from the registry; marking the batch paid posts every
hold in one entry. A claim or award is in at most one batch (a unique line each) and paid
at most once; an award in an open batch is `in_payment`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.awards.award import Award, award_account
from ledger.core.acting import By, now
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import Conflict, InvalidInput, NotFound
from ledger.core.journal import EntryRequest, Move, PostPending, post_entry
from ledger.core.money import fen_to_yuan
from ledger.core.paging import Page, check_page
from ledger.programmes.programme import account, programme_row
from ledger.registry.firms import Firm
from ledger.registry.providers import Provider
from ledger.vouchers.claims import Claim

FLOW_BATCH, FLOW_PAID = "payment.batch", "payment.paid"


class PaymentBatch(Base):
    """A batch of claim and award payments sent to the bank together."""

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
    """One claim (paid to its provider) or one award (paid to its firm) in a batch.

    Append-only; a claim or an award appears in one line only.
    """

    __tablename__ = "payment_lines"
    __table_args__ = (
        CheckConstraint("(claim_id IS NOT NULL AND provider_id IS NOT NULL AND award_id IS NULL "
                        "AND firm_id IS NULL) OR (claim_id IS NULL AND provider_id IS NULL "
                        "AND award_id IS NOT NULL AND firm_id IS NOT NULL)",
                        name="claim_or_award"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), unique=True,
                                                 nullable=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), nullable=True)
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id"), unique=True,
                                                 nullable=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True)
class LineView:
    """A line of a batch: a claim paid to its provider, or an award paid to its firm."""

    claim_id: int | None
    provider_id: int | None
    award_id: int | None
    firm_id: int | None
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
        select(PaymentLine.claim_id, PaymentLine.provider_id, PaymentLine.award_id,
               PaymentLine.firm_id, PaymentLine.amount_fen)
        .where(PaymentLine.batch_id == row.id).order_by(PaymentLine.id)
    ).all()
    return BatchView(row.id, programme, row.status, row.total_fen, row.created_at, row.paid_at,
                     tuple(LineView(*line) for line in lines))


def _ids(name: str, ids: Sequence[int] | None) -> None:
    if ids is not None and (not ids or len(set(ids)) != len(ids)):
        raise InvalidInput(f"{name}: distinct ids, at least one", field=name)


def _claims(session: Session, programme: str, programme_id: int,
            claim_ids: Sequence[int] | None) -> list[Claim]:
    """The claims to batch, locked: approved and unbatched ones, or exactly `claim_ids`."""
    statement = select(Claim).where(Claim.programme_id == programme_id)
    if claim_ids is None:
        statement = statement.where(Claim.status == "approved", Claim.batch_id.is_(None))
    else:
        statement = statement.where(Claim.id.in_(list(claim_ids)))
    claims = list(session.scalars(statement.order_by(Claim.id).with_for_update()))
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
    return claims


def _awards(session: Session, programme: str, programme_id: int,
            award_ids: Sequence[int] | None) -> list[Award]:
    """The awards to batch, locked: approved ones, or exactly `award_ids`; each payee must
    have a bank account in the registry."""
    statement = select(Award).where(Award.programme_id == programme_id)
    if award_ids is None:
        statement = statement.where(Award.status == "approved")
    else:
        statement = statement.where(Award.id.in_(list(award_ids)))
    awards = list(session.scalars(statement.order_by(Award.id).with_for_update()))
    if award_ids is not None:
        found = {a.id for a in awards}
        missing = [i for i in award_ids if i not in found]
        if missing:
            raise NotFound(f"no award {missing[0]} in {programme}", award_id=missing[0])
        for award in awards:
            if award.status == "in_payment":
                raise Conflict(f"award {award.id} is already in open batch {award.batch_id}",
                               code="already_in_batch", award_id=award.id,
                               batch_id=award.batch_id)
            if award.status == "paid":
                raise Conflict(f"award {award.id} was already paid in batch {award.batch_id}",
                               code="already_paid", award_id=award.id)
            if award.status != "approved":
                raise Conflict(f"award {award.id} is {award.status}, not approved",
                               code="award_not_approved", award_id=award.id)
    if awards:
        unpaid = session.scalars(
            select(Firm.id).where(Firm.id.in_({a.firm_id for a in awards}),
                                  Firm.bank_account.is_(None)).order_by(Firm.id)).first()
        if unpaid is not None:
            raise Conflict(f"firm {unpaid} has no bank account in the registry; record it "
                           "before paying its award", code="bank_account_missing",
                           firm_id=unpaid)
    return awards


def create_batch(
    session: Session, programme: str, *, by: By, claim_ids: Sequence[int] | None = None,
    award_ids: Sequence[int] | None = None,
) -> BatchView:
    """Batch the programme's approved, unbatched claims and awards, or exactly `claim_ids`
    and `award_ids` when either is given (all of them or none)."""
    _ids("claim_ids", claim_ids)
    _ids("award_ids", award_ids)
    prog = programme_row(session, programme, lock=True)
    everything = claim_ids is None and award_ids is None
    claims = _claims(session, programme, prog.id, claim_ids) \
        if everything or claim_ids is not None else []
    awards = _awards(session, programme, prog.id, award_ids) \
        if everything or award_ids is not None else []
    if not claims and not awards:
        raise Conflict(f"{programme} has no approved claim or award to pay",
                       code="nothing_to_pay")
    paid = account(programme, "paid")
    moves = tuple(
        [Move(paid, account(programme, "provider", c.provider_id), c.amount_fen, pending=True)
         for c in claims]
        + [Move(paid, award_account(programme, a.firm_id), a.amount_fen, pending=True)
           for a in awards])
    stamp = now()
    row = PaymentBatch(programme_id=prog.id, status="created",
                       total_fen=sum(m.amount for m in moves), hold_entry_id=0,
                       created_by=by.label, created_at=stamp)
    session.add(row)
    session.flush()
    entry = post_entry(session, EntryRequest(moves, flow=FLOW_BATCH, ref=f"batch:{row.id}",
                                             actor=by.label))
    row.hold_entry_id = entry.id
    transfers = iter(entry.transfers)
    for claim in claims:
        claim.batch_id = row.id
        session.add(PaymentLine(batch_id=row.id, claim_id=claim.id,
                                provider_id=claim.provider_id, amount_fen=claim.amount_fen,
                                transfer_id=next(transfers).id))
    for award in awards:
        award.status, award.batch_id, award.updated_at = "in_payment", row.id, stamp
        session.add(PaymentLine(batch_id=row.id, award_id=award.id, firm_id=award.firm_id,
                                amount_fen=award.amount_fen, transfer_id=next(transfers).id))
    session.flush()
    return _view(session, row, programme)


def _batch(session: Session, batch_id: int, *, lock: bool = False) -> tuple[PaymentBatch, str]:
    from ledger.programmes.programme import Programme

    statement = select(PaymentBatch, Programme.code).join(
        Programme, Programme.id == PaymentBatch.programme_id).where(PaymentBatch.id == batch_id)
    if lock:
        statement = statement.with_for_update(of=PaymentBatch)
    found = session.execute(statement).first()
    if found is None:
        raise NotFound(f"no payment batch {batch_id}", batch_id=batch_id)
    return found[0], found[1]


def mark_paid(session: Session, batch_id: int, *, by: By) -> BatchView:
    """The bank has paid the batch: post every hold in one entry; its claims and awards are
    paid."""
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
    stamp = now()
    for award in session.scalars(select(Award).where(Award.batch_id == row.id)):
        award.status, award.pay_entry_id, award.updated_at = "paid", entry.id, stamp
    row.status = "paid"
    row.paid_entry_id = entry.id
    row.paid_by = by.label
    row.paid_at = stamp
    session.flush()
    return _view(session, row, programme)


def get_batch(session: Session, batch_id: int) -> BatchView:
    """One batch with its lines."""
    row, programme = _batch(session, batch_id)
    return _view(session, row, programme)


def list_batches(session: Session, *, limit: int, offset: int = 0) -> Page[BatchView]:
    """Batches newest first."""
    from ledger.programmes.programme import Programme

    check_page(limit, offset)
    total = session.scalar(select(func.count()).select_from(PaymentBatch)) or 0
    rows = session.execute(
        select(PaymentBatch, Programme.code).join(Programme,
                                                  Programme.id == PaymentBatch.programme_id)
        .order_by(PaymentBatch.id.desc()).limit(limit).offset(offset)
    ).all()
    return Page([_view(session, b, code) for b, code in rows], total, limit, offset)


BANK_COLUMNS = ("batch", "line", "claim", "award", "payee_credit_code", "payee_name",
                "bank_name", "bank_account", "amount_yuan", "memo")


def bank_file(session: Session, batch_id: int) -> str:
    """The batch as a CSV bank file (UTF-8): one payment per line, amounts in yuan; the
    payee (provider of a claim, firm of an award) and its bank account from the registry."""
    row, programme = _batch(session, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BANK_COLUMNS)
    lines = session.execute(
        select(PaymentLine.claim_id, PaymentLine.award_id, PaymentLine.amount_fen,
               func.coalesce(Provider.credit_code, Firm.credit_code),
               func.coalesce(Provider.name, Firm.name),
               func.coalesce(Provider.bank_name, Firm.bank_name),
               func.coalesce(Provider.bank_account, Firm.bank_account))
        .outerjoin(Provider, Provider.id == PaymentLine.provider_id)
        .outerjoin(Firm, Firm.id == PaymentLine.firm_id)
        .where(PaymentLine.batch_id == row.id).order_by(PaymentLine.id)
    ).all()
    for number, (claim_id, award_id, amount, code, name, bank, acct) in enumerate(lines, 1):
        # One language for the bank's memo field: Chinese words, the ids as figures.
        memo = (f"{programme} 创新券申领 {claim_id}" if claim_id is not None
                else f"{programme} 奖励 {award_id}")
        writer.writerow((row.id, number, claim_id or "", award_id or "", code, name, bank or "",
                         acct or "", fen_to_yuan(amount), memo))
    return out.getvalue()
