"""Cancelling a payment batch over HTTP: operator or approver, a reason, problem+json codes."""

from __future__ import annotations

from tests.api.test_vouchers_http import API, P, _book, _files, _ok, _programme, _voucher


def _approved_claim(client, world) -> int:
    prov, appr = world.auth("provider"), world.auth("approver")
    _programme(client, world)
    r = _ok(_book(client, world, _voucher(client, world)["serial"]), 201)
    _ok(client.post(f"{API}/redemptions/{r['id']}/complete", headers=prov,
                    json={"amount": "4000.00"}))
    _ok(client.post(f"{API}/redemptions/{r['id']}/confirm", headers=world.auth("firm")))
    claim = _ok(client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                            files=_files("contract", "invoice", "service_report")), 201)
    _ok(client.post(f"{API}/claims/{claim['id']}/approve", headers=appr, json={}))
    return claim["id"]


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


def test_a_batch_is_cancelled_before_release_and_its_claim_batched_again(client, world):
    op, appr = world.auth("operator"), world.auth("approver")
    claim_id = _approved_claim(client, world)
    batch = _ok(client.post(f"{API}/payments", headers=op, json={"program": P}), 201)
    url = f"{API}/payments/{batch['id']}"
    for who in ("firm", "provider", "auditor"):
        assert client.post(f"{url}/cancel", headers=world.auth(who),
                           json={"reason": "x"}).status_code == 403
    assert client.post(f"{url}/cancel", headers=op, json={"reason": ""}).status_code == 422
    assert client.post(f"{url}/cancel", headers=op, json={}).status_code == 422
    _problem(client.post(f"{url}/cancel", headers=op, json={"reason": "  "}), 422,
             "validation_failed")
    _problem(client.post(f"{API}/payments/999/cancel", headers=op, json={"reason": "x"}),
             404, "not_found")
    done = _ok(client.post(f"{url}/cancel", headers=op, json={"reason": "选错了明细"}))
    assert (done["status"], done["cancel_reason"], done["lines"][0]["status"]) == (
        "cancelled", "选错了明细", "cancelled")
    assert done["cancelled_by"] and done["cancelled_at"]
    listed = _ok(client.get(f"{API}/payments?status=cancelled", headers=op))
    assert [b["id"] for b in listed["items"]] == [batch["id"]]
    _problem(client.get(f"{url}/bank-file.csv", headers=op), 409, "batch_cancelled")
    _problem(client.post(f"{url}/release", headers=appr), 409, "batch_cancelled")
    _problem(client.post(f"{url}/cancel", headers=appr, json={"reason": "x"}), 409,
             "batch_cancelled")
    payable = _ok(client.get(f"{API}/payments/payable?program={P}", headers=op))
    assert [p["id"] for p in payable["items"]] == [claim_id]
    again = _ok(client.post(f"{API}/payments", headers=op,
                            json={"program": P, "claim_ids": [claim_id]}), 201)
    _ok(client.post(f"{API}/payments/{again['id']}/release", headers=appr))
    _problem(client.post(f"{API}/payments/{again['id']}/cancel", headers=appr,
                         json={"reason": "不放行"}), 409, "already_released")
    rec = _ok(client.get(f"{url}/reconciliation", headers=op))
    assert (rec["status"], rec["agrees"]) == ("cancelled", True)
