"""The firm disputes a completed service from its page instead of confirming it; the provider
sees the reason; another firm's booking is a 404."""

from __future__ import annotations

from console_helpers import csrf_of, sign_in

from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.vouchers.redemptions import complete, get_redemption
from tests.authorised import authorised_book

PROVIDER = By(2, "demo-provider")


def test_the_firm_disputes_and_the_provider_sees_why(client, sessions, world):
    with transaction(sessions) as s:
        booked = authorised_book(s, voucher_id=world.voucher, provider_id=1, category="testing",
                                 cost_fen=1_000_000, description="检测", by=PROVIDER)
        complete(s, booked.id, provider_id=1, by=PROVIDER)
    sign_in(client, "demo-firm")
    page = client.get(f"/firm/redemptions/{booked.id}")
    assert page.status_code == 200 and 'id="dispute-form"' in page.text
    url = f"/firm/redemptions/{booked.id}/dispute"
    empty = client.post(url, data={"csrf_token": csrf_of(page.text), "reason": " "},
                        follow_redirects=False)
    assert empty.status_code == 422 and 'data-code="invalid_input"' in empty.text
    done = client.post(url, data={"csrf_token": csrf_of(page.text), "reason": "检测报告缺页"},
                       follow_redirects=False)
    assert done.status_code == 303
    with transaction(sessions) as s:
        assert get_redemption(s, booked.id).dispute_reason == "检测报告缺页"
    again = client.post(url, data={"csrf_token": csrf_of(page.text), "reason": "再次"},
                        follow_redirects=False)
    assert again.status_code == 409 and 'data-code="already_disputed"' in again.text
    sign_in(client, "demo-firm2")
    assert client.get(f"/firm/redemptions/{booked.id}").status_code == 404
    sign_in(client, "demo-provider")
    shown = client.get(f"/provider/bookings/{booked.id}")
    assert '<dd id="dispute-reason">检测报告缺页</dd>' in shown.text
