"""The award programme over HTTP, each step with the token of the role that does it.

Demo firms: firm 1 (the `firm` user) and firm 2 (`firm2`) have bank accounts, firm 3 none.
"""

from __future__ import annotations

import datetime as dt
import io

from api_helpers import SETTINGS
from openpyxl import load_workbook
from sqlalchemy import update

from api.auth import issue_token
from api.downloads import XLSX
from ledger.core.acting import today
from ledger.core.db import transaction
from ledger.registry.users import User, get_user
from tests.awards.support import publish_ended

API = "/api/v1"
A = "LN-AWARD-2026"
# Certified a month ago: new enough for the policy's 365-day window whatever today is.
RECENT = (today() - dt.timedelta(days=30)).isoformat()
OLD = (today() - dt.timedelta(days=400)).isoformat()

PAID = {"reference": "CMB0001", "value_date": "2026-06-01"}


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


def _programme(client, world, amount="2000000.00"):
    op = world.auth("operator")
    created = _ok(client.post(f"{API}/programs", headers=op, json={
        "code": A, "name": "辽宁省瞪羚独角兽专精特新奖励2026", "fiscal_year": 2026,
        "policy": "LN-AWARD"}), 201)
    assert created["policy"] == "LN-AWARD"
    _ok(client.post(f"{API}/programs/{A}/appropriations", headers=op,
                    json={"amount": amount}), 201)


def _apply(client, headers, **body):
    fields = {"program": A, "tier": "gazelle", "level": "provincial",
              "document_no": f"辽科发〔2026〕{len(body)}-{body.get('firm_id', 0)}号",
              "certified_on": RECENT, **body}
    return client.post(f"{API}/awards", headers=headers, json=fields)


def _budget(client, world):
    b = _ok(client.get(f"{API}/programs/{A}/budget", headers=world.auth("auditor")))
    assert b["balanced"] is True, b
    return b


def test_award_flow_with_each_role(client, world, sessions):
    op, appr, aud = world.auth("operator"), world.auth("approver"), world.auth("auditor")
    firm, firm2 = world.auth("firm"), world.auth("firm2")
    _programme(client, world)
    # A firm applies for itself: the decision and its trace come back.
    mine = _ok(_apply(client, firm, tier="unicorn", document_no="辽科发〔2026〕8号"), 201)
    assert (mine["firm_id"], mine["amount"], mine["status"]) == (1, "500000.00", "applied")
    assert mine["recorded_by"].endswith(":demo-firm") and mine["decision"]["allowed"] is True
    assert {line["rule"] for line in mine["decision"]["trace"]} >= {
        "award.tier", "award.new_certification", "award.once_per_tier", "award.budget"}
    # Not for another firm (404, as if it did not exist), nor on a paper date.
    _problem(_apply(client, firm, firm_id=2), 404, "not_found")
    _problem(_apply(client, firm, applied_on=RECENT), 403, "permission_denied")
    # A refusal is 422 with the policy's code and trace.
    old = _problem(_apply(client, firm, tier="specialised", certified_on=OLD), 422,
                   "certification_not_new")
    rule = next(x for x in old["decision"]["trace"] if x["rule"] == "award.new_certification")
    assert rule["figures"]["age_days"] == 400
    # The operator records applications for firm 2 and firm 3 (no bank account).
    theirs = _ok(_apply(client, op, firm_id=2), 201)
    unbanked = _ok(_apply(client, op, firm_id=3), 201)
    _problem(_apply(client, op), 422, "invalid_input")  # which firm?
    _problem(_apply(client, op, firm_id=2), 409, "already_applied")
    assert _budget(client, world)["promised"] == "900000.00"
    # The approver approves; the operator may not (role); the recorder never (maker-checker).
    _problem(client.post(f"{API}/awards/{mine['id']}/approve", headers=op, json={}), 403,
             "permission_denied")
    approved = _ok(client.post(f"{API}/awards/{mine['id']}/approve", headers=appr, json={}))
    assert approved["status"] == "approved" and approved["decided_by"].endswith(":demo-approver")
    for award in (theirs, unbanked):
        _ok(client.post(f"{API}/awards/{award['id']}/approve", headers=appr, json={}))
    _problem(client.post(f"{API}/awards/{mine['id']}/approve", headers=appr, json={}), 409,
             "award_approved")
    b = _budget(client, world)
    assert (b["free"], b["awarded"], b["promised"]) == ("1100000.00", "900000.00", "0.00")
    # Unpublished (公示), an approved award is neither listed as payable nor batched.
    unpublished = _problem(client.post(f"{API}/payments", headers=op, json={
        "program": A, "award_ids": [mine["id"]]}), 409, "award_not_published")
    assert unpublished["award_id"] == mine["id"]
    payable = {"program": A, "kind": "award"}
    assert _ok(client.get(f"{API}/payments/payable", headers=op, params=payable))["total"] == 0
    with transaction(sessions) as s:
        publish_ended(s, A)
    assert _ok(client.get(f"{API}/payments/payable", headers=op, params=payable))["total"] == 3
    # Payment: a claim-free batch of firm 1's award; firm 3 has no bank account.
    _problem(client.post(f"{API}/payments", headers=op, json={
        "program": A, "award_ids": [unbanked["id"]]}), 409, "bank_account_missing")
    batch = _ok(client.post(f"{API}/payments", headers=op, json={
        "program": A, "award_ids": [mine["id"]]}), 201)
    assert [(x["line"], x["claim_id"], x["award_id"], x["firm_id"], x["amount"], x["status"])
            for x in batch["lines"]] == [(1, None, mine["id"], 1, "500000.00", "held")]
    firm_one = _ok(client.get(f"{API}/firms/1", headers=op))
    assert [(x["payee"], x["payee_credit_code"]) for x in batch["lines"]] == [
        (firm_one["name"], firm_one["credit_code"])]
    assert _ok(client.get(f"{API}/awards/{mine['id']}", headers=firm))["status"] == "in_payment"
    _problem(client.post(f"{API}/payments", headers=op, json={
        "program": A, "award_ids": [mine["id"]]}), 409, "already_in_batch")
    _problem(client.post(f"{API}/awards/{mine['id']}/clawback", headers=op,
                         json={"reason": "认定撤销"}), 409, "award_in_payment")
    assert _budget(client, world)["in_payment"] == "500000.00"
    _problem(client.post(f"{API}/payments/{batch['id']}/release", headers=op), 403,
             "permission_denied")
    _ok(client.post(f"{API}/payments/{batch['id']}/release", headers=appr))
    expected = ["", str(mine["id"]), "91210100MA0Y7K3N5H", "沈阳新松智联机器人科技有限公司",
                "中国工商银行沈阳浑南支行", "3301020109200154321", "500000.00",
                f"{A} 奖励 {mine['id']}"]
    bank = client.get(f"{API}/payments/{batch['id']}/bank-file.csv", headers=op)
    # UTF-8 with a byte-order mark, so Excel on a Chinese Windows desktop reads the names.
    assert bank.headers["content-type"] == "text/csv; charset=utf-8"
    assert bank.content.startswith(b"\xef\xbb\xbf")
    assert bank.content[3:].decode("utf-8").splitlines()[1].split(",")[2:] == expected
    gb = client.get(f"{API}/payments/{batch['id']}/bank-file.csv?encoding=gb18030", headers=op)
    assert gb.headers["content-type"] == "text/csv; charset=gb18030"
    assert gb.content.decode("gb18030").splitlines()[1].split(",")[2:] == expected
    assert gb.content.decode("gb18030") == bank.content[3:].decode("utf-8")
    body = _problem(client.get(f"{API}/payments/{batch['id']}/bank-file.csv?encoding=latin-1",
                               headers=op), 422, "invalid_input")
    assert body["field"] == "encoding"
    xlsx = client.get(f"{API}/payments/{batch['id']}/bank-file.xlsx", headers=op)
    assert xlsx.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header, line = list(sheet.iter_rows(values_only=True))
    assert header[-2:] == ("amount_yuan", "memo")
    # The account keeps its digits as text; the amount is a figure Excel can sum.
    assert line[6:] == ("中国工商银行沈阳浑南支行", "3301020109200154321", 500000, expected[-1])
    paid = _ok(client.post(f"{API}/payments/{batch['id']}/paid", headers=op, json=PAID))
    assert paid["status"] == "paid"
    _problem(client.post(f"{API}/payments/{batch['id']}/paid", headers=op, json=PAID), 409,
             "already_paid")
    _problem(client.post(f"{API}/payments", headers=op, json={
        "program": A, "award_ids": [mine["id"]]}), 409, "already_paid")
    done = _ok(client.get(f"{API}/awards/{mine['id']}", headers=firm))
    assert (done["status"], done["batch_id"]) == ("paid", batch["id"])
    _problem(client.get(f"{API}/awards/{mine['id']}", headers=firm2), 404, "not_found")
    # The journal and balances show P:paid ← P:award:1.
    entries = _ok(client.get(f"{API}/journal", headers=aud,
                             params={"program": A, "limit": 100}))["items"]
    [pay] = [e for e in entries if e["flow"] == "payment.paid"]
    assert pay["entry_id"] == done["pay_entry_id"]
    assert [(t["debit"], t["credit"], t["amount"]) for t in pay["transfers"]] == [
        (f"{A}:paid", f"{A}:award:1", "500000.00")]
    for code, expected in ((f"{A}:paid", "500000.00"), (f"{A}:award:1", "0.00"),
                           (f"{A}:award:2", "200000.00")):
        assert _ok(client.get(f"{API}/accounts/{code}/balance", headers=aud))["balance"] == \
            expected
    b = _budget(client, world)
    assert (b["appropriated"], b["free"], b["awarded"], b["in_payment"], b["paid"]) == (
        "2000000.00", "1100000.00", "400000.00", "0.00", "500000.00")
    # Clawback once (the certification was revoked): the paid award leaves a receivable.
    back = _ok(client.post(f"{API}/awards/{mine['id']}/clawback", headers=op,
                           json={"reason": "认定撤销"}))
    assert (back["status"], back["clawback_reason"]) == ("clawed_back", "认定撤销")
    _problem(client.post(f"{API}/awards/{mine['id']}/clawback", headers=op,
                         json={"reason": "again"}), 409, "already_clawed_back")
    # The operator who recorded firm 2's application may not claw it back.
    _problem(client.post(f"{API}/awards/{theirs['id']}/clawback", headers=op,
                         json={"reason": "x"}), 403, "self_approval")
    b = _budget(client, world)
    assert (b["free"], b["awarded"], b["paid"], b["receivable"]) == (
        "1600000.00", "400000.00", "500000.00", "500000.00")
    assert _ok(client.get(f"{API}/ledger/verify", headers=aud))["ok"] is True


def test_self_approval_is_refused_over_http(client, world, sessions):
    _programme(client, world)
    award = _ok(_apply(client, world.auth("operator"), firm_id=2), 201)
    # The operator who recorded it later becomes an approver: still not their own award.
    operator_id = world.users["operator"].id
    with transaction(sessions) as s:
        s.execute(update(User).where(User.id == operator_id).values(role="approver"))
        promoted = get_user(s, operator_id)
    token = {"Authorization": f"Bearer {issue_token(SETTINGS, promoted)}"}
    for step, body in (("approve", {}), ("reject", {"reason": "x"})):
        refused = _problem(client.post(f"{API}/awards/{award['id']}/{step}", headers=token,
                                       json=body), 403, "self_approval")
        assert "maker-checker" in refused["detail"]
    rejected = _ok(client.post(f"{API}/awards/{award['id']}/reject",
                               headers=world.auth("approver"), json={"reason": "文号不符"}))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "文号不符")
    _problem(client.post(f"{API}/awards/{award['id']}/reject", headers=world.auth("approver"),
                         json={"reason": "x"}), 409, "award_rejected")
    log = _ok(client.get(f"{API}/operations", headers=world.auth("auditor"),
                         params={"object_type": "award", "limit": 100}))["items"]
    assert {(o["action"], o["outcome"], o["code"]) for o in log} >= {
        ("awards.apply", "done", None), ("awards.approve", "refused", "self_approval"),
        ("awards.reject", "done", None), ("awards.reject", "refused", "award_rejected")}


def test_lists_filters_totals_and_what_a_firm_sees(client, world):
    op, appr = world.auth("operator"), world.auth("approver")
    firm, firm2 = world.auth("firm"), world.auth("firm2")
    _programme(client, world)
    ids = [_ok(_apply(client, firm, tier="unicorn"), 201)["id"],
           _ok(_apply(client, op, firm_id=2), 201)["id"],
           _ok(_apply(client, op, firm_id=3, tier="little_giant", level="national",
                      requested="600000"), 201)["id"]]
    _ok(client.post(f"{API}/awards/{ids[1]}/approve", headers=appr, json={}))

    def listed(headers, **params):
        page = _ok(client.get(f"{API}/awards", headers=headers, params=params))
        return page["total"], [a["id"] for a in page["items"]]

    assert listed(op) == (3, ids[::-1])
    assert listed(op, limit=1, offset=1) == (3, [ids[1]])
    assert listed(op, tier="gazelle") == (1, [ids[1]])
    assert listed(op, status="approved") == (1, [ids[1]])
    assert listed(op, region="大连") == (1, [ids[1]])  # firm 2 is in 大连市
    assert listed(op, region="沈阳市", program=A) == (1, [ids[0]])
    assert listed(op, year=int(RECENT[:4])) == (3, ids[::-1])
    assert listed(op, year=2001) == (0, [])
    # A firm sees its own awards only; another firm's is 404.
    assert listed(firm) == (1, [ids[0]])
    assert listed(firm2, status="approved") == (1, [ids[1]])
    _problem(client.get(f"{API}/awards/{ids[1]}", headers=firm), 404, "not_found")
    _problem(client.get(f"{API}/awards/{ids[0]}", headers=world.auth("provider")), 404,
             "not_found")
    _problem(client.get(f"{API}/awards", headers=world.auth("provider")), 403,
             "permission_denied")
    totals = _ok(client.get(f"{API}/awards/totals", headers=op, params={"program": A}))
    assert totals == {"tiers": [
        {"tier": "gazelle", "count": 1, "amount": "200000.00"},
        {"tier": "unicorn", "count": 1, "amount": "500000.00"},
        {"tier": "little_giant", "count": 1, "amount": "600000.00"}],
        "count": 3, "amount": "1300000.00"}
    assert _ok(client.get(f"{API}/awards/totals", headers=op, params={"status": "approved"})
               )["amount"] == "200000.00"
    assert _ok(client.get(f"{API}/awards/totals", headers=firm))["tiers"] == [
        {"tier": "unicorn", "count": 1, "amount": "500000.00"}]
    _problem(client.get(f"{API}/awards", headers=op, params={"program": "LN-CXQ-X"}), 404,
             "not_found")


def test_applying_is_idempotent(client, world):
    _programme(client, world)
    headers = world.auth("firm") | {"Idempotency-Key": "apply-unicorn-1"}
    first = _apply(client, headers, tier="unicorn")
    again = _apply(client, headers, tier="unicorn")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = _apply(client, headers, tier="gazelle")
    _problem(other, 409, "idempotency_conflict")
    assert _ok(client.get(f"{API}/awards", headers=world.auth("firm")))["total"] == 1
