"""Cancelling a payment batch before release: holds voided in one entry, lines payable again,
the batch kept as history; refused once released; a cancel racing a release, one wins."""

from __future__ import annotations

import threading

from sqlalchemy import select
from voucher_helpers import APPROVER, CODE, OPERATOR

from ledger.budget import budget
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.core.errors import InvalidInput, PermissionDenied
from ledger.core.journal import get_entry
from ledger.core.models import JournalEntry
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments import confirmation, reconciliation
from ledger.payments.batches import PayableFilter, PaymentBatch
from ledger.vouchers import claims
from tests.vouchers.test_payment_batches import (
    APPROVER2,
    DAY,
    _approved_claims,
    _race,
    _refused,
)


def test_a_cancelled_batch_voids_its_holds_and_offers_its_lines_again(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000, 2_000_000)
    with transaction(sessions) as s:
        before = budget(s, CODE)
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=ids)
    with transaction(sessions) as s:
        assert budget(s, CODE).in_payment == 1_500_000
    # A reason is required; nothing is written without one.
    for reason in ("", "   "):
        refused = _refused(sessions, payments.cancel_batch, batch.id, by=OPERATOR,
                           reason=reason)
        assert isinstance(refused, InvalidInput) and refused.detail["field"] == "reason"
    with transaction(sessions) as s:
        cancelled = payments.cancel_batch(s, batch.id, by=OPERATOR, reason=" 选错了明细 ")
        row = s.get(PaymentBatch, batch.id)
        entry = get_entry(s, row.cancel_entry_id)
        kinds = sorted(t.kind for t in entry.transfers)
        after = budget(s, CODE)
        page = payments.list_payable(s, CODE, PayableFilter(), limit=10)
        listed = payments.list_batches(s, limit=10, status="cancelled")
        report = reconciliation.reconcile_batch(s, batch.id)
        assert [claims.get_claim(s, i).batch_id for i in ids] == [None, None]
        assert verify(s).ok
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancel_reason) == (
        "cancelled", OPERATOR.label, "选错了明细")
    assert cancelled.cancelled_at is not None
    assert [x.status for x in cancelled.lines] == ["cancelled", "cancelled"]
    assert (entry.flow, entry.ref, kinds) == (
        "payment.cancel", f"batch:{batch.id}", ["void_pending", "void_pending"])
    assert (after.in_payment, after.paid, after.balanced) == (0, 0, True)
    assert after == before
    assert [p.id for p in page.items] == ids
    assert [b.id for b in listed.items] == [batch.id]
    assert (report.paid_fen, report.returned_fen, report.owed_fen, report.agrees) == (
        0, 0, 0, True)
    # No bank file, no release, no payment, no second cancel; the lines go in a new batch.
    assert _refused(sessions, payments.bank_file, batch.id).code == "batch_cancelled"
    for call, kw in ((payments.release_batch, {"by": APPROVER}),
                     (confirmation.mark_paid, {"by": OPERATOR, "reference": "X",
                                               "value_date": DAY}),
                     (payments.cancel_batch, {"by": OPERATOR, "reason": "again"})):
        assert _refused(sessions, call, batch.id, **kw).code == "batch_cancelled"
    with transaction(sessions) as s:
        again = payments.create_batch(s, CODE, by=OPERATOR)
        payments.release_batch(s, again.id, by=APPROVER)
        confirmation.mark_paid(s, again.id, by=OPERATOR, reference="CMB1", value_date=DAY)
        assert (budget(s, CODE).paid, verify(s).ok) == (1_500_000, True)
        assert payments.get_batch(s, batch.id).status == "cancelled"
    assert [x.claim_id for x in again.lines] == ids


def test_a_released_batch_is_not_cancelled(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=ids)
        payments.release_batch(s, batch.id, by=APPROVER)
    assert _refused(sessions, payments.cancel_batch, batch.id, by=APPROVER, reason="不放行",
                    approver=True).code == "already_released"


def test_only_its_maker_or_an_approver_cancels_a_batch(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=ids)
    other = _refused(sessions, payments.cancel_batch, batch.id, by=By(9, "op2"), reason="x")
    assert isinstance(other, PermissionDenied) and other.code == "not_batch_maker"
    with transaction(sessions) as s:
        done = payments.cancel_batch(s, batch.id, by=APPROVER2, reason="不予放行",
                                     approver=True)
    assert (done.status, done.cancelled_by) == ("cancelled", APPROVER2.label)


def test_a_cancel_racing_a_release_one_wins(sessions, programme):
    ids = _approved_claims(sessions, 1_000_000)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=ids)
    turns = iter(("cancel", "release"))
    lock = threading.Lock()

    def act(s):
        with lock:
            turn = next(turns)
        if turn == "cancel":
            payments.cancel_batch(s, batch.id, by=OPERATOR, reason="撤回")
        else:
            payments.release_batch(s, batch.id, by=APPROVER)

    outcomes = _race(sessions, act)
    with transaction(sessions) as s:
        status = payments.get_batch(s, batch.id).status
        claim = claims.get_claim(s, ids[0])
        b = budget(s, CODE)
        assert verify(s).ok
        entries = s.scalars(select(JournalEntry.flow).where(
            JournalEntry.ref == f"batch:{batch.id}")).all()
    # The loser is told what the winner did.
    loser = "batch_cancelled" if status == "cancelled" else "already_released"
    assert outcomes == [loser, "ok"]
    if status == "cancelled":
        assert (claim.batch_id, b.in_payment, sorted(entries)) == (
            None, 0, ["payment.batch", "payment.cancel"])
    else:
        assert (claim.batch_id, b.in_payment, entries) == (batch.id, 500_000, ["payment.batch"])
