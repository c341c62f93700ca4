"""Voucher applications (申领) through their services: apply, refuse, approve, reject, race."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text
from voucher_helpers import APPROVER, CODE, FIRM, PDF, PNG

from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, PolicyRefused
from ledger.registry.evidence import Upload
from ledger.registry.firms import Firm
from ledger.vouchers import applications as apps
from ledger.vouchers.voucher import Voucher, get_voucher

ON = dt.date(2026, 9, 15)  # in window 2026-2 (2026-07-01 … 2026-12-31)
DOCS = [Upload("business_licence", "licence.png", PNG), Upload("plan", "plan.pdf", PDF)]


def _apply(sessions, firm_id=1, amount=10_000_000, docs=DOCS, on=ON, by=FIRM):
    with transaction(sessions) as s:
        return apps.apply_for_voucher(s, CODE, firm_id=firm_id, amount_fen=amount,
                                      documents=list(docs), by=by, on=on)


def _refusal(sessions, **kw) -> PolicyRefused:
    with pytest.raises(PolicyRefused) as caught:
        _apply(sessions, **kw)
    return caught.value


def test_apply_approve_issues_the_voucher_in_the_same_step(sessions, programme):
    applied = _apply(sessions)
    assert (applied.status, applied.window, applied.amount_fen) == ("applied", "2026-2",
                                                                   10_000_000)
    assert [d.kind for d in applied.documents] == ["business_licence", "plan"]
    assert applied.decision["allowed"] is True
    assert any(t["rule"] == "application.documents" for t in applied.decision["trace"])
    with transaction(sessions) as s:
        approved = apps.approve_application(s, applied.id, by=APPROVER, reason="材料齐全")
    assert approved.status == "approved" and approved.voucher_serial == "V000001"
    with transaction(sessions) as s:
        voucher = get_voucher(s, approved.voucher_id, firm_id=1)
        view, data = apps.read_document(s, applied.id, "plan", firm_id=1)
    assert (voucher.amount_fen, voucher.available_fen) == (10_000_000, 10_000_000)
    assert data == PDF and view.content_type == "application/pdf"


@pytest.mark.parametrize(
    ("kw", "code", "rule"),
    [
        ({"on": dt.date(2026, 5, 15)}, "outside_window", "application.window"),
        ({"amount": 20_000_000}, "amount_not_allowed", "application.amount"),
        ({"firm_id": 5}, "not_eligible", "application.certification"),
        ({"docs": DOCS[:1]}, "documents_missing", "application.documents"),
    ],
)
def test_refusals_carry_code_and_trace(sessions, programme, kw, code, rule):
    error = _refusal(sessions, **kw)
    assert error.code == code
    failing = [t["rule"] for t in error.detail["decision"]["trace"] if t["outcome"] == "fail"]
    assert rule in failing


def test_blacklisted_firm_and_second_application_in_a_window(sessions, programme):
    with transaction(sessions) as s:
        s.get(Firm, 3).status = "blacklisted"
    assert _refusal(sessions, firm_id=3).code == "not_eligible"
    first = _apply(sessions)
    assert _refusal(sessions).code == "already_applied"
    with transaction(sessions) as s:
        apps.reject_application(s, first.id, by=APPROVER, reason="营业执照不清晰")
    # A rejected application frees the window: the firm may apply again.
    again = _apply(sessions, amount=5_000_000)
    assert again.status == "applied"


def test_refusal_is_kept_with_its_trace(sessions, programme):
    error = _refusal(sessions, amount=20_000_000)
    with transaction(sessions) as s:
        kept = apps.record_refusal(s, CODE, firm_id=1, amount_fen=20_000_000,
                                   decision=error.detail["decision"], by=FIRM, on=ON)
    assert (kept.status, kept.code, kept.window) == ("refused", "amount_not_allowed", "2026-2")
    with transaction(sessions) as s:
        page = apps.list_applications(s, limit=10, firm_id=1)
        with pytest.raises(Conflict):
            apps.approve_application(s, kept.id, by=APPROVER)
    assert [a.status for a in page.items] == ["refused"]


def test_review_rules(sessions, programme):
    applied = _apply(sessions)
    with transaction(sessions) as s, pytest.raises(PermissionDenied) as caught:
        apps.approve_application(s, applied.id, by=FIRM)
    assert caught.value.code == "self_approval"
    with transaction(sessions) as s, pytest.raises(InvalidInput):
        apps.reject_application(s, applied.id, by=APPROVER, reason="  ")
    with transaction(sessions) as s:
        rejected = apps.reject_application(s, applied.id, by=APPROVER, reason="计划书不完整")
    assert (rejected.status, rejected.reason, rejected.voucher_id) == ("rejected",
                                                                       "计划书不完整", None)
    with transaction(sessions) as s, pytest.raises(Conflict) as caught:
        apps.approve_application(s, applied.id, by=APPROVER)
    assert caught.value.code == "application_rejected"
    with transaction(sessions) as s, pytest.raises(NotFound):
        apps.get_application(s, applied.id, firm_id=2)


def test_a_refused_issue_at_approval_leaves_the_application_applied(sessions, programme):
    applied = _apply(sessions)
    with transaction(sessions) as s:
        s.get(Firm, 1).status = "suspended"
    with transaction(sessions) as s, pytest.raises(PolicyRefused) as caught:
        apps.approve_application(s, applied.id, by=APPROVER)
    assert caught.value.code == "not_eligible"
    with transaction(sessions) as s:
        assert apps.get_application(s, applied.id).status == "applied"
        assert s.scalar(select(Voucher.id)) is None


def test_bad_documents_and_amounts(sessions, programme):
    with pytest.raises(InvalidInput) as caught:
        _apply(sessions, docs=[Upload("business_licence", "x.txt", b"hello"), DOCS[1]])
    assert caught.value.code == "evidence_type"
    with pytest.raises(InvalidInput):
        _apply(sessions, docs=[Upload("tax_return", "t.pdf", PDF)])
    with pytest.raises(InvalidInput):
        _apply(sessions, amount=0)
    with pytest.raises(InvalidInput):
        _apply(sessions, docs=[DOCS[0], DOCS[0], DOCS[1]])


def test_an_application_decision_cannot_be_edited(sessions, programme):
    applied = _apply(sessions)
    with pytest.raises(Exception, match=r"refused|append-only"), transaction(sessions) as s:
        s.execute(text("UPDATE voucher_applications SET amount_fen = 1 WHERE id = :i"),
                  {"i": applied.id})


def test_racing_approvals_issue_one_voucher(sessions, programme):
    applied = _apply(sessions)
    approvers = [By(10 + n, f"appr{n}") for n in range(6)]
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []

    def approve(by: By) -> None:
        barrier.wait()
        try:
            with transaction(sessions) as s:
                apps.approve_application(s, applied.id, by=by)
            outcomes.append("approved")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=approve, args=(b,)) for b in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["application_approved"] * 5 + ["approved"]
    with transaction(sessions) as s:
        assert len(s.scalars(select(Voucher.id)).all()) == 1


def test_racing_applications_in_one_window_keep_one(sessions, programme):
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def apply() -> None:
        barrier.wait()
        try:
            _apply(sessions)
            outcomes.append("applied")
        except PolicyRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_applied"] * 3 + ["applied"]
