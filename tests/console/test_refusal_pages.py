"""Policy refusals on the provider's booking page, shown with their stable code and the failing
rule, in the page language: a related party and an expired voucher (the cap is in
test_operator_pages and test_pages)."""

from __future__ import annotations

import datetime as dt

from console_helpers import CODE, PASSWORDS, csrf_of, granted, sign_in
from sqlalchemy import func, select

from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.registry.firms import Certification, add_certification
from ledger.registry.parties import PartyData
from ledger.registry.providers import Registration, create_provider
from ledger.registry.users import create_user
from ledger.vouchers.redemptions import Redemption
from ledger.vouchers.voucher import issue_voucher

OPERATOR = By(1, "demo-operator")


def _book(client, grant: dict[str, str], language: str = "zh-CN"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/provider/book").text)
    return client.post("/provider/book", headers={"Accept-Language": language}, data={
        "csrf_token": token, **grant, "category": "testing",
        "cost": "10000", "description": "检测", "action": "book"}, follow_redirects=False)


def _bookings(sessions) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as s:
        return int(s.scalar(select(func.count()).select_from(Redemption)))


def test_a_related_party_booking_is_refused_on_the_page(client, sessions, world, monkeypatch):
    # The demo firm 1's legal representative, 刘志远, also runs this provider.
    with transaction(sessions) as s:
        related = create_provider(s, PartyData(
            "91210100MA0TL4W9KB", "刘氏检测", "沈阳市", "浑南区", "small", "刘志远", ("刘志远",)),
            categories=(Registration("testing", dt.date(2025, 1, 1)),))
        create_user(s, username="related-provider", password="0123456789", role="provider",
                    provider_id=related.id)
    monkeypatch.setitem(PASSWORDS, "related-provider", "0123456789")
    sign_in(client, "related-provider")
    before = _bookings(sessions)
    grant = granted(sessions, world.voucher, related.id)
    refused = _book(client, grant)
    assert refused.status_code == 422
    assert 'data-code="related_party"' in refused.text and "booking.related_party" in refused.text
    english = _book(client, grant, language="en")
    assert 'data-code="related_party"' in english.text and 'lang="en"' in english.text
    assert _bookings(sessions) == before


def test_booking_an_expired_voucher_is_refused_on_the_page(client, sessions, world):
    with transaction(sessions) as s:
        add_certification(s, 1, Certification("tech_sme", 2025, dt.date(2025, 3, 1)))
        old = issue_voucher(s, CODE, 1, 1_000_000, by=OPERATOR, issued_on=dt.date(2025, 6, 1))
    assert old.expires_on == dt.date(2025, 12, 31)
    sign_in(client, "demo-provider")
    before = _bookings(sessions)
    refused = _book(client, granted(sessions, old.id))
    assert refused.status_code == 422 and 'data-code="voucher_expired"' in refused.text
    assert 'value="10000"' in refused.text  # the form keeps what was typed
    assert _bookings(sessions) == before
