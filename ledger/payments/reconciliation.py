"""Reconciliation: what each batch paid, what the bank returned and what is still owed, from
the batch records and again from the journal (the two must agree to the fen), and a bank's
confirmation file compared with a batch line by line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.core.models import Transfer
from ledger.payments.batches import (
    BatchView,
    PaymentConfirmation,
    PaymentLine,
    PaymentReturn,
    get_batch,
)
from ledger.payments.confirmation import Confirmed


@dataclass(frozen=True)
class BatchReconciliation:
    """One batch: lines paid and returned, still owed, and the journal's own figures."""

    batch: BatchView
    paid_lines: int
    paid_fen: int
    returned_lines: int
    returned_fen: int
    owed_fen: int  # returned and not yet paid again in a later batch
    ledger_paid_fen: int  # posted to P:paid by the batch's line entries
    ledger_returned_fen: int  # taken back from P:paid by their reversals
    ledger_owed_fen: int  # reversals of lines whose claim or award is not paid since

    @property
    def net_paid_fen(self) -> int:
        """What the batch paid and the bank kept."""
        return self.paid_fen - self.returned_fen

    @property
    def agrees(self) -> bool:
        """True when the batch records and the journal agree to the fen."""
        return (self.paid_fen, self.returned_fen, self.owed_fen) == (
            self.ledger_paid_fen, self.ledger_returned_fen, self.ledger_owed_fen)


def _entry_sum(session: Session, entry_ids: Sequence[int]) -> int:
    if not entry_ids:
        return 0
    return int(session.scalar(select(func.coalesce(func.sum(Transfer.amount), 0))
                              .where(Transfer.entry_id.in_(list(entry_ids)))) or 0)


def _paid_again(session: Session, line: PaymentLine) -> bool:
    """Whether the line's claim or award was paid (and kept) in a later batch."""
    subject = PaymentLine.claim_id == line.claim_id if line.claim_id is not None \
        else PaymentLine.award_id == line.award_id
    later = session.scalar(
        select(func.count()).select_from(PaymentLine)
        .join(PaymentConfirmation, PaymentConfirmation.line_id == PaymentLine.id)
        .outerjoin(PaymentReturn, PaymentReturn.line_id == PaymentLine.id)
        .where(subject, PaymentLine.id > line.id, PaymentReturn.id.is_(None)))
    return bool(later)


def reconcile_batch(session: Session, batch_id: int) -> BatchReconciliation:
    """The batch's reconciliation, from its records and from the journal."""
    batch = get_batch(session, batch_id)
    paid = [x for x in batch.lines if x.status in ("paid", "returned")]
    returned = [x for x in batch.lines if x.status == "returned"]
    confirmations = session.execute(
        select(PaymentConfirmation.entry_id).where(PaymentConfirmation.batch_id == batch_id)
    ).scalars().all()
    returns = session.execute(
        select(PaymentReturn.entry_id, PaymentLine)
        .join(PaymentLine, PaymentLine.id == PaymentReturn.line_id)
        .where(PaymentReturn.batch_id == batch_id)).all()
    owed_lines = [(entry_id, line) for entry_id, line in returns
                  if not _paid_again(session, line)]
    owed_ids = {line.id for _, line in owed_lines}
    return BatchReconciliation(
        batch=batch,
        paid_lines=len(paid), paid_fen=sum(x.amount_fen for x in paid),
        returned_lines=len(returned), returned_fen=sum(x.amount_fen for x in returned),
        owed_fen=sum(x.amount_fen for x in returned if x.id in owed_ids),
        ledger_paid_fen=_entry_sum(session, confirmations),
        ledger_returned_fen=_entry_sum(session, [e for e, _ in returns]),
        ledger_owed_fen=_entry_sum(session, [e for e, _ in owed_lines]),
    )


@dataclass(frozen=True)
class Difference:
    """A line where the bank's file and the ledger disagree, and how."""

    line: int
    what: str  # missing_in_file, not_in_batch, amount, reference, value_date, not_paid, twice
    file_value: str
    ledger_value: str


def compare_file(session: Session, batch_id: int, rows: Sequence[Confirmed]
                 ) -> list[Difference]:
    """The bank's confirmation file against the batch: every disagreement, line by line."""
    from ledger.core.money import fen_to_yuan

    lines = {x.number: x for x in get_batch(session, batch_id).lines}
    seen: set[int] = set()
    found: list[Difference] = []
    for row in rows:
        line = lines.get(row.line)
        if line is None:
            found.append(Difference(row.line, "not_in_batch", fen_to_yuan(row.amount_fen), ""))
            continue
        if row.line in seen:
            found.append(Difference(row.line, "twice", row.reference, ""))
            continue
        seen.add(row.line)
        if row.amount_fen != line.amount_fen:
            found.append(Difference(row.line, "amount", fen_to_yuan(row.amount_fen),
                                    fen_to_yuan(line.amount_fen)))
        if line.status == "held":
            found.append(Difference(row.line, "not_paid", row.reference, line.status))
            continue
        if row.reference != line.reference:
            found.append(Difference(row.line, "reference", row.reference, line.reference or ""))
        if row.value_date != line.value_date:
            found.append(Difference(row.line, "value_date", row.value_date.isoformat(),
                                    _iso(line.value_date)))
    found += [Difference(n, "missing_in_file", "", fen_to_yuan(line.amount_fen))
              for n, line in sorted(lines.items()) if n not in seen]
    return found


def _iso(day: dt.date | None) -> str:
    return "" if day is None else day.isoformat()
