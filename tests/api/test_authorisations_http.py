"""The firm's consent over HTTP: the provider directory, authorisations, and bookings that
need them."""

from __future__ import annotations

API = "/api/v1"
P = "LN-CXQ-2026"
TESTING_CENTRE = "12210000455812673E"  # demo provider 1: testing and instrument sharing
PATENT_AGENCY = "91210100MA0TL4W9XA"  # demo provider 2: patent applications


def _ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def _voucher(client, world):
    op = world.auth("operator")
    _ok(client.post(f"{API}/programs", headers=op, json={
        "code": P, "name": "创新券", "fiscal_year": 2026, "policy": "LN-CXQ"}), 201)
    _ok(client.post(f"{API}/programs/{P}/appropriations", headers=op,
                    json={"amount": "100000"}), 201)
    return _ok(client.post(f"{API}/vouchers", headers=op, json={
        "program": P, "firm_id": 1, "amount": "10000"}), 201)


def _book(client, world, serial, code, who="provider"):
    return client.post(f"{API}/redemptions", headers=world.auth(who), json={
        "voucher": serial, "authorisation": code, "category": "testing", "cost": "1000"})


def test_the_directory_finds_active_providers_and_shows_no_bank_or_people(client, world):
    firm = world.auth("firm")
    everyone = _ok(client.get(f"{API}/provider-directory", headers=firm))
    assert everyone["total"] == 3
    entry = next(e for e in everyone["items"] if e["credit_code"] == TESTING_CENTRE)
    assert entry == {"credit_code": TESTING_CENTRE, "name": "辽宁省检验检测认证中心",
                     "city": "沈阳市", "district": "皇姑区",
                     "categories": ["instrument_sharing", "testing"]}
    found = {
        "category=patent_application": [PATENT_AGENCY],
        "city=大连": ["91210200764418923E"],
        "name=专利": [PATENT_AGENCY],
        "credit_code=１２２１": [TESTING_CENTRE],  # typed full-width: normalised
        "city=沈阳市&category=testing": [TESTING_CENTRE],
        "name=%25": [],  # a LIKE wildcard is taken literally
    }
    for query, codes in found.items():
        page = _ok(client.get(f"{API}/provider-directory?{query}", headers=firm))
        assert [e["credit_code"] for e in page["items"]] == codes, query
    op = world.auth("operator")
    _ok(client.post(f"{API}/providers/2/status", headers=op, json={"status": "suspended"}))
    names = _ok(client.get(f"{API}/provider-directory", headers=firm))
    assert PATENT_AGENCY not in {e["credit_code"] for e in names["items"]}
    bad = client.get(f"{API}/provider-directory?category=gardening", headers=firm)
    assert bad.status_code == 422


def test_without_consent_a_provider_learns_nothing_and_holds_nothing(client, world):
    voucher = _voucher(client, world)
    real = _book(client, world, voucher["serial"], "ABCDEFGHJK")
    missing = _book(client, world, "V999999", "ABCDEFGHJK")
    assert real.status_code == missing.status_code == 404
    unreal, unmissing = real.json(), missing.json()
    assert unreal["code"] == unmissing["code"] == "not_found"
    assert set(unreal) == set(unmissing) and "decision" not in unreal
    assert unreal["detail"].replace(voucher["serial"], "V999999") == unmissing["detail"]
    held = _ok(client.get(f"{API}/vouchers/{voucher['id']}", headers=world.auth("operator")))
    assert held["held"] == "0.00"


def test_the_firm_grants_lists_and_withdraws_and_the_provider_books_once(client, world):
    voucher = _voucher(client, world)
    firm, prov = world.auth("firm"), world.auth("provider")
    granted = _ok(client.post(f"{API}/authorisations", headers=firm, json={
        "voucher": voucher["serial"], "provider_credit_code": TESTING_CENTRE}), 201)
    assert (granted["voucher"], granted["status"], granted["provider_name"]) == (
        voucher["serial"], "open", "辽宁省检验检测认证中心")
    spare = _ok(client.post(f"{API}/authorisations", headers=firm, json={
        "voucher": voucher["serial"], "provider_credit_code": TESTING_CENTRE}), 201)
    mine = _ok(client.get(f"{API}/authorisations?status=open", headers=prov))
    assert [a["id"] for a in mine["items"]] == [spare["id"], granted["id"]]
    assert _ok(client.get(f"{API}/authorisations", headers=world.auth("provider2")))["total"] == 0
    other = _book(client, world, voucher["serial"], granted["code"], who="provider2")
    assert (other.status_code, other.json()["code"]) == (403, "authorisation_other_provider")
    booked = _ok(_book(client, world, voucher["serial"], granted["code"]), 201)
    twice = _book(client, world, voucher["serial"], granted["code"])
    assert (twice.status_code, twice.json()["code"]) == (409, "authorisation_used")
    _ok(client.post(f"{API}/authorisations/{spare['id']}/withdraw", headers=firm))
    withdrawn = _book(client, world, voucher["serial"], spare["code"])
    assert (withdrawn.status_code, withdrawn.json()["code"]) == (409, "authorisation_withdrawn")
    used = client.post(f"{API}/authorisations/{granted['id']}/withdraw", headers=firm)
    assert (used.status_code, used.json()["code"]) == (409, "authorisation_used")
    seen = _ok(client.get(f"{API}/authorisations/{granted['id']}", headers=firm))
    assert (seen["status"], seen["redemption_id"]) == ("used", booked["id"])
    held = _ok(client.get(f"{API}/vouchers/{voucher['id']}", headers=firm))
    assert held["held"] == "500.00"  # the one booking: 50% of 1,000 yuan
