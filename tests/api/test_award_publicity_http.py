"""公示 of awards over HTTP: publish, object, decide, pay after the period; the public page and
its PDF without signing in. The day the services take as today is set by the test."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from ledger.awards import publicity
from ledger.core.acting import today
from rules import load_policies, publicity_end

API = "/api/v1"
A = "LN-AWARD-2026"
RECENT = (today() - dt.timedelta(days=30)).isoformat()


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code, response.json()
    return response.json()


@pytest.fixture
def clock(monkeypatch):
    """Today for the 公示 services (and the payment batches that ask them)."""
    day = {"today": today()}
    monkeypatch.setattr(publicity, "today", lambda: day["today"])
    return day


def _approved(client, world, firm_id: int) -> dict:
    award = _ok(client.post(f"{API}/awards", headers=world.auth("operator"), json={
        "program": A, "firm_id": firm_id, "tier": "gazelle", "level": "provincial",
        "document_no": f"辽科发〔2026〕P{firm_id}号", "certified_on": RECENT}), 201)
    return _ok(client.post(f"{API}/awards/{award['id']}/approve",
                           headers=world.auth("approver"), json={}))


def test_publicity_over_http(client, world, clock):
    op, appr, aud = world.auth("operator"), world.auth("approver"), world.auth("auditor")
    for path, body in (("/programs", {"code": A, "name": "奖励", "fiscal_year": 2026,
                                      "policy": "LN-AWARD"}),
                       (f"/programs/{A}/appropriations", {"amount": "2000000"})):
        _ok(client.post(f"{API}{path}", headers=op, json=body), 201)
    kept, objected = _approved(client, world, 1), _approved(client, world, 2)
    # Only the operator publishes; the period follows the policy (5 working days).
    _problem(client.post(f"{API}/award-publications", headers=appr, json={"program": A}), 403,
             "permission_denied")
    pub = _ok(client.post(f"{API}/award-publications", headers=op, json={"program": A}), 201)
    rule = load_policies().in_force("LN-AWARD", clock["today"]).model.publicity
    assert (pub["starts_on"], pub["ends_on"], pub["days"], pub["working_days"]) == (
        clock["today"].isoformat(), publicity_end(rule, clock["today"]).isoformat(), 5, True)
    assert len(pub["head_hash"]) == 64 and pub["amount"] == "400000.00"
    assert [(i["award_id"], i["tier"], i["amount"]) for i in pub["items"]] == [
        (kept["id"], "gazelle", "200000.00"), (objected["id"], "gazelle", "200000.00")]
    assert set(pub["items"][0]) == {"award_id", "firm_name", "credit_code", "tier", "amount",
                                    "status"}
    _problem(client.post(f"{API}/award-publications", headers=op, json={"program": A}), 409,
             "nothing_to_publish")
    _problem(client.post(f"{API}/award-publications", headers=op,
                         json={"program": A, "award_ids": [kept["id"]]}), 409,
             "already_published")
    # Not payable during the period.
    _problem(client.post(f"{API}/payments", headers=op,
                         json={"program": A, "award_ids": [kept["id"]]}), 409,
             "award_in_publicity")
    # An objection, recorded by the operator, upheld by an approver: the award is rejected.
    objection = _ok(client.post(f"{API}/award-publications/{pub['id']}/objections", headers=op,
                                json={"award_id": objected["id"], "raised_by": "某某科技有限公司",
                                      "text": "该企业认定材料存疑"}), 201)
    assert (objection["status"], objection["raised_on"]) == (
        "pending", clock["today"].isoformat())
    _problem(client.post(f"{API}/award-objections/{objection['id']}/decide", headers=op,
                         json={"decision": "upheld", "reason": "x"}), 403, "permission_denied")
    decided = _ok(client.post(f"{API}/award-objections/{objection['id']}/decide", headers=appr,
                              json={"decision": "upheld", "reason": "经核实认定材料不实"}))
    assert decided["status"] == "upheld" and decided["reversal_entry_id"] is not None
    assert _ok(client.get(f"{API}/awards/{objected['id']}", headers=aud))["status"] == "rejected"
    _problem(client.post(f"{API}/award-objections/{objection['id']}/decide", headers=appr,
                         json={"decision": "dismissed", "reason": "再议"}), 409,
             "objection_already_decided")
    _problem(client.post(f"{API}/award-publications/{pub['id']}/objections", headers=op,
                         json={"award_id": objected["id"], "raised_by": "某人", "text": "又一"}),
             409, "award_rejected")
    # After the period: no more objections, and the kept award is paid.
    clock["today"] = dt.date.fromisoformat(pub["ends_on"]) + dt.timedelta(days=1)
    _problem(client.post(f"{API}/award-publications/{pub['id']}/objections", headers=op,
                         json={"award_id": kept["id"], "raised_by": "某人", "text": "迟到"}),
             409, "outside_publicity_period")
    batch = _ok(client.post(f"{API}/payments", headers=op, json={"program": A}), 201)
    assert [x["award_id"] for x in batch["lines"]] == [kept["id"]]
    # Bureau roles read the lists with their objections; firms do not.
    listed = _ok(client.get(f"{API}/award-publications", headers=aud, params={"program": A}))
    assert listed["total"] == 1 and listed["items"][0]["objections"][0]["status"] == "upheld"
    _ok(client.get(f"{API}/award-publications/{pub['id']}", headers=appr))
    _problem(client.get(f"{API}/award-publications", headers=world.auth("firm")), 403,
             "permission_denied")
    _problem(client.get(f"{API}/award-publications/99", headers=aud), 404, "not_found")
    # The public page and its PDF, without signing in: the list, never who objected.
    client.cookies.clear()
    page = client.get(f"/public/awards/publications/{pub['id']}")
    assert page.status_code == 200, page.text
    for item in pub["items"]:
        assert item["firm_name"] in page.text and item["credit_code"] in page.text
    assert pub["head_hash"] in page.text and pub["ends_on"] in page.text
    assert "某某科技有限公司" not in page.text and "认定材料存疑" not in page.text
    pdf = client.get(f"/public/awards/publications/{pub['id']}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert pub["items"][0]["credit_code"] in text and pub["starts_on"] in text
    assert "某某科技有限公司" not in text
    assert client.get("/public/awards/publications/99").status_code == 404
