"""The approver's pages: the queues, a claim's evidence and trace, approve and reject through
the services and the operation log, and maker-checker refusals shown with their code."""

from __future__ import annotations

from console_helpers import PASSWORDS, PDF, csrf_of, sign_in
from review_helpers import applied_award, filed_claim, user_by

from ledger.awards.award import award_account, get_award
from ledger.core.accounts import balance
from ledger.core.db import transaction
from ledger.core.oplog import list_operations
from ledger.vouchers.claims import get_claim


def _post(client, url: str, reason: str = ""):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(url.rsplit("/", 1)[0]).text)
    return client.post(url, data={"csrf_token": token, "reason": reason},
                       follow_redirects=False)


def test_approve_a_claim_from_the_queue(client, sessions, world):
    claim = filed_claim(sessions, world.voucher)
    sign_in(client, "demo-approver")
    queue = client.get("/approver")
    assert queue.status_code == 200
    assert f'href="/approver/claims/{claim.id}"' in queue.text and "5,000.00" in queue.text
    page = client.get(f"/approver/claims/{claim.id}").text
    assert f'href="/approver/claims/{claim.id}/evidence/invoice"' in page
    assert "booking.per_order_cap" in page  # the booking's decision trace
    evidence = client.get(f"/approver/claims/{claim.id}/evidence/invoice")
    assert evidence.status_code == 200 and evidence.content == PDF + b"invoice"
    assert client.get(f"/approver/claims/{claim.id}/evidence/passport").status_code == 404
    done = _post(client, f"/approver/claims/{claim.id}/approve", "材料齐全")
    assert done.status_code == 303 and done.headers["location"] == f"/approver/claims/{claim.id}"
    with transaction(sessions) as s:
        after = get_claim(s, claim.id)
        logged = list_operations(s, limit=5, object_type="claim", object_id=str(claim.id))
    assert (after.status, after.decided_by, after.reason) == (
        "approved", "user:2:demo-approver", "材料齐全")
    newest = logged.items[0]
    assert (newest.action, newest.actor, newest.channel, newest.outcome) == (
        "claims.approve", "user:2:demo-approver", "console", "done")
    # Decided: gone from the default queue, still listed under its status.
    assert f"/approver/claims/{claim.id}\"" not in client.get("/approver").text
    assert f"/approver/claims/{claim.id}\"" in client.get("/approver?status=approved").text
    again = _post(client, f"/approver/claims/{claim.id}/approve")
    assert again.status_code == 409 and 'data-code="claim_approved"' in again.text


def test_a_rejection_needs_a_reason_shown_by_its_field(client, sessions, world):
    claim = filed_claim(sessions, world.voucher)
    sign_in(client, "demo-approver")
    refused = _post(client, f"/approver/claims/{claim.id}/reject", "")
    assert refused.status_code == 422 and 'data-code="invalid_input"' in refused.text
    assert 'class="field has-error">\n  <label for="f-reason">' in refused.text
    # What is wrong, in words (the code alone says only that the value was refused).
    assert "请说明理由（1 至 500 字）。" in refused.text
    # The API says the same to a caller asking for Chinese; the code stays.
    token = client.post("/api/v1/auth/token", data={
        "username": "demo-approver", "password": PASSWORDS["demo-approver"]}).json()
    api = client.post(f"/api/v1/claims/{claim.id}/reject", json={"reason": " "},
                      headers={"Authorization": f"Bearer {token['access_token']}",
                               "Accept-Language": "zh-CN"})
    assert (api.status_code, api.json()["code"]) == (422, "invalid_input")
    assert api.json()["detail"] == "请说明理由（1 至 500 字）。"
    assert _post(client, f"/approver/claims/{claim.id}/reject", "发票不符").status_code == 303
    with transaction(sessions) as s:
        assert get_claim(s, claim.id).status == "rejected"


def test_self_approval_is_refused_with_its_code(client, sessions, world):
    approver = user_by(sessions, "demo-approver")
    claim = filed_claim(sessions, world.voucher, filed_by=approver)
    award = applied_award(sessions, recorded_by=approver)
    sign_in(client, "demo-approver")
    for url in (f"/approver/claims/{claim.id}/approve", f"/approver/awards/{award.id}/approve",
                f"/approver/awards/{award.id}/reject"):
        refused = _post(client, url, "自审")
        assert refused.status_code == 403, url
        assert 'data-code="self_approval"' in refused.text and "<code>self_approval</code>" \
            in refused.text
    with transaction(sessions) as s:
        assert get_claim(s, claim.id).status == "filed"
        assert get_award(s, award.id).status == "applied"
        logged = list_operations(s, limit=10, outcome="refused", actor="demo-approver")
    assert {o.code for o in logged.items} == {"self_approval"} and logged.total == 3


def test_approve_an_award_and_reject_another(client, sessions, world):
    award = applied_award(sessions)
    other = applied_award(sessions, document_no="辽科发〔2022〕2号", tier="unicorn")
    sign_in(client, "demo-approver")
    queue = client.get("/approver/awards").text
    assert f'href="/approver/awards/{award.id}"' in queue and "瞪羚" in queue
    page = client.get(f"/approver/awards/{award.id}").text
    assert 'id="decision"' in page and "award." in page  # the policy's trace
    assert _post(client, f"/approver/awards/{award.id}/approve").status_code == 303
    assert _post(client, f"/approver/awards/{other.id}/reject", "证书撤销").status_code == 303
    with transaction(sessions) as s:
        approved = get_award(s, award.id)
        assert approved.status == "approved" and get_award(s, other.id).status == "rejected"
        assert balance(s, award_account(approved.programme, 1)).debit_balance == \
            approved.amount_fen
    assert "已批准" in client.get(f"/approver/awards/{award.id}").text


def test_only_approvers_open_the_queue(client, world):
    sign_in(client, "demo-firm")
    assert client.get("/approver").status_code == 403
