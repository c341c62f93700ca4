"""Payment batches: chosen approved claims paid to providers and approved awards paid to firms.

The operator builds a batch from chosen lines; each line holds its amount, `P:paid` ←
`P:provider:S` for a claim and `P:paid` ← `P:award:F` for an award (one entry, pending
transfers), and carries the payee's registered bank account as it was when chosen. An
approver who did not make the batch releases it; only then is the bank file available. The
bank's confirmation posts each line's hold in an entry of its own (ledger/payments/
confirmation.py), so that a line the bank sends back can be reversed alone (ledger/payments/
returns.py). Before release the maker or an approver may cancel the batch: its holds are
voided in one entry and its lines are payable again. A claim or award is in at most one open
batch (its row is locked and names the batch); after a return it is paid again in a later
batch, once its payee's bank is corrected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    String,
    and_,
    case,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ledger.awards.award import Award, award_account
from ledger.awards.publicity import (
    check_payable,
    held_awards,
    publicity_required,
    waiting_awards,
)
from ledger.core.acting import SHANGHAI, By, now
from ledger.core.base import Base, BigIntPK, UTCDateTime
from ledger.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ledger.core.journal import EntryRequest, Move, VoidPending, post_entry
from ledger.core.money import fen_to_yuan
from ledger.core.paging import Page, check_page
from ledger.programmes.programme import Programme, account, programme_row
from ledger.registry.firms import Firm
from ledger.registry.parties import party_matches
from ledger.registry.providers import Provider
from ledger.vouchers.claims import Claim
from ledger.vouchers.redemptions import Redemption

FLOW_BATCH, FLOW_PAID, FLOW_CANCEL = "payment.batch", "payment.paid", "payment.cancel"
STATUSES = ("created", "released", "paid", "cancelled")
LINE_STATUSES = ("held", "paid", "returned", "cancelled")


class PaymentBatch(Base):
    """A batch of claim and award payments sent to the bank together.

    `created` (made, waiting for an approver) → `released` (bank file available) → `paid`;
    or `created` → `cancelled` (holds voided, lines payable again; kept as history).
    """

    __tablename__ = "payment_batches"
    __table_args__ = (CheckConstraint("status IN ('created', 'released', 'paid', 'cancelled')",
                                      name="status_known"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    hold_entry_id: Mapped[int] = mapped_column(BigInteger)
    paid_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_by: Mapped[str] = mapped_column(String(160))
    created_by_user: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cancel_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PaymentLine(Base):
    """One claim (paid to its provider) or one award (paid to its firm) in a batch, with the
    payee's bank account as chosen. Append-only."""

    __tablename__ = "payment_lines"
    __table_args__ = (
        CheckConstraint("(claim_id IS NOT NULL AND provider_id IS NOT NULL AND award_id IS NULL "
                        "AND firm_id IS NULL) OR (claim_id IS NULL AND provider_id IS NULL "
                        "AND award_id IS NOT NULL AND firm_id IS NOT NULL)",
                        name="claim_or_award"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"), index=True,
                                                 nullable=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), nullable=True)
    award_id: Mapped[int | None] = mapped_column(ForeignKey("awards.id"), index=True,
                                                 nullable=True)
    firm_id: Mapped[int | None] = mapped_column(ForeignKey("firms.id"), nullable=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int] = mapped_column(BigInteger)
    bank_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    bank_account: Mapped[str | None] = mapped_column(String(32), nullable=True)


class PaymentConfirmation(Base):
    """The bank's word that a line was paid: its reference and value date, and the entry that
    posted the line's hold. Append-only; one per line."""

    __tablename__ = "payment_confirmations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("payment_lines.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64))
    value_date: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))  # "batch" or "file"
    confirmed_by: Mapped[str] = mapped_column(String(160))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaymentReturn(Base):
    """A paid line the bank sent back (退票), why, and the reversal of its payment entry.
    Append-only; one per line."""

    __tablename__ = "payment_returns"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("payment_lines.id"), unique=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(String(160))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class LineView:
    """A line of a batch: a claim paid to its provider, or an award paid to its firm; its
    number in the bank file, the bank account chosen, and whether paid or returned."""

    id: int
    number: int
    claim_id: int | None
    provider_id: int | None
    award_id: int | None
    firm_id: int | None
    payee: str
    amount_fen: int
    bank_name: str | None
    bank_account: str | None
    status: str
    reference: str | None
    value_date: dt.date | None
    return_reason: str | None
    payee_credit_code: str = ""


@dataclass(frozen=True)
class BatchView:
    """A batch, its total, who made, released and paid it, and its lines."""

    id: int
    programme: str
    status: str
    total_fen: int
    created_by: str
    created_at: datetime
    released_by: str | None
    released_at: datetime | None
    paid_by: str | None
    paid_at: datetime | None
    lines: tuple[LineView, ...]
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def returned_fen(self) -> int:
        """What the bank sent back of this batch."""
        return sum(x.amount_fen for x in self.lines if x.status == "returned")


def batch_lines(session: Session, batch_id: int) -> list[LineView]:
    """The batch's lines in bank-file order, with their payee, confirmation and return."""
    return _lines_of(session, [batch_id]).get(batch_id, [])


def _lines_of(session: Session, batch_ids: Sequence[int]) -> dict[int, list[LineView]]:
    """The lines of each of `batch_ids` in bank-file order: one query for a whole page of
    batches (a list page read each batch's lines apart, twenty round trips)."""
    if not batch_ids:
        return {}
    rows = session.execute(
        select(PaymentLine.batch_id, PaymentLine.id, PaymentLine.claim_id,
               PaymentLine.provider_id, PaymentLine.award_id, PaymentLine.firm_id,
               func.coalesce(Provider.name, Firm.name), PaymentLine.amount_fen,
               PaymentLine.bank_name, PaymentLine.bank_account,
               PaymentConfirmation.reference, PaymentConfirmation.value_date,
               PaymentReturn.reason, func.coalesce(Provider.credit_code, Firm.credit_code))
        .outerjoin(Provider, Provider.id == PaymentLine.provider_id)
        .outerjoin(Firm, Firm.id == PaymentLine.firm_id)
        .outerjoin(PaymentConfirmation, PaymentConfirmation.line_id == PaymentLine.id)
        .outerjoin(PaymentReturn, PaymentReturn.line_id == PaymentLine.id)
        .where(PaymentLine.batch_id.in_(batch_ids)).order_by(PaymentLine.id)
    ).all()
    views: dict[int, list[LineView]] = {}
    for (batch_id, line_id, claim_id, provider_id, award_id, firm_id, payee, amount, bank, acct,
         reference, value_date, reason, code) in rows:
        lines = views.setdefault(batch_id, [])
        status = "returned" if reason is not None else "paid" if reference is not None \
            else "held"
        lines.append(LineView(line_id, len(lines) + 1, claim_id, provider_id, award_id, firm_id,
                              payee, amount, bank, acct, status, reference, value_date, reason,
                              code))
    return views


def _view(session: Session, row: PaymentBatch, programme: str,
          lines: Sequence[LineView] | None = None) -> BatchView:
    if lines is None:
        lines = batch_lines(session, row.id)
    if row.status == "cancelled":  # its holds were voided: no line is held any more
        lines = [replace(x, status="cancelled") for x in lines]
    return BatchView(row.id, programme, row.status, row.total_fen, row.created_by,
                     row.created_at, row.released_by, row.released_at, row.paid_by, row.paid_at,
                     tuple(lines), row.cancelled_by, row.cancelled_at, row.cancel_reason)


def _ids(name: str, ids: Sequence[int] | None) -> None:
    if ids is not None and (not ids or len(set(ids)) != len(ids)):
        raise InvalidInput(f"{name}: distinct ids, at least one", field=name)


def _returned_accounts(session: Session, column: Any, ids: list[int]) -> dict[int, str | None]:
    """The bank account of each claim's or award's last returned line (`column` names which),
    for those among `ids` the bank ever returned: one query."""
    rows = session.execute(
        select(column, PaymentLine.bank_account)
        .join(PaymentReturn, PaymentReturn.line_id == PaymentLine.id)
        .where(column.in_(ids)).order_by(PaymentLine.id))
    return {item: account for item, account in rows}  # a later line overwrites an earlier


def _check_bank(noun: str, subject_id: int, payee_noun: str, payee_id: int,
                account_now: str | None, *, returned_to: str | None) -> None:
    if account_now is None:
        raise Conflict(f"{payee_noun} {payee_id} has no bank account in the registry; record it "
                       f"before paying {noun} {subject_id}", code="bank_account_missing",
                       **{f"{noun}_id": subject_id, f"{payee_noun}_id": payee_id})
    if returned_to is not None and returned_to == account_now:
        raise Conflict(f"the bank returned {noun} {subject_id}'s payment to account "
                       f"{account_now}; correct {payee_noun} {payee_id}'s bank account first",
                       code="bank_details_not_corrected",
                       **{f"{noun}_id": subject_id, f"{payee_noun}_id": payee_id})


def _check_chosen(noun: str, programme: str, wanted: Sequence[int], rows: Sequence[Any],
                  in_open_batch: Callable[[Any], bool]) -> None:
    """Every chosen claim or award exists in the programme, is in no open batch, is not paid
    and is approved."""
    found = {r.id for r in rows}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound(f"no {noun} {missing[0]} in {programme}", **{f"{noun}_id": missing[0]})
    for row in rows:
        key = {f"{noun}_id": row.id}
        if in_open_batch(row):
            raise Conflict(f"{noun} {row.id} is already in open batch {row.batch_id}",
                           code="already_in_batch", batch_id=row.batch_id, **key)
        if row.status == "paid":
            raise Conflict(f"{noun} {row.id} was already paid in batch {row.batch_id}",
                           code="already_paid", **key)
        if row.status != "approved":
            raise Conflict(f"{noun} {row.id} is {row.status}, not approved",
                           code=f"{noun}_not_approved", **key)


def _payees(session: Session, noun: str, rows: Sequence[Any], party: Any, payee_noun: str,
            line_column: Any) -> dict[int, Any]:
    """The payees of `rows` by id (one query), each with a registered bank account that is not
    the one the bank returned the item's last payment to."""
    party_key = f"{payee_noun}_id"
    parties = {p.id: p for p in session.scalars(
        select(party).where(party.id.in_({getattr(r, party_key) for r in rows})))}
    returned = _returned_accounts(session, line_column, [r.id for r in rows])
    for row in rows:
        payee = parties[getattr(row, party_key)]
        _check_bank(noun, row.id, payee_noun, payee.id, payee.bank_account,
                    returned_to=returned.get(row.id))
    return parties


def _claims(session: Session, programme: str, programme_id: int,
            claim_ids: Sequence[int] | None) -> list[tuple[Claim, Provider]]:
    """The claims to batch, locked: approved and unbatched ones, or exactly `claim_ids`; each
    with its provider, whose bank account must be registered (and corrected after a return)."""
    statement = select(Claim).where(Claim.programme_id == programme_id)
    if claim_ids is None:
        statement = statement.where(Claim.status == "approved", Claim.batch_id.is_(None))
    else:
        statement = statement.where(Claim.id.in_(list(claim_ids)))
    claims = list(session.scalars(statement.order_by(Claim.id).with_for_update()))
    if claim_ids is not None:
        _check_chosen("claim", programme, claim_ids, claims,
                      lambda c: c.batch_id is not None and c.status != "paid")
    providers = _payees(session, "claim", claims, Provider, "provider", PaymentLine.claim_id)
    return [(c, providers[c.provider_id]) for c in claims]


def _awards(session: Session, programme: str, prog: Programme,
            award_ids: Sequence[int] | None) -> list[tuple[Award, Firm]]:
    """The awards to batch, locked: approved payable ones, or exactly `award_ids`; each with
    its firm, whose bank account must be registered (and corrected after a return)."""
    statement = select(Award).where(Award.programme_id == prog.id)
    if award_ids is None:
        # An award not yet through its 公示 (unpublished when the policy requires it, period
        # running, objection pending) waits; it is not batched.
        statement = statement.where(Award.status == "approved",
                                    ~held_awards(required=publicity_required(prog)))
    else:
        statement = statement.where(Award.id.in_(list(award_ids)))
    awards = list(session.scalars(statement.order_by(Award.id).with_for_update()))
    if award_ids is not None:
        _check_chosen("award", programme, award_ids, awards,
                      lambda a: a.status == "in_payment")
        check_payable(session, prog, award_ids)
    firms = _payees(session, "award", awards, Firm, "firm", PaymentLine.award_id)
    return [(a, firms[a.firm_id]) for a in awards]


def create_batch(
    session: Session, programme: str, *, by: By, claim_ids: Sequence[int] | None = None,
    award_ids: Sequence[int] | None = None,
) -> BatchView:
    """Batch exactly the chosen `claim_ids` and `award_ids` (or, when neither is given, every
    approved unbatched claim and award): all of them or none. The batch waits for release."""
    _ids("claim_ids", claim_ids)
    _ids("award_ids", award_ids)
    prog = programme_row(session, programme, lock=True)
    everything = claim_ids is None and award_ids is None
    claims = _claims(session, programme, prog.id, claim_ids) \
        if everything or claim_ids is not None else []
    awards = _awards(session, programme, prog, award_ids) \
        if everything or award_ids is not None else []
    if not claims and not awards:
        raise Conflict(f"{programme} has no approved claim or award to pay",
                       code="nothing_to_pay")
    paid = account(programme, "paid")
    moves = tuple(
        [Move(paid, account(programme, "provider", c.provider_id), c.amount_fen, pending=True)
         for c, _ in claims]
        + [Move(paid, award_account(programme, a.firm_id), a.amount_fen, pending=True)
           for a, _ in awards])
    stamp = now()
    row = PaymentBatch(programme_id=prog.id, status="created",
                       total_fen=sum(m.amount for m in moves), hold_entry_id=0,
                       created_by=by.label, created_by_user=by.user_id, created_at=stamp)
    session.add(row)
    session.flush()
    entry = post_entry(session, EntryRequest(moves, flow=FLOW_BATCH, ref=f"batch:{row.id}",
                                             actor=by.label))
    row.hold_entry_id = entry.id
    transfers = iter(entry.transfers)
    for claim, provider in claims:
        claim.batch_id = row.id
        session.add(PaymentLine(batch_id=row.id, claim_id=claim.id,
                                provider_id=claim.provider_id, amount_fen=claim.amount_fen,
                                transfer_id=next(transfers).id, bank_name=provider.bank_name,
                                bank_account=provider.bank_account))
    for award, firm in awards:
        award.status, award.batch_id, award.updated_at = "in_payment", row.id, stamp
        session.add(PaymentLine(batch_id=row.id, award_id=award.id, firm_id=award.firm_id,
                                amount_fen=award.amount_fen, transfer_id=next(transfers).id,
                                bank_name=firm.bank_name, bank_account=firm.bank_account))
    session.flush()
    return _view(session, row, programme)


def batch_row(session: Session, batch_id: int, *, lock: bool = False
              ) -> tuple[PaymentBatch, str]:
    """The batch's row (locked for update when `lock`) and its programme's code, or NotFound."""
    statement = select(PaymentBatch, Programme.code).join(
        Programme, Programme.id == PaymentBatch.programme_id).where(PaymentBatch.id == batch_id)
    if lock:
        statement = statement.with_for_update(of=PaymentBatch)
    found = session.execute(statement).first()
    if found is None:
        raise NotFound(f"no payment batch {batch_id}", batch_id=batch_id)
    return found[0], found[1]


def refuse_cancelled(row: PaymentBatch) -> None:
    """A cancelled batch is history: it is not released, paid or sent to the bank."""
    if row.status == "cancelled":
        raise Conflict(f"batch {row.id} was cancelled: {row.cancel_reason}",
                       code="batch_cancelled", batch_id=row.id)


def release_batch(session: Session, batch_id: int, *, by: By) -> BatchView:
    """An approver who did not make the batch releases it: its bank file becomes available."""
    row, programme = batch_row(session, batch_id, lock=True)
    refuse_cancelled(row)
    if row.status != "created":
        raise Conflict(f"batch {batch_id} is already {row.status}", code="already_released",
                       batch_id=batch_id)
    if by.user_id == row.created_by_user or by.label == row.created_by:
        raise PermissionDenied("maker-checker: whoever made the batch may not release it",
                               code="self_approval", batch_id=batch_id)
    row.status, row.released_by, row.released_at = "released", by.label, now()
    session.flush()
    return _view(session, row, programme)


def check_cancel_reason(reason: object) -> str:
    """The reason a batch is cancelled, stripped (1–500 characters), or InvalidInput."""
    if not isinstance(reason, str) or not reason.strip() or len(reason.strip()) > 500:
        raise InvalidInput("reason: say why the batch is cancelled (1–500 characters)",
                           field="reason")
    return reason.strip()


def cancel_batch(session: Session, batch_id: int, *, by: By, reason: str,
                 approver: bool = False) -> BatchView:
    """Withdraw a batch not yet released, saying why: its maker or (`approver`) an approver
    does. Its holds are voided in one entry, its claims and awards are payable again; the
    batch and its lines stay as history."""
    reason = check_cancel_reason(reason)
    # Locked like release_batch: of a cancel and a release racing, the second sees the first.
    row, programme = batch_row(session, batch_id, lock=True)
    refuse_cancelled(row)
    if row.status != "created":
        raise Conflict(f"batch {batch_id} is already {row.status}", code="already_released",
                       batch_id=batch_id)
    if not approver and by.user_id != row.created_by_user and by.label != row.created_by:
        raise PermissionDenied("only the batch's maker or an approver may cancel it",
                               code="not_batch_maker", batch_id=batch_id)
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch_id)
                                 .order_by(PaymentLine.id)))
    entry = post_entry(session, EntryRequest(
        tuple(VoidPending(x.transfer_id) for x in lines), flow=FLOW_CANCEL,
        ref=f"batch:{batch_id}", actor=by.label, memo=reason))
    stamp = now()
    claim_ids = [x.claim_id for x in lines if x.claim_id is not None]
    award_ids = [x.award_id for x in lines if x.award_id is not None]
    if claim_ids:
        for claim in session.scalars(select(Claim).where(Claim.id.in_(claim_ids))
                                     .order_by(Claim.id).with_for_update()):
            claim.batch_id = None
    if award_ids:
        for award in session.scalars(select(Award).where(Award.id.in_(award_ids))
                                     .order_by(Award.id).with_for_update()):
            award.status, award.batch_id, award.updated_at = "approved", None, stamp
    row.status, row.cancelled_by, row.cancelled_at = "cancelled", by.label, stamp
    row.cancel_reason, row.cancel_entry_id = reason, entry.id
    session.flush()
    return _view(session, row, programme)


def get_batch(session: Session, batch_id: int) -> BatchView:
    """One batch with its lines."""
    row, programme = batch_row(session, batch_id)
    return _view(session, row, programme)


def list_batches(session: Session, *, limit: int, offset: int = 0,
                 status: str | None = None) -> Page[BatchView]:
    """Batches newest first, optionally of one status."""
    check_page(limit, offset)
    where = []
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
        where.append(PaymentBatch.status == status)
    total = session.scalar(select(func.count()).select_from(PaymentBatch).where(*where)) or 0
    rows = session.execute(
        select(PaymentBatch, Programme.code).join(Programme,
                                                  Programme.id == PaymentBatch.programme_id)
        .where(*where).order_by(PaymentBatch.id.desc()).limit(limit).offset(offset)
    ).all()
    lines = _lines_of(session, [b.id for b, _ in rows])
    return Page([_view(session, b, code, lines.get(b.id, ())) for b, code in rows], total,
                limit, offset)


# ----------------------------------------------------------------- what can be chosen


@dataclass(frozen=True)
class Payable:
    """An approved claim or award not in an open batch: what the operator may choose."""

    kind: str  # "claim" or "award"
    id: int
    payee_id: int
    payee: str
    category: str  # the claim's service category, or the award's tier
    amount_fen: int
    approved_on: dt.date | None
    bank_account: str | None
    # The bank returned its last payment to the account the registry still holds: it is
    # refused when chosen (`bank_details_not_corrected`) until the account is corrected.
    bank_returned: bool = False


@dataclass(frozen=True)
class PayableFilter:
    """How the operator narrows what is payable (each part optional)."""

    kind: str | None = None
    payee_id: int | None = None
    payee_q: str | None = None  # the start of the payee's registered name or credit code
    category: str | None = None
    min_fen: int | None = None
    max_fen: int | None = None
    approved_from: dt.date | None = None
    approved_to: dt.date | None = None


def _approved_on(value: object) -> dt.date | None:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return stamp.astimezone(SHANGHAI).date()
    if isinstance(value, str):
        return _approved_on(datetime.fromisoformat(value))
    return None


def list_payable(session: Session, programme: str, wanted: PayableFilter, *, limit: int,
                 offset: int = 0) -> Page[Payable]:
    """The programme's approved claims and awards in no open batch, claims first, filtered;
    an award not yet through its 公示 is not listed (it would be refused when chosen)."""
    check_page(limit, offset)
    if wanted.kind not in (None, "claim", "award"):
        raise InvalidInput("kind must be claim or award", field="kind")
    prog = programme_row(session, programme)
    claims = (
        select(literal("claim").label("kind"), Claim.id.label("id"),
               Claim.provider_id.label("payee_id"), Provider.name.label("payee"),
               Redemption.category.label("category"), Claim.amount_fen.label("amount_fen"),
               Claim.decided_at.label("decided_at"), Provider.bank_account.label("bank"),
               _returned_to(PaymentLine.claim_id == Claim.id, Provider.bank_account))
        .join(Provider, Provider.id == Claim.provider_id)
        .join(Redemption, Redemption.id == Claim.redemption_id)
        .where(Claim.programme_id == prog.id, Claim.status == "approved",
               Claim.batch_id.is_(None)))
    if wanted.payee_q:
        claims = claims.where(party_matches(Provider, wanted.payee_q))
    awards = (
        select(literal("award").label("kind"), Award.id.label("id"),
               Award.firm_id.label("payee_id"), Firm.name.label("payee"),
               Award.tier.label("category"), Award.amount_fen.label("amount_fen"),
               Award.decided_at.label("decided_at"), Firm.bank_account.label("bank"),
               _returned_to(PaymentLine.award_id == Award.id, Firm.bank_account))
        .join(Firm, Firm.id == Award.firm_id)
        .where(Award.programme_id == prog.id, Award.status == "approved",
               ~held_awards(required=publicity_required(prog))))
    if wanted.payee_q:
        awards = awards.where(party_matches(Firm, wanted.payee_q))
    both = union_all(claims, awards).subquery()
    where = []
    if wanted.kind is not None:
        where.append(both.c.kind == wanted.kind)
    if wanted.payee_id is not None:
        where.append(both.c.payee_id == wanted.payee_id)
    if wanted.category:
        where.append(both.c.category == wanted.category)
    if wanted.min_fen is not None:
        where.append(both.c.amount_fen >= wanted.min_fen)
    if wanted.max_fen is not None:
        where.append(both.c.amount_fen <= wanted.max_fen)
    if wanted.approved_from is not None:
        start = datetime.combine(wanted.approved_from, dt.time(), SHANGHAI)
        where.append(both.c.decided_at >= start)
    if wanted.approved_to is not None:
        end = datetime.combine(wanted.approved_to + dt.timedelta(days=1), dt.time(), SHANGHAI)
        where.append(both.c.decided_at < end)
    condition = and_(true(), *where)
    total = session.scalar(select(func.count()).select_from(both).where(condition)) or 0
    rows = session.execute(
        select(both).where(condition).order_by(both.c.kind.desc(), both.c.id)
        .limit(limit).offset(offset)).all()
    items = [Payable(r.kind, r.id, r.payee_id, r.payee, r.category, r.amount_fen,
                     _approved_on(r.decided_at), r.bank, bool(r.returned)) for r in rows]
    return Page(items, total, limit, offset)


def _returned_to(line_of: ColumnElement[bool], account_now: Any) -> Any:
    """1 when the bank returned the item's last returned line to `account_now` (as
    `_check_bank` refuses it), else 0: a correlated subquery."""
    returned_to = (select(PaymentLine.bank_account)
                   .join(PaymentReturn, PaymentReturn.line_id == PaymentLine.id)
                   .where(line_of).order_by(PaymentLine.id.desc()).limit(1)
                   .scalar_subquery())
    return case((returned_to == account_now, 1), else_=0).label("returned")


def awards_waiting(session: Session, programme: str) -> dict[str, int]:
    """How many approved awards of the programme are not offered as payable, by the code that
    refuses them (`award_not_published`, `award_in_publicity`, `award_objection_pending`)."""
    return waiting_awards(session, programme_row(session, programme))


# ---------------------------------------------------------------------------- bank file


BANK_COLUMNS = ("batch", "line", "claim", "award", "payee_credit_code", "payee_name",
                "bank_name", "bank_account", "amount_yuan", "memo")


def bank_file(session: Session, batch_id: int) -> str:
    """The released batch as a CSV bank file (UTF-8): one payment per line, amounts in yuan;
    the payee and the bank account chosen with the line. Refused before release."""
    row, programme = batch_row(session, batch_id)
    refuse_cancelled(row)
    if row.status == "created":
        raise Conflict(f"batch {batch_id} waits for an approver's release; its bank file is "
                       "not available yet", code="batch_not_released", batch_id=batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BANK_COLUMNS)
    lines = session.execute(
        select(PaymentLine.claim_id, PaymentLine.award_id, PaymentLine.amount_fen,
               func.coalesce(Provider.credit_code, Firm.credit_code),
               func.coalesce(Provider.name, Firm.name),
               func.coalesce(PaymentLine.bank_name, Provider.bank_name, Firm.bank_name, null()),
               func.coalesce(PaymentLine.bank_account, Provider.bank_account,
                             Firm.bank_account, null()))
        .outerjoin(Provider, Provider.id == PaymentLine.provider_id)
        .outerjoin(Firm, Firm.id == PaymentLine.firm_id)
        .where(PaymentLine.batch_id == row.id).order_by(PaymentLine.id)
    ).all()
    for number, (claim_id, award_id, amount, code, name, bank, acct) in enumerate(lines, 1):
        # One language for the bank's memo field: Chinese words, the ids as figures.
        memo = (f"{programme} 创新券兑付 {claim_id}" if claim_id is not None
                else f"{programme} 奖励 {award_id}")
        writer.writerow((row.id, number, claim_id or "", award_id or "", code, name, bank or "",
                         acct or "", fen_to_yuan(amount), memo))
    return out.getvalue()
