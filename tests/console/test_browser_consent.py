"""In Chromium, the firm's consent end to end: the firm finds a provider in the directory and
authorises it for its voucher; the provider books from that authorisation (decision
previewed), completes; the firm confirms; the provider claims. A second use of the same
authorisation is refused on the page, and nothing more is held."""

from __future__ import annotations

import re

import pytest
from console_helpers import PDF

from ledger.core.db import transaction
from ledger.vouchers.authorisations import get_authorisation
from ledger.vouchers.redemptions import get_redemption
from ledger.vouchers.voucher import get_voucher

pytestmark = pytest.mark.browser


def test_the_firm_authorises_a_provider_from_the_directory_and_the_provider_books(
        signed_in_page, ledger_reader, screenshot):
    with transaction(ledger_reader) as s:
        held_before = get_voucher(s, 1).held_fen
    # Firm: find the testing centre in the directory (by service and city), authorise it.
    firm = signed_in_page("demo-firm")
    firm.click("nav a[href='/firm/providers']")
    firm.select_option("select[name=category]", "testing")
    firm.fill("input[name=city]", "沈阳")
    firm.click("form.filters button[type=submit]")
    firm.wait_for_load_state()
    row = firm.locator("table.list tbody tr", has_text="辽宁省检验检测认证中心")
    assert "检验检测" in row.inner_text()
    row.locator("a[href^='/firm/authorisations/new']").click()
    firm.wait_for_url(re.compile(r"/firm/authorisations/new\?provider="))
    assert firm.locator("#f-provider_credit_code").input_value() == "12210000455812673E"
    firm.select_option("#f-voucher", "LN-CXQ-2026:V000001")
    firm.click("#authorise-form button[type=submit]")
    firm.wait_for_url(re.compile(r"/firm/authorisations/\d+$"))
    grant_id = int(firm.url.rsplit("/", 1)[1])
    code = firm.locator("#authorisation-code").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{10}", code)
    screenshot(firm, "firm-authorisation")

    # Provider: the authorisation is listed; booking from it fills in the serial and code.
    provider = signed_in_page("demo-provider")
    provider.click("nav a[href='/provider/authorisations']")
    provider.locator("table.list tbody tr", has_text=code).locator(
        "a[href^='/provider/book']").click()
    provider.wait_for_url(re.compile(r"/provider/book\?"))
    assert provider.locator("#f-voucher").input_value() == "V000001"
    assert provider.locator("#f-authorisation").input_value() == code
    provider.select_option("#f-category", "testing")
    provider.fill("#f-cost", "8000")
    verdict = provider.locator("#preview .verdict")
    verdict.wait_for()
    assert "4,000.00" in verdict.inner_text()
    provider.click("button[value=book]")
    provider.wait_for_url(re.compile(r"/provider/bookings/\d+$"))
    booking = int(provider.url.rsplit("/", 1)[1])
    with transaction(ledger_reader) as s:
        assert get_redemption(s, booking).amount_fen == 400_000
        assert get_authorisation(s, grant_id).status == "used"
    provider.click(f"form[action='/provider/bookings/{booking}/complete'] button")
    provider.wait_for_load_state()

    # The same authorisation a second time: refused on the form, nothing more held.
    provider.goto("/provider/book")
    provider.fill("#f-voucher", "V000001")
    provider.fill("#f-authorisation", code)
    provider.select_option("#f-category", "testing")
    provider.fill("#f-cost", "8000")
    provider.click("button[value=book]")
    provider.wait_for_load_state()
    assert provider.locator("[data-code=authorisation_used]").count() >= 1
    with transaction(ledger_reader) as s:
        assert get_voucher(s, 1).held_fen == held_before

    # Firm: confirm delivery; provider: claim with the three documents.
    firm.goto("/firm/confirmations")
    firm.click(f"form[action='/firm/redemptions/{booking}/confirm'] button")
    firm.wait_for_load_state()
    provider.goto(f"/provider/claims/new?redemption_id={booking}")
    for kind in ("contract", "invoice", "service_report"):
        provider.set_input_files(f"#f-{kind}", files=[{
            "name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF + kind.encode()}])
    provider.click("form[action='/provider/claims'] button[type=submit]")
    provider.wait_for_url(re.compile(r"/provider/claims/\d+$"))
    assert "4,000.00" in provider.content()
    firm.goto(f"/firm/authorisations/{grant_id}")
    assert firm.locator("#status").inner_text() == "已使用"
