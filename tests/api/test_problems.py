"""Errors are RFC 9457 problem+json with a stable code, and the failing field or row."""

from api_helpers import credit_code, firm_body

from ledger.core.db import transaction
from ledger.registry.firms import list_firms


def test_a_wrong_check_character_names_the_field(client, world):
    code = credit_code(1)
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    response = client.post("/api/v1/firms", json=firm_body(1, credit_code=wrong),
                           headers=world.auth("operator"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "invalid_input" and problem["field"] == "credit_code"
    assert problem["errors"][0]["field"] == "credit_code"
    assert problem["type"].endswith(":invalid_input") and problem["status"] == 422


def test_pydantic_errors_take_the_same_shape(client, world):
    response = client.post("/api/v1/firms", json={**firm_body(2), "size_class": "huge",
                                                  "extra": 1},
                           headers=world.auth("operator"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert {e["field"] for e in problem["errors"]} == {"size_class", "extra"}


def test_duplicates_are_409(client, world):
    body = firm_body(3)
    client.post("/api/v1/firms", json=body, headers=world.auth("operator"))
    again = client.post("/api/v1/firms", json=body, headers=world.auth("operator"))
    assert again.status_code == 409 and again.json()["code"] == "already_exists"


def test_unknown_paths_and_methods_are_problems(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = client.put("/api/v1/health")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_page_size_is_bounded(client, world):
    response = client.get("/api/v1/firms?limit=101", headers=world.auth("auditor"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "limit"
    page = client.get("/api/v1/firms?limit=2&offset=1", headers=world.auth("auditor")).json()
    assert (len(page["items"]), page["offset"], page["next_offset"]) == (2, 1, 3)


def test_import_over_http_names_bad_rows_and_writes_nothing(client, world, sessions):
    with transaction(sessions) as s:
        before = list_firms(s, limit=1).total
    data = ("credit_code,name,city,district,size_class,legal_rep\n"
            f"{credit_code(4)},朝阳农机有限公司,朝阳,双塔区,small,郑\n"
            f"{credit_code(5)},朝阳农机二厂,热河,双塔区,small,郑\n").encode("gb18030")
    response = client.post("/api/v1/firms:import", files={"file": ("f.csv", data, "text/csv")},
                           headers=world.auth("operator"))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_rejected"
    assert problem["errors"] == [{"line": 3, "column": "city",
                                  "reason": "'热河' is not one of Liaoning's 14 cities"}]
    with transaction(sessions) as s:
        assert list_firms(s, limit=1).total == before


def test_status_and_certification_changes_show_up(client, world):
    auth = world.auth("operator")
    client.post("/api/v1/firms/3/status", json={"status": "blacklisted"}, headers=auth)
    cert = {"kind": "little_giant", "year": 2026, "certified_on": "2026-07-15"}
    firm = client.post("/api/v1/firms/3/certifications", json=cert, headers=auth).json()
    assert firm["status"] == "blacklisted"
    assert {"kind": "little_giant", "year": 2026, "certified_on": "2026-07-15",
            "valid_until": None} in firm["certifications"]
    listed = client.get("/api/v1/firms?status=blacklisted", headers=auth).json()
    assert [f["id"] for f in listed["items"]] == [3]
    later = client.post("/api/v1/firms/3/certifications", headers=auth, json={
        "kind": "gazelle", "year": 2099, "certified_on": "2099-01-01"})
    assert later.status_code == 422 and later.json()["field"] == "certified_on"


def test_nul_bytes_anywhere_are_4xx_never_5xx(client, world):
    auth = world.auth("operator")
    assert client.get("/api/v1/firms", params={"city": "\x00"}, headers=auth).status_code < 500
    created = client.post("/api/v1/firms", json=firm_body(6, legal_rep="\x00"), headers=auth)
    assert created.status_code == 422 and created.json()["field"] == "legal_rep"
    token = client.post("/api/v1/auth/token", data={"username": "\x00", "password": "\x00"})
    assert token.status_code == 401


def test_malformed_json_is_the_bodys_fault_not_a_numbered_field(client, world):
    headers = {**world.auth("operator"), "Content-Type": "application/json"}
    for raw in (b'{"program": "LN-CXQ-2026", "firm_id": 1, "amount": "1.00"', b'{"a": 1} x'):
        response = client.post("/api/v1/vouchers", headers=headers, content=raw)
        assert response.status_code == 422, (raw, response.text)
        problem = response.json()
        assert problem["code"] == "validation_failed"
        assert [e["field"] for e in problem["errors"]] == ["body"]
        assert problem["detail"].startswith("body: malformed JSON")
