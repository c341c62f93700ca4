"""Cancelling a batch before release in the console: a reason, asked once more, the batch
kept as 已撤销, its line payable again; the approver may cancel too, not after release."""

from __future__ import annotations

from console_helpers import CODE, sign_in

from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.payments import batches as payments
from tests.console.test_operator_pages import OPERATOR, _approved_claim, _post


def test_the_operator_cancels_an_unreleased_batch_after_confirming(client, sessions, world):
    _approved_claim(sessions, world)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR)
    sign_in(client, "demo-operator")
    url = f"/operator/batches/{batch.id}"
    assert 'id="cancel-form"' in client.get(url).text
    blank = _post(client, f"{url}/cancel", {"reason": " "})
    assert blank.status_code == 422 and 'data-code="invalid_input"' in blank.text
    ask = _post(client, f"{url}/cancel", {"reason": "选错了明细"})
    assert ask.status_code == 200 and 'id="confirm-cancel"' in ask.text
    assert "确认撤销该批次？" in ask.text and "选错了明细" in ask.text
    with transaction(sessions) as s:
        assert payments.get_batch(s, batch.id).status == "created"
    done = _post(client, f"{url}/cancel", {"reason": "选错了明细", "confirm": "yes"})
    assert (done.status_code, done.headers["location"]) == (303, url)
    page = client.get(url).text
    assert 'id="batch-status">已撤销<' in page and 'id="batch-cancel-reason">选错了明细<' in page
    assert 'id="cancel-form"' not in page and "bank.csv" not in page
    listed = client.get("/operator/batches?status=cancelled").text
    assert f"/operator/batches/{batch.id}" in listed and "已撤销" in listed
    assert '<option value="cancelled" selected>已撤销</option>' in listed
    assert client.get(f"{url}/bank.csv").status_code == 409
    again = _post(client, f"{url}/cancel", {"reason": "再次", "confirm": "yes"})
    assert again.status_code == 409 and 'data-code="batch_cancelled"' in again.text
    with transaction(sessions) as s:
        assert payments.list_payable(s, CODE, payments.PayableFilter(), limit=5).total == 1


def test_the_approver_cancels_but_not_after_release(client, sessions, world):
    _approved_claim(sessions, world)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR)
    sign_in(client, "demo-approver")
    url = f"/approver/batches/{batch.id}"
    page = client.get(url).text
    assert 'id="release-form"' in page and 'id="cancel-form"' in page
    ask = _post(client, f"{url}/cancel", {"reason": "金额有误，不予放行"})
    assert ask.status_code == 200 and 'id="confirm-cancel-batch"' in ask.text
    done = _post(client, f"{url}/cancel", {"reason": "金额有误，不予放行", "confirm": "yes"})
    assert done.status_code == 303
    assert 'id="batch-status">已撤销<' in client.get(url).text
    with transaction(sessions) as s:
        other = payments.create_batch(s, CODE, by=OPERATOR)
        payments.release_batch(s, other.id, by=By(3, "demo-approver"))
    late = _post(client, f"/approver/batches/{other.id}/cancel",
                 {"reason": "晚了", "confirm": "yes"})
    assert late.status_code == 409 and 'data-code="already_released"' in late.text
    assert 'id="cancel-form"' not in client.get(f"/approver/batches/{other.id}").text
