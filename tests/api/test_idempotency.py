"""Idempotency-Key over HTTP: a replay returns the first response and writes nothing again."""

from api_helpers import credit_code, firm_body

from ledger.core.db import transaction
from ledger.core.oplog import list_operations
from ledger.registry.firms import list_firms


def count(sessions) -> int:
    with transaction(sessions) as s:
        return list_firms(s, limit=1).total


def test_replay_returns_the_first_response_and_writes_nothing(client, world, sessions):
    headers = {**world.auth("operator"), "Idempotency-Key": "create-firm-42"}
    before = count(sessions)
    first = client.post("/api/v1/firms", json=firm_body(42), headers=headers)
    again = client.post("/api/v1/firms", json=firm_body(42), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count(sessions) == before + 1
    with transaction(sessions) as s:
        done = [o for o in list_operations(s, limit=100).items if o.channel == "api"]
    assert [(o.outcome, o.idempotency_key) for o in done] == [("done", "create-firm-42")]


def test_same_key_other_body_is_409_and_writes_nothing(client, world, sessions):
    headers = {**world.auth("operator"), "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/firms", json=firm_body(43), headers=headers).status_code == 201
    before = count(sessions)
    other = client.post("/api/v1/firms", json=firm_body(44), headers=headers)
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["code"] == "idempotency_conflict"
    assert count(sessions) == before
    with transaction(sessions) as s:
        refused = list_operations(s, limit=10, outcome="refused").items
    assert refused[0].code == "idempotency_conflict" and refused[0].idempotency_key == "k-1"


def test_keys_are_per_user_and_per_route(client, world):
    body = {"status": "suspended"}
    headers = {**world.auth("operator"), "Idempotency-Key": "same"}
    one = client.post("/api/v1/firms/1/status", json=body, headers=headers)
    two = client.post("/api/v1/firms/2/status", json=body, headers=headers)
    assert one.json()["id"] == 1 and two.json()["id"] == 2
    assert "idempotent-replayed" not in two.headers


def test_a_refused_request_is_not_remembered(client, world):
    headers = {**world.auth("operator"), "Idempotency-Key": "retry-me"}
    bad = client.post("/api/v1/firms", json=firm_body(45, city="上海"), headers=headers)
    assert bad.status_code == 422
    good = client.post("/api/v1/firms", json=firm_body(45, city="上海"), headers=headers)
    assert good.status_code == 422 and "idempotent-replayed" not in good.headers


def test_a_replayed_import_imports_nothing_more(client, world, sessions):
    data = ("credit_code,name,city,district,size_class,legal_rep\n"
            f"{credit_code(46)},铁岭阀门有限公司,铁岭,银州区,small,卫\n").encode("gb18030")
    headers = {**world.auth("operator"), "Idempotency-Key": "import-1"}
    files = {"file": ("firms.csv", data, "text/csv")}
    first = client.post("/api/v1/firms:import", files=files, headers=headers)
    again = client.post("/api/v1/firms:import", files=files, headers=headers)
    assert first.json() == again.json() and first.json()["created"] == 1
    changed = {"file": ("firms.csv", data + b"\n", "text/csv")}
    assert client.post("/api/v1/firms:import", files=changed, headers=headers).status_code == 409


def test_a_malformed_key_is_422(client, world):
    headers = {**world.auth("operator"), "Idempotency-Key": "x" * 300}
    response = client.post("/api/v1/firms", json=firm_body(47), headers=headers)
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["field"]) == ("invalid_input",
                                                                   "Idempotency-Key")


def test_every_mutation_is_logged_with_its_outcome(client, world, sessions):
    auth = world.auth("operator")
    created = client.post("/api/v1/firms", json=firm_body(48), headers=auth).json()
    refused = client.post("/api/v1/firms", json=firm_body(48), headers=auth)
    assert refused.status_code == 409
    client.post("/api/v1/firms/1/status", json={"status": "active"}, headers=world.auth("firm"))
    with transaction(sessions) as s:
        log = [o for o in list_operations(s, limit=10).items if o.channel == "api"]
    assert [(o.action, o.object_id, o.outcome, o.code, o.role) for o in log] == [
        ("POST /firms/{firm_id}/status", "1", "refused", "permission_denied", "firm"),
        ("firms.create", None, "refused", "already_exists", "operator"),
        ("firms.create", str(created["id"]), "done", None, "operator"),
    ]
    assert log[1].actor == f"user:{world.users['operator'].id}:demo-operator"


def test_user_creation_replays_and_a_changed_password_conflicts(client, world):
    body = {"username": "xinsong-finance", "password": "a long passphrase", "role": "firm",
            "firm_id": 1}
    headers = {**world.auth("operator"), "Idempotency-Key": "user-1"}
    first = client.post("/api/v1/users", json=body, headers=headers)
    again = client.post("/api/v1/users", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = client.post("/api/v1/users", json={**body, "password": "another passphrase"},
                        headers=headers)
    assert other.status_code == 409


def test_concurrent_requests_with_one_key_write_once(app, world, sessions):
    """Two clients race with the same key: one writes, the other gets the same answer."""
    import threading

    from fastapi.testclient import TestClient

    headers = {**world.auth("operator"), "Idempotency-Key": "race-1"}
    barrier = threading.Barrier(4)
    results: list[tuple[int, dict]] = []

    def post() -> None:
        with TestClient(app) as c:
            barrier.wait()
            response = c.post("/api/v1/firms", json=firm_body(49), headers=headers)
            results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=post) for _ in range(4)]
    before = count(sessions)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [201] * 4
    assert len({body["id"] for _, body in results}) == 1
    assert count(sessions) == before + 1


def test_a_status_change_logs_the_reason_it_gave(client, world):
    op = world.auth("operator")
    done = client.post("/api/v1/firms/1/status", headers=op,
                       json={"status": "suspended", "reason": "审计发现虚假材料"})
    assert done.status_code == 200, done.text
    log = client.get("/api/v1/operations", headers=world.auth("auditor"),
                     params={"object_type": "firm", "object_id": "1"}).json()["items"]
    assert [(o["action"], o["message"]) for o in log if o["action"].startswith("firms.status")
            ] == [("firms.status.suspended", "审计发现虚假材料")]


def test_password_requests_refuse_a_key_rather_than_ignore_it(client, world):
    key = {"Idempotency-Key": "pw-1"}
    reset = client.post("/api/v1/users/4/reset-password", headers=world.auth("operator") | key)
    change = client.post("/api/v1/me/password", headers=world.auth("firm") | key,
                         json={"current_password": "x", "new_password": "y" * 12})
    for response in (reset, change):
        assert response.status_code == 422, response.text
        assert (response.json()["code"], response.json()["field"]) == ("invalid_input",
                                                                       "Idempotency-Key")
