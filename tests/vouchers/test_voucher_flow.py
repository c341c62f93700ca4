"""The voucher programme through its services: every flow, every balance to the fen."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from voucher_helpers import APPROVER, CODE, FIRM, OPERATOR, PDF, PNG, PROVIDER

from ledger.budget import budget
from ledger.core.acting import By, today
from ledger.core.db import transaction
from ledger.core.errors import (
    Conflict,
    InsufficientBalance,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PolicyRefused,
)
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments.confirmation import mark_paid
from ledger.programmes.programme import create_programme, get_programme
from ledger.registry.evidence import Upload
from ledger.registry.firms import Certification, add_certification
from ledger.vouchers import claims, clawbacks, expiry, redemptions
from ledger.vouchers import voucher as vouchers
from tests.authorised import authorised_book

EVIDENCE = (Upload("contract", "contract.pdf", PDF), Upload("invoice", "invoice.png", PNG),
            Upload("service_report", "report.pdf", PDF + b"r"))


def _state(sessions):
    with transaction(sessions) as s:
        return budget(s, CODE)


def _issue(sessions, amount=5_000_000, firm_id=1, **kw):
    with transaction(sessions) as s:
        return vouchers.issue_voucher(s, CODE, firm_id, amount, by=OPERATOR, **kw)


def _book(sessions, voucher_id, cost=1_000_000, category="testing", provider_id=1, **kw):
    with transaction(sessions) as s:
        return authorised_book(s, voucher_id=voucher_id, provider_id=provider_id,
                               category=category, cost_fen=cost, description="检测",
                               by=PROVIDER, **kw)


def _complete_confirm(sessions, rid, amount=None, provider_id=1):
    with transaction(sessions) as s:
        redemptions.complete(s, rid, provider_id=provider_id, by=PROVIDER, amount_fen=amount)
        return redemptions.confirm(s, rid, firm_id=1, by=FIRM)


def test_full_flow_balances_to_the_fen(sessions, programme):
    v = _issue(sessions)
    assert v.serial == "V000001" and v.account == f"{CODE}:voucher:V000001"
    assert v.expires_on == dt.date(today().year + 1, today().month, today().day) - dt.timedelta(1)
    b = _state(sessions)
    assert (b.appropriated, b.free, b.issued, b.unspent) == (
        100_000_000, 95_000_000, 5_000_000, 5_000_000)
    r = _book(sessions, v.id)  # testing: 50% of 10,000 yuan = 5,000 yuan
    assert r.subsidy_fen == 500_000 and r.status == "booked"
    b = _state(sessions)
    assert (b.unspent, b.held) == (4_500_000, 500_000) and b.balanced
    r = _complete_confirm(sessions, r.id, amount=400_000)
    assert r.amount_fen == 400_000 and r.confirmed
    b = _state(sessions)
    assert (b.unspent, b.held, b.redeemed) == (4_600_000, 0, 400_000) and b.balanced
    with transaction(sessions) as s:
        c = claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
    assert [e.kind for e in c.evidence] == ["contract", "invoice", "service_report"]
    assert len(c.evidence[0].sha256) == 64 and c.evidence[0].content_type == "application/pdf"
    with transaction(sessions) as s:
        claims.approve(s, c.id, by=APPROVER)
        batch = payments.create_batch(s, CODE, by=OPERATOR)
    assert batch.total_fen == 400_000 and [line.claim_id for line in batch.lines] == [c.id]
    b = _state(sessions)
    assert (b.redeemed, b.in_payment, b.paid) == (0, 400_000, 0) and b.balanced
    with transaction(sessions) as s:
        payments.release_batch(s, batch.id, by=APPROVER)
        text = payments.bank_file(s, batch.id)
        mark_paid(s, batch.id, by=OPERATOR, reference="BANK0001", value_date="2026-03-01")
    assert "4000.00" in text and "辽宁省检验检测认证中心" in text
    b = _state(sessions)
    assert (b.in_payment, b.paid, b.free) == (0, 400_000, 95_000_000) and b.balanced
    with transaction(sessions) as s:
        assert claims.get_claim(s, c.id).status == "paid"
        with pytest.raises(Conflict) as second:
            mark_paid(s, batch.id, by=OPERATOR, reference="BANK0002", value_date="2026-03-02")
        assert second.value.code == "already_paid"
        with pytest.raises(Conflict) as again:
            payments.create_batch(s, CODE, by=OPERATOR, claim_ids=[c.id])
        assert again.value.code == "already_paid"
        assert verify(s).ok


def test_partial_complete_cancel_and_refusals(sessions, programme):
    v = _issue(sessions, amount=600_000)
    r1 = _book(sessions, v.id, cost=1_000_000)
    with transaction(sessions) as s, pytest.raises(InvalidInput):
        redemptions.complete(s, r1.id, provider_id=1, by=PROVIDER, amount_fen=500_001)
    with transaction(sessions) as s:
        redemptions.cancel(s, r1.id, by=PROVIDER, provider_id=1)
        with pytest.raises(Conflict):
            redemptions.cancel(s, r1.id, by=PROVIDER, provider_id=1)
    assert _state(sessions).unspent == 600_000
    # Over a cap: testing caps an order at 30,000 yuan; the trace names the bound.
    big = _book(sessions, v.id, cost=100_000_000)
    assert big.subsidy_fen == 600_000 and big.decision["bound"] == "voucher_balance"
    with pytest.raises(PolicyRefused) as refused:
        _book(sessions, v.id)
    assert refused.value.code == "insufficient_balance"
    # Provider not registered for the category.
    v2 = _issue(sessions, amount=100_000)
    with pytest.raises(PolicyRefused) as refused:
        _book(sessions, v2.id, category="patent_application")
    assert refused.value.code == "provider_not_registered"
    assert any(line["rule"] == "booking.provider_registered"
               for line in refused.value.detail["decision"]["trace"])


def test_cap_refusal_names_the_cap(sessions, programme):
    with pytest.raises(PolicyRefused) as refused:
        _issue(sessions, amount=15_000_001)
    assert refused.value.code == "cap_exceeded"
    failing = [t for t in refused.value.detail["decision"]["trace"] if t["outcome"] == "fail"]
    assert failing[0]["rule"] == "issue.per_voucher_cap"
    assert failing[0]["figures"]["cap_fen"] == 15_000_000


def test_related_party_refused(sessions, programme):
    from ledger.registry.parties import PartyData
    from ledger.registry.providers import Registration, create_provider

    with transaction(sessions) as s:
        p = create_provider(s, PartyData("91210100MA0TL4W9KB", "刘氏检测", "沈阳市",
                                         "浑南区", "small", "刘志远", ("刘志远",)),
                            categories=(Registration("testing", dt.date(2025, 1, 1)),))
    v = _issue(sessions)
    with pytest.raises(PolicyRefused) as refused:
        _book(sessions, v.id, provider_id=p.id)
    assert refused.value.code == "related_party"


def test_expired_voucher_returns_and_rerun_changes_nothing(sessions, programme):
    with transaction(sessions) as s:
        add_certification(s, 1, Certification("tech_sme", 2025, dt.date(2025, 3, 1)))
    old = _issue(sessions, amount=1_000_000, issued_on=dt.date(2025, 6, 1))
    assert old.expires_on == dt.date(2025, 12, 31)
    with pytest.raises(PolicyRefused) as refused:
        _book(sessions, old.id)
    assert refused.value.code == "voucher_expired"
    held = _book(sessions, old.id, on=dt.date(2025, 7, 1))
    with transaction(sessions) as s:
        result = expiry.expire(s, CODE, by=OPERATOR)
    assert (result.vouchers_expired, result.returned_fen) == (1, 500_000)
    assert [h.held_fen for h in result.open_holds] == [500_000]
    with transaction(sessions) as s:
        again = expiry.expire(s, CODE, by=OPERATOR)
        assert (again.vouchers_expired, again.returned_fen) == (0, 0)
        redemptions.cancel(s, held.id, by=OPERATOR)
        third = expiry.expire(s, CODE, by=OPERATOR)
        assert third.returned_fen == 500_000 and third.open_holds == ()
        b = budget(s, CODE)
        assert (b.expired, b.free, b.unspent) == (1_000_000, 100_000_000, 0) and b.balanced
        with pytest.raises(InvalidInput):
            expiry.expire(s, CODE, as_of=today() + dt.timedelta(days=1), by=OPERATOR)


def test_claim_refusals_and_maker_checker(sessions, programme):
    v = _issue(sessions)
    r = _book(sessions, v.id)
    with transaction(sessions) as s:
        redemptions.complete(s, r.id, provider_id=1, by=PROVIDER)
        with pytest.raises(Conflict) as unconfirmed:
            claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        assert unconfirmed.value.code == "not_confirmed"
        with pytest.raises(NotFound):
            redemptions.confirm(s, r.id, firm_id=2, by=FIRM)
        redemptions.confirm(s, r.id, firm_id=1, by=FIRM)
    with transaction(sessions) as s, pytest.raises(PolicyRefused) as missing:
        claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE[:2], by=PROVIDER)
    assert missing.value.code == "evidence_missing"
    with transaction(sessions) as s, pytest.raises(InvalidInput) as empty:
        claims.file_claim(s, r.id, provider_id=1, by=PROVIDER,
                          files=(*EVIDENCE[:2], Upload("service_report", "r.pdf", b"")))
    assert empty.value.code == "evidence_empty"
    with transaction(sessions) as s, pytest.raises(InvalidInput) as typed:
        claims.file_claim(s, r.id, provider_id=1, by=PROVIDER,
                          files=(*EVIDENCE[:2], Upload("service_report", "r.exe", b"MZ\x90")))
    assert typed.value.code == "evidence_type"
    with transaction(sessions) as s, pytest.raises(PolicyRefused) as late:
        claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER,
                          on=today() + dt.timedelta(days=61))
    assert late.value.code == "claim_late"
    with transaction(sessions) as s:
        c = claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        with pytest.raises(PermissionDenied) as own:
            claims.approve(s, c.id, by=PROVIDER)
        assert own.value.code == "self_approval"
        claims.reject(s, c.id, by=APPROVER, reason="发票不符")
        with pytest.raises(Conflict):
            claims.approve(s, c.id, by=APPROVER)


def test_clawback_before_and_after_payment(sessions, programme):
    v = _issue(sessions)
    r1, r2 = _book(sessions, v.id), _book(sessions, v.id, cost=200_000)
    _complete_confirm(sessions, r1.id)
    _complete_confirm(sessions, r2.id)
    with transaction(sessions) as s:
        c = claims.file_claim(s, r1.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        claims.approve(s, c.id, by=APPROVER)
        batch = payments.create_batch(s, CODE, by=OPERATOR)
        with pytest.raises(Conflict) as paying:
            clawbacks.clawback(s, r1.id, by=APPROVER, reason="虚假服务")
        assert paying.value.code == "in_payment"
        payments.release_batch(s, batch.id, by=APPROVER)
        mark_paid(s, batch.id, by=OPERATOR, reference="BANK0001", value_date="2026-03-01")
        with pytest.raises(PermissionDenied):
            clawbacks.clawback(s, r1.id, by=PROVIDER, reason="x")
        assert vouchers.get_voucher(s, v.id).spent_fen == 600_000
        clawbacks.clawback(s, r1.id, by=APPROVER, reason="虚假服务")
        # A clawed-back redemption is no longer spent: its money is back on the voucher.
        seen = vouchers.get_voucher(s, v.id)
        assert (seen.spent_fen, seen.available_fen, seen.held_fen) == (100_000, 4_900_000, 0)
        clawbacks.clawback(s, r2.id, by=APPROVER, reason="重复开票")
        for seen in (vouchers.get_voucher(s, v.id),
                     *vouchers.list_vouchers(s, limit=10, firm_id=1).items):
            assert (seen.spent_fen, seen.available_fen) == (0, 5_000_000)
            assert seen.amount_fen == (seen.available_fen + seen.held_fen + seen.spent_fen
                                       + seen.expired_fen)
        with pytest.raises(Conflict) as twice:
            clawbacks.clawback(s, r1.id, by=APPROVER, reason="again")
        assert twice.value.code == "already_clawed_back"
        b = budget(s, CODE)
        assert (b.paid, b.receivable, b.redeemed, b.unspent) == (500_000, 500_000, 0, 5_000_000)
        # What the provider's money page takes off its credits (the reversals).
        programme_id = get_programme(s, CODE).id
        assert clawbacks.clawed_back_by_programme(s, 1, [programme_id]) == {
            programme_id: 600_000}
        assert clawbacks.clawed_back_by_programme(s, 2, [programme_id]) == {}
        assert b.balanced and verify(s).ok


def test_firm_sees_only_its_vouchers(sessions, programme):
    v = _issue(sessions)
    with transaction(sessions) as s:
        assert vouchers.get_voucher(s, v.id, firm_id=1).id == v.id
        with pytest.raises(NotFound):
            vouchers.get_voucher(s, v.id, firm_id=2)
        history = vouchers.voucher_history(s, v.id, firm_id=1)
        assert [(h.flow, h.direction, h.amount_fen) for h in history] == [
            ("voucher.issue", "in", 5_000_000)]
        assert vouchers.list_vouchers(s, limit=10, firm_id=2).total == 0


def test_budget_refuses_overdraw(sessions, programme):
    with transaction(sessions) as s:
        create_programme(s, code="SMALL", name="小", fiscal_year=2026, policy="LN-CXQ",
                         by=OPERATOR)
        from ledger.programmes.programme import appropriate
        appropriate(s, "SMALL", 100, by=OPERATOR)
        with pytest.raises(PolicyRefused) as refused:
            vouchers.issue_voucher(s, "SMALL", 1, 101, by=OPERATOR)
        assert refused.value.code == "budget_exhausted"
        with pytest.raises(InvalidInput):
            create_programme(s, code="bad code", name="x", fiscal_year=2026, policy="LN-CXQ",
                             by=OPERATOR)
        with pytest.raises(InvalidInput):
            create_programme(s, code="NOPE", name="x", fiscal_year=2026, policy="LN-NOPE",
                             by=OPERATOR)
    assert InsufficientBalance and By


def test_evidence_is_stored_once_by_content_and_never_changes(sessions, programme):
    from sqlalchemy import func, select, text
    from sqlalchemy.exc import DatabaseError

    from ledger.registry.evidence import MAX_BYTES, EvidenceFile

    v = _issue(sessions)
    first, second = _book(sessions, v.id), _book(sessions, v.id)
    for r in (first, second):
        _complete_confirm(sessions, r.id)
    with transaction(sessions) as s, pytest.raises(InvalidInput) as large:
        claims.file_claim(s, first.id, provider_id=1, by=PROVIDER, files=(
            *EVIDENCE[:2], Upload("service_report", "r.pdf", PDF + b"x" * MAX_BYTES)))
    assert large.value.code == "evidence_too_large"
    with transaction(sessions) as s:
        a = claims.file_claim(s, first.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        b = claims.file_claim(s, second.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        assert [e.sha256 for e in a.evidence] == [e.sha256 for e in b.evidence]
        assert s.scalar(select(func.count()).select_from(EvidenceFile)) == 3
        with pytest.raises(Conflict) as twice:
            claims.file_claim(s, first.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        assert twice.value.code == "already_claimed"
    for statement in ("UPDATE evidence_files SET size = 1",
                      "DELETE FROM claim_evidence"):
        with pytest.raises(DatabaseError), transaction(sessions) as s:
            s.execute(text(statement))


def test_a_disputed_completion_cannot_be_claimed_until_the_firm_confirms(sessions, programme):
    v = _issue(sessions)
    r = _book(sessions, v.id)
    with transaction(sessions) as s:
        redemptions.complete(s, r.id, provider_id=1, by=PROVIDER)
    with transaction(sessions) as s, pytest.raises(InvalidInput):
        redemptions.dispute(s, r.id, firm_id=1, reason="  ", by=FIRM)
    with transaction(sessions) as s, pytest.raises(NotFound):
        redemptions.dispute(s, r.id, firm_id=2, reason="不是我的", by=FIRM)
    with transaction(sessions) as s:
        disputed = redemptions.dispute(s, r.id, firm_id=1, reason="检测报告缺页", by=FIRM)
    assert disputed.dispute_reason == "检测报告缺页" and not disputed.confirmed
    with transaction(sessions) as s, pytest.raises(Conflict) as again:
        redemptions.dispute(s, r.id, firm_id=1, reason="再次", by=FIRM)
    assert again.value.code == "already_disputed"
    with transaction(sessions) as s, pytest.raises(Conflict) as unclaimable:
        claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
    assert unclaimable.value.code == "not_confirmed"
    # Once the provider has put it right, the firm confirms and the claim goes through.
    with transaction(sessions) as s:
        assert redemptions.confirm(s, r.id, firm_id=1, by=FIRM).confirmed
        assert claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE,
                                 by=PROVIDER).amount_fen == 500_000
    with transaction(sessions) as s, pytest.raises(Conflict) as late:
        redemptions.dispute(s, r.id, firm_id=1, reason="晚了", by=FIRM)
    assert late.value.code == "already_confirmed"


def test_the_views_booking_completing_and_cancelling_return_are_what_is_stored(sessions,
                                                                               programme):
    """The services build their answer from the values they wrote: it is the row read back."""
    v = _issue(sessions)
    booked = _book(sessions, v.id, cost=1_000_001)
    with transaction(sessions) as s:
        assert redemptions.get_redemption(s, booked.id) == booked
        done = redemptions.complete(s, booked.id, provider_id=1, by=PROVIDER, amount_fen=300_000)
    with transaction(sessions) as s:
        assert redemptions.get_redemption(s, booked.id) == done
    assert (done.status, done.amount_fen, done.subsidy_fen) == ("completed", 300_000, 500_000)
    other = _book(sessions, v.id)
    with transaction(sessions) as s:
        cancelled = redemptions.cancel(s, other.id, by=OPERATOR)
    with transaction(sessions) as s:
        assert redemptions.get_redemption(s, other.id) == cancelled
    assert (booked.voucher_serial, booked.firm_name) == (v.serial, cancelled.firm_name)
    assert booked.provider_name and booked.firm_name and cancelled.status == "cancelled"


def test_a_claim_refuses_the_redemption_before_its_files(sessions, programme):
    """The files are checked before the redemption is read; its refusals still come first."""
    v = _issue(sessions)
    r = _book(sessions, v.id)
    bad = (*EVIDENCE[:2], Upload("service_report", "r.exe", b"MZ\x90"))
    with transaction(sessions) as s, pytest.raises(Conflict) as booked:
        claims.file_claim(s, r.id, provider_id=1, files=bad, by=PROVIDER)
    assert booked.value.code == "not_completed"
    with transaction(sessions) as s, pytest.raises(NotFound):
        claims.file_claim(s, r.id, provider_id=2, files=bad, by=PROVIDER)
    _complete_confirm(sessions, r.id)
    with transaction(sessions) as s, pytest.raises(InvalidInput) as twice:
        claims.file_claim(s, r.id, provider_id=1, by=PROVIDER,
                          files=(*EVIDENCE, Upload("invoice", "again.pdf", PDF)))
    assert twice.value.detail == {"field": "files"}


def test_one_file_given_as_two_kinds_is_stored_once_and_attached_twice(sessions, programme):
    from sqlalchemy import func, select

    from ledger.registry.evidence import EvidenceFile

    v = _issue(sessions)
    r = _book(sessions, v.id)
    _complete_confirm(sessions, r.id)
    same = (Upload("contract", "c.pdf", PDF), Upload("invoice", "i.pdf", PDF),
            Upload("service_report", "r.pdf", PDF))
    with transaction(sessions) as s:
        filed = claims.file_claim(s, r.id, provider_id=1, files=same, by=PROVIDER)
        assert s.scalar(select(func.count()).select_from(EvidenceFile)) == 1
        assert claims.get_claim(s, filed.id) == filed
    assert [(e.kind, e.filename) for e in filed.evidence] == [
        ("contract", "c.pdf"), ("invoice", "i.pdf"), ("service_report", "r.pdf")]


def test_objects_the_session_holds_see_the_issue_and_the_decision(sessions, programme):
    """Issue and decision write with Core statements; a programme or claim already loaded as
    an object in the same session must not keep the old values."""
    from ledger.programmes.programme import programme_row

    with transaction(sessions) as s:
        held = programme_row(s, CODE)
        assert held.vouchers_issued == 0
        v = vouchers.issue_voucher(s, CODE, 1, 5_000_000, by=OPERATOR)
        assert held.vouchers_issued == 1
        assert vouchers.list_vouchers(s, limit=10, programme=CODE).total == 1
        assert vouchers.get_voucher(s, v.id) == v
    r = _book(sessions, v.id)
    _complete_confirm(sessions, r.id)
    with transaction(sessions) as s:
        c = claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
        row = claims.claim_row(s, c.id)
        approved = claims.approve(s, c.id, by=APPROVER, reason="齐全")
        assert (row.status, row.decided_by, row.reason) == ("approved", APPROVER.label, "齐全")
        assert claims.get_claim(s, c.id) == approved


def test_racing_issues_decide_on_the_budget_left_by_the_issue_before(sessions, programme):
    """Six issues at once from a budget that covers two: two issued, four refused by the
    policy (`budget_exhausted`, with its trace) — each decides on the budget as the issue it
    waited for left it, not as it was before the wait."""
    with transaction(sessions) as s:
        create_programme(s, code="RACE", name="竞", fiscal_year=2026, policy="LN-CXQ",
                         by=OPERATOR)
        from ledger.programmes.programme import appropriate
        appropriate(s, "RACE", 25_000, by=OPERATOR)
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def issue(firm_id: int) -> None:
        start.wait()
        try:
            with transaction(sessions) as s:
                vouchers.issue_voucher(s, "RACE", firm_id, 10_000, by=OPERATOR)
            outcomes.append("issued")
        except PolicyRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=issue, args=(1 + n % 4,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["budget_exhausted"] * 4 + ["issued"] * 2


def test_a_description_with_control_characters_is_refused_and_nothing_is_held(
        sessions, programme):
    v = _issue(sessions, amount=600_000)
    for text in ("a\x00b", "bell\x07", "del\x7f"):
        with transaction(sessions) as s, pytest.raises(InvalidInput) as refused:
            authorised_book(s, voucher_id=v.id, provider_id=1, category="testing",
                            cost_fen=100_000, description=text, by=PROVIDER)
        assert refused.value.detail["field"] == "description"
    assert _state(sessions).unspent == 600_000
    booked = _book(sessions, v.id, cost=100_000)
    assert booked.description == "检测"
