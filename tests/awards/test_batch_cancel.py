"""A cancelled batch of awards gives them back: approved, unbatched, payable again."""

from __future__ import annotations

from ledger.awards import award as awards
from ledger.core.db import transaction
from ledger.core.verify import verify
from ledger.payments import batches as payments
from tests.awards.support import APPROVER, YUAN, publish_ended
from tests.awards.test_awards import _apply, _approve, _batch, _budget


def test_a_cancelled_award_batch_returns_its_awards_to_approved(sessions, programme, firms):
    award = _apply(sessions, firms[0], "gazelle")
    _approve(sessions, award.id)
    with transaction(sessions) as s:
        publish_ended(s)
    before = _budget(sessions)
    batch = _batch(sessions, award.id)
    assert _budget(sessions).in_payment == 200_000 * YUAN
    with transaction(sessions) as s:
        cancelled = payments.cancel_batch(s, batch.id, by=APPROVER, reason="审批人不同意放行",
                                            approver=True)
        back = awards.get_award(s, award.id)
        assert verify(s).ok
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", APPROVER.label)
    assert (back.status, back.batch_id, back.pay_entry_id) == ("approved", None, None)
    after = _budget(sessions)
    assert after == before and (after.awarded, after.in_payment, after.balanced) == (
        200_000 * YUAN, 0, True)
    again = _batch(sessions, award.id)
    assert [x.award_id for x in again.lines] == [award.id] and again.id != batch.id
    with transaction(sessions) as s:
        assert awards.get_award(s, award.id).status == "in_payment"
