"""The voucher programme over HTTP, each step with the token of the role that does it."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from ledger.core.db import transaction
from ledger.core.models import Transfer

API = "/api/v1"
P = "LN-CXQ-2026"
PDF = b"%PDF-1.7\n" + b"x" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"y" * 64

PAID = {"reference": "CMB0001", "value_date": "2026-06-01"}


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _programme(client, world, amount="1000000.00"):
    op = world.auth("operator")
    _ok(client.post(f"{API}/programs", headers=op, json={
        "code": P, "name": "辽宁省科技创新券2026", "fiscal_year": 2026, "policy": "LN-CXQ"}), 201)
    _ok(client.post(f"{API}/programs/{P}/appropriations", headers=op,
                    json={"amount": amount}), 201)


def _voucher(client, world, amount="50000.00", **extra):
    return _ok(client.post(f"{API}/vouchers", headers=world.auth("operator"),
                           json={"program": P, "firm_id": 1, "amount": amount, **extra}), 201)


def _grant(client, world, serial, who="provider"):
    """Firm 1 authorises the provider that `who` works for: the one-time code."""
    provider_id = {"provider": 1, "provider2": 2}[who]
    code = _ok(client.get(f"{API}/providers/{provider_id}",
                          headers=world.auth("operator")))["credit_code"]
    return _ok(client.post(f"{API}/authorisations", headers=world.auth("firm"), json={
        "voucher": serial, "provider_credit_code": code}), 201)["code"]


def _book(client, world, serial, cost="10000.00", category="testing", who="provider",
          key=None, code=None, description="材料检测"):
    headers = world.auth(who) | ({"Idempotency-Key": key} if key else {})
    return client.post(f"{API}/redemptions", headers=headers, json={
        "voucher": serial, "authorisation": code or _grant(client, world, serial, who),
        "category": category, "cost": cost, "description": description})


def _files(*kinds):
    data = {"contract": ("contract.pdf", PDF, "application/pdf"),
            "invoice": ("invoice.png", PNG, "image/png"),
            "service_report": ("report.pdf", PDF + b"r", "application/pdf")}
    return {k: data[k] for k in kinds}


def test_full_flow_with_each_role(client, world):
    op, appr, aud = world.auth("operator"), world.auth("approver"), world.auth("auditor")
    prov, firm = world.auth("provider"), world.auth("firm")
    _programme(client, world)
    _ok(client.post(f"{API}/firms/1/certifications", headers=op, json={
        "kind": "tech_sme", "year": 2025, "certified_on": "2025-03-01"}), 201)
    a = _voucher(client, world)
    old = _voucher(client, world, amount="10000", issued_on="2025-06-01")
    assert (a["serial"], old["expires_on"]) == ("V000001", "2025-12-31")
    # Book: testing pays 50% of the cost.
    code = _grant(client, world, a["serial"])
    r = _ok(_book(client, world, a["serial"], key="book-1", code=code), 201)
    assert (r["subsidy"], r["status"], r["voucher"]) == ("5000.00", "booked", "V000001")
    again = _book(client, world, a["serial"], key="book-1", code=code)
    assert again.status_code == 201 and again.json()["id"] == r["id"]
    _ok(client.post(f"{API}/redemptions/{r['id']}/complete", headers=prov,
                    json={"amount": "4000.00"}))
    _ok(client.post(f"{API}/redemptions/{r['id']}/confirm", headers=firm))
    claim = _ok(client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                            files=_files("contract", "invoice", "service_report")), 201)
    assert claim["amount"] == "4000.00" and len(claim["evidence"]) == 3
    got = client.get(f"{API}/claims/{claim['id']}/evidence/contract", headers=appr)
    assert got.content == PDF
    assert got.headers["x-content-sha256"] == claim["evidence"][0]["sha256"]
    _ok(client.post(f"{API}/claims/{claim['id']}/approve", headers=appr, json={}))
    batch = _ok(client.post(f"{API}/payments", headers=op, json={"program": P}), 201)
    early = client.get(f"{API}/payments/{batch['id']}/bank-file.csv", headers=op)
    assert (early.status_code, early.json()["code"]) == (409, "batch_not_released")
    _ok(client.post(f"{API}/payments/{batch['id']}/release", headers=appr))
    csv_text = client.get(f"{API}/payments/{batch['id']}/bank-file.csv", headers=op).text
    assert "4000.00" in csv_text and "06101101040001234" in csv_text
    paid = _ok(client.post(f"{API}/payments/{batch['id']}/paid", headers=op, json=PAID))
    assert paid["status"] == "paid" and paid["lines"][0]["reference"] == "CMB0001"
    second = client.post(f"{API}/payments/{batch['id']}/paid", headers=op, json=PAID)
    assert second.status_code == 409 and second.json()["code"] == "already_paid"
    expired = _ok(client.post(f"{API}/programs/{P}/expire", headers=op, json={}))
    assert (expired["vouchers_expired"], expired["returned"]) == (1, "10000.00")
    rerun = _ok(client.post(f"{API}/programs/{P}/expire", headers=op, json={}))
    assert rerun["returned"] == "0.00"
    budget = _ok(client.get(f"{API}/programs/{P}/budget", headers=aud))
    assert budget == {
        "programme": P, "appropriated": "1000000.00", "free": "950000.00",
        "issued": "60000.00", "unspent": "46000.00", "held": "0.00", "redeemed": "0.00",
        "in_payment": "0.00", "paid": "4000.00", "receivable": "0.00", "expired": "10000.00",
        "awarded": "0.00", "promised": "0.00", "balanced": True}
    voucher = _ok(client.get(f"{API}/vouchers/{a['id']}", headers=firm))
    assert (voucher["available"], voucher["spent"]) == ("46000.00", "4000.00")
    history = _ok(client.get(f"{API}/vouchers/{a['id']}/history", headers=firm))
    assert [h["flow"] for h in history] == [
        "voucher.issue", "redemption.book", "redemption.complete"]
    balance = _ok(client.get(f"{API}/accounts/{P}:paid/balance", headers=aud))
    assert balance["balance"] == "4000.00"
    journal = _ok(client.get(f"{API}/journal", headers=aud, params={"program": P, "limit": 100}))
    assert journal["total"] == 8
    assert {e["flow"] for e in journal["items"]} >= {"programme.appropriate", "payment.paid",
                                                     "voucher.expire"}
    # A filter naming no programme or account is 404, as the other lists answer it.
    for params in ({"program": "NOPE-2026"}, {"account": f"{P}:voucher:999999"}):
        missing = client.get(f"{API}/journal", headers=aud, params=params)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found", params
    assert _ok(client.get(f"{API}/ledger/verify", headers=aud))["ok"] is True


def test_refusals_over_http(client, world):
    op, appr, prov = world.auth("operator"), world.auth("approver"), world.auth("provider")
    _programme(client, world)
    over = client.post(f"{API}/vouchers", headers=op,
                       json={"program": P, "firm_id": 1, "amount": "150000.01"})
    assert over.status_code == 422
    body = over.json()
    assert body["code"] == "cap_exceeded"
    assert any(t["rule"] == "issue.per_voucher_cap" and t["outcome"] == "fail"
               for t in body["decision"]["trace"])
    a = _voucher(client, world)
    unregistered = _book(client, world, a["serial"], category="patent_application")
    assert (unregistered.status_code, unregistered.json()["code"]) == (
        422, "provider_not_registered")
    assert client.get(f"{API}/vouchers/{a['id']}", headers=world.auth("firm2")).status_code == 404
    assert client.get(f"{API}/vouchers/{a['id']}/history",
                      headers=world.auth("firm2")).status_code == 404
    r = _ok(_book(client, world, a["serial"]), 201)
    assert client.post(f"{API}/redemptions/{r['id']}/complete",
                       headers=world.auth("provider2"), json={}).status_code == 404
    _ok(client.post(f"{API}/redemptions/{r['id']}/complete", headers=prov, json={}))
    unconfirmed = client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                              files=_files("contract", "invoice", "service_report"))
    assert unconfirmed.json()["code"] == "not_confirmed"
    _ok(client.post(f"{API}/redemptions/{r['id']}/confirm", headers=world.auth("firm")))
    missing = client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                          files=_files("contract", "invoice"))
    assert (missing.status_code, missing.json()["code"]) == (422, "evidence_missing")
    empty = client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                        files={**_files("contract", "invoice"),
                               "service_report": ("r.pdf", b"", "application/pdf")})
    assert empty.json()["code"] == "evidence_empty"
    claim = _ok(client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                            files=_files("contract", "invoice", "service_report")), 201)
    assert client.post(f"{API}/claims/{claim['id']}/approve", headers=prov,
                       json={}).status_code == 403
    _ok(client.post(f"{API}/claims/{claim['id']}/approve", headers=appr, json={}))
    batch = _ok(client.post(f"{API}/payments", headers=op, json={"program": P}), 201)
    twice = client.post(f"{API}/payments", headers=op,
                        json={"program": P, "claim_ids": [claim["id"]]})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_in_batch")
    _ok(client.post(f"{API}/payments/{batch['id']}/release", headers=appr))
    _ok(client.post(f"{API}/payments/{batch['id']}/paid", headers=op, json=PAID))
    back = _ok(client.post(f"{API}/redemptions/{r['id']}/clawback", headers=appr,
                           json={"reason": "虚假服务"}))
    assert back["status"] == "clawed_back"
    again = client.post(f"{API}/redemptions/{r['id']}/clawback", headers=appr,
                        json={"reason": "虚假服务"})
    assert (again.status_code, again.json()["code"]) == (409, "already_clawed_back")
    budget = _ok(client.get(f"{API}/programs/{P}/budget", headers=appr))
    assert (budget["receivable"], budget["paid"], budget["balanced"]) == ("5000.00", "5000.00",
                                                                         True)


def test_32_concurrent_bookings_against_room_for_10(app, world, sessions):
    with TestClient(app) as client:
        _programme(client, world)
        voucher = _voucher(client, world, amount="10000.00")  # ten bookings of 1,000 yuan
        codes = [_grant(client, world, voucher["serial"]) for _ in range(32)]
    barrier = threading.Barrier(32)
    statuses: list[tuple[int, str | None]] = []

    def book(code: str) -> None:
        with TestClient(app) as c:
            barrier.wait()
            response = _book(c, world, voucher["serial"], cost="2000.00", code=code)
            statuses.append((response.status_code, response.json().get("code")))

    threads = [threading.Thread(target=book, args=(code,)) for code in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for s, _ in statuses if s == 201) == 10
    assert sorted({s for s in statuses if s[0] != 201}) == [(422, "insufficient_balance")]
    with transaction(sessions) as s:
        holds = s.query(Transfer).filter(Transfer.kind == "pending").count()
    assert holds == 10
    with TestClient(app) as client:
        v = _ok(client.get(f"{API}/vouchers/{voucher['id']}", headers=world.auth("operator")))
    assert (v["available"], v["held"]) == ("0.00", "10000.00")


def test_voucher_csv_batch_is_all_or_nothing(client, world):
    op = world.auth("operator")
    _programme(client, world)
    # The second code typed full-width with spaces, as a Chinese input method may give it.
    good = ("credit_code,amount\n91210100MA0Y7K3N5H,100\n"
            " ９１２１０２００ＭＡ０ＱＦ８ＬＸ２４ ,200.50\n")
    done = _ok(client.post(f"{API}/programs/{P}/vouchers:import", headers=op,
                           files={"file": ("v.csv", good.encode(), "text/csv")}))
    assert (done["issued"], len(done["voucher_ids"])) == (2, 2)
    assert done["serials"] == ["V000001", "V000002"]
    # Firm 5 holds no tech_sme certification: the policy refuses its row, so nothing is issued.
    bad = "credit_code,amount\n91210100MA0Y7K3N5H,100\n91210600MA0U9HJC13,100\n"
    refused = client.post(f"{API}/programs/{P}/vouchers:import", headers=op,
                          files={"file": ("v.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "import_rejected"
    assert [(e["line"], e["code"]) for e in problem["errors"]] == [(3, "not_eligible")]
    listed = _ok(client.get(f"{API}/vouchers", headers=op, params={"program": P}))
    assert listed["total"] == 2


def test_yuan_strings_may_be_grouped_or_full_width(client, world):
    _programme(client, world, amount="1,000,000.00")
    voucher = _voucher(client, world, amount="５０，０００.００")
    assert voucher["amount"] == "50000.00"
    booked = _ok(_book(client, world, voucher["serial"], cost="12,345.67"), 201)
    assert booked["cost"] == "12345.67"
    bad = _book(client, world, voucher["serial"], cost="12,34")
    assert bad.status_code == 422 and bad.json()["field"] == "cost"
    assert "misplaced thousands separator" in bad.json()["detail"]


def test_amounts_and_ids_in_json_are_json_integers_or_yuan_strings(client, world):
    # Booleans, floats (1.0, 5e2) and numeric strings for ids were taken as numbers: an
    # amount of true was one yuan, a firm id of true was firm 1. Nothing is written.
    _programme(client, world)
    op = world.auth("operator")
    before = client.get(f"{API}/vouchers", headers=op).json()["total"]
    for body, field in [
        ({"program": P, "firm_id": 1, "amount": True}, "amount"),
        ({"program": P, "firm_id": 1, "amount": 1.0}, "amount"),
        ({"program": P, "firm_id": 1, "amount": 5e2}, "amount"),
        ({"program": P, "firm_id": True, "amount": "10.00"}, "firm_id"),
        ({"program": P, "firm_id": "1", "amount": "10.00"}, "firm_id"),
        ({"program": P, "firm_id": 1.0, "amount": "10.00"}, "firm_id"),
    ]:
        response = client.post(f"{API}/vouchers", headers=op, json=body)
        assert response.status_code == 422, (body, response.text)
        assert {e["field"] for e in response.json()["errors"]} == {field}, body
    refused = client.post(f"{API}/programs/{P}/appropriations", headers=op,
                          json={"amount": True})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "amount"
    assert client.get(f"{API}/vouchers", headers=op).json()["total"] == before
    voucher = _voucher(client, world, amount=500)  # a JSON integer is whole yuan
    assert voucher["amount"] == "500.00"
    assert _book(client, world, voucher["serial"], cost=True).status_code == 422


def test_text_with_control_characters_is_refused_in_every_body(client, world):
    _programme(client, world)
    voucher = _voucher(client, world)
    refused = _book(client, world, voucher["serial"], description="a\u0000b")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "description"
    for text in ("a\u0007b", "x\u007fy", "c\u0085d", "e\u2028f"):
        response = client.post(f"{API}/programs/{P}/appropriations",
                               headers=world.auth("operator"),
                               json={"amount": "1.00", "memo": text})
        assert response.status_code == 422, text
        assert response.json()["errors"][0]["field"] == "memo"
    # Line breaks and tabs are text.
    booked = _ok(_book(client, world, voucher["serial"], description="第一行\n第二行\t完"), 201)
    assert booked["description"] == "第一行\n第二行\t完"
    # A password is compared, never shown: it is not refused for what it holds.
    wrong = client.post(f"{API}/me/password", headers=world.auth("firm"),
                        json={"current_password": "bad\u0007pw", "new_password": "x" * 12})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")


def test_a_problem_detail_speaks_the_callers_language_and_keeps_its_code(client, world):
    op = world.auth("operator")
    _programme(client, world)
    body = {"program": P, "firm_id": 1, "amount": "150000.01"}
    english = client.post(f"{API}/vouchers", headers=op, json=body).json()
    chinese = client.post(f"{API}/vouchers", headers=op | {"Accept-Language": "zh-CN,zh;q=0.9"},
                          json=body).json()
    asked_en = client.post(f"{API}/vouchers", headers=op | {"Accept-Language": "en-GB"},
                           json=body).json()
    french = client.post(f"{API}/vouchers", headers=op | {"Accept-Language": "fr"},
                         json=body).json()
    assert english["code"] == chinese["code"] == asked_en["code"] == "cap_exceeded"
    assert english["detail"] == asked_en["detail"] == french["detail"]
    assert "per_voucher_cap" in english["detail"]
    # The refusing rule as a sentence, its figures formatted, in Chinese.
    assert chinese["detail"] == "金额 150,000.01 元 超过单张创新券上限 150,000.00 元。"
    assert chinese["decision"] == english["decision"]
    bad = client.post(f"{API}/programs/{P}/appropriations",
                      headers=op | {"Accept-Language": "zh-CN"}, json={"amount": "12.345"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    assert bad.json()["field"] == "amount"
    assert bad.json()["detail"] == "金额请以元填写，如 12,345.67：不能为负，最多两位小数。"


def _approved_claim(client, world, cost="10000.00") -> dict:
    appr, prov = world.auth("approver"), world.auth("provider")
    v = _voucher(client, world)
    r = _ok(_book(client, world, v["serial"], cost=cost), 201)
    _ok(client.post(f"{API}/redemptions/{r['id']}/complete", headers=prov, json={}))
    _ok(client.post(f"{API}/redemptions/{r['id']}/confirm", headers=world.auth("firm")))
    claim = _ok(client.post(f"{API}/claims", headers=prov, data={"redemption_id": r["id"]},
                            files=_files("contract", "invoice", "service_report")), 201)
    _ok(client.post(f"{API}/claims/{claim['id']}/approve", headers=appr, json={}))
    return claim


def test_payable_lines_confirmation_file_return_and_reconciliation(client, world):
    op, appr, aud = world.auth("operator"), world.auth("approver"), world.auth("auditor")
    _programme(client, world)
    _ok(client.post(f"{API}/firms/1/certifications", headers=op, json={
        "kind": "tech_sme", "year": 2025, "certified_on": "2025-03-01"}), 201)
    first, second = _approved_claim(client, world), _approved_claim(client, world, "20000.00")
    payable = _ok(client.get(f"{API}/payments/payable", headers=aud,
                             params={"program": P, "min_amount": "6000"}))
    assert [(p["kind"], p["id"], p["amount"], p["has_bank_account"]) for p in payable["items"]] \
        == [("claim", second["id"], "10000.00", True)]
    # The bounds are read as any amount a person writes: grouped, full-width, zero.
    for low, high in (("6,000.00", "10,000"), ("６０００", "１００００.００")):
        grouped = _ok(client.get(f"{API}/payments/payable", headers=aud, params={
            "program": P, "min_amount": low, "max_amount": high}))
        assert [p["id"] for p in grouped["items"]] == [second["id"]]
    assert _ok(client.get(f"{API}/payments/payable", headers=aud,
                          params={"program": P, "min_amount": "0"}))["total"] == 2
    bad = client.get(f"{API}/payments/payable", headers=aud,
                     params={"program": P, "min_amount": "1.001"})
    assert (bad.status_code, bad.json()["field"]) == (422, "min_amount")
    batch = _ok(client.post(f"{API}/payments", headers=op, json={
        "program": P, "claim_ids": [first["id"], second["id"]]}), 201)
    url = f"{API}/payments/{batch['id']}"
    assert _ok(client.get(f"{API}/payments/payable", headers=aud,
                          params={"program": P}))["total"] == 0
    _ok(client.post(f"{url}/release", headers=appr))
    short = "line,amount_yuan,reference,value_date\n1,5000,A1,2026-06-01\n"
    refused = client.post(f"{url}/confirmation", headers=op,
                          files={"file": ("bank.csv", short.encode(), "text/csv")})
    assert (refused.status_code, refused.json()["code"]) == (409, "confirmation_total_mismatch")
    full = short + "2,10000.00,A2,2026-06-02\n"
    paid = _ok(client.post(f"{url}/confirmation", headers=op,
                           files={"file": ("bank.csv", full.encode(), "text/csv")}))
    assert [(x["line"], x["status"], x["reference"], x["value_date"]) for x in paid["lines"]] \
        == [(1, "paid", "A1", "2026-06-01"), (2, "paid", "A2", "2026-06-02")]
    big = client.post(f"{url}/returns", headers=op,
                      json={"line": 2, "amount": "10000.01", "reason": "户名不符"})
    assert (big.status_code, big.json()["code"]) == (409, "return_exceeds_line")
    back = _ok(client.post(f"{url}/returns", headers=op,
                           json={"line": 2, "amount": "10000.00", "reason": "户名不符"}))
    assert back["lines"][1]["status"] == "returned"
    twice = client.post(f"{url}/returns", headers=op,
                        json={"line": 2, "amount": "10000.00", "reason": "户名不符"})
    assert (twice.status_code, twice.json()["code"]) == (409, "already_returned")
    report = _ok(client.get(f"{url}/reconciliation", headers=aud))
    assert {k: report[k] for k in ("paid", "returned", "net_paid", "still_owed", "ledger_paid",
                                   "ledger_returned", "ledger_owed", "agrees")} == {
        "paid": "15000.00", "returned": "10000.00", "net_paid": "5000.00",
        "still_owed": "10000.00", "ledger_paid": "15000.00", "ledger_returned": "10000.00",
        "ledger_owed": "10000.00", "agrees": True}
    again = client.post(f"{API}/payments", headers=op,
                        json={"program": P, "claim_ids": [second["id"]]})
    assert (again.status_code, again.json()["code"]) == (409, "bank_details_not_corrected")
    _ok(client.post(f"{API}/providers/1/bank-account", headers=op, json={
        "bank_name": "中国银行沈阳分行", "bank_account": "6222 0000 1111 2222"}))
    repaid = _ok(client.post(f"{API}/payments", headers=op,
                             json={"program": P, "claim_ids": [second["id"]]}), 201)
    assert repaid["lines"][0]["bank_account"] == "6222000011112222"
    budget = _ok(client.get(f"{API}/programs/{P}/budget", headers=aud))
    assert (budget["paid"], budget["in_payment"], budget["balanced"]) == (
        "5000.00", "10000.00", True)
