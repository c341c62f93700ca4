"""In Chromium, the firm's whole journey: it applies for a voucher with its licence scan and
plan; the approver approves it from the review queue; the firm sees the issued voucher, finds
a provider in the directory and authorises it for that voucher; the provider books against
the authorisation and completes; the firm confirms; the provider claims.

The shipped policy's second 2026 window (1 July – 31 December) is the one open today."""

from __future__ import annotations

import re

import pytest
from console_helpers import CODE, PDF

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + b"s" * 64


def test_firm_applies_is_approved_authorises_a_provider_who_books_and_claims(
        signed_in_page, screenshot):
    firm = signed_in_page("demo-firm")
    firm.click("nav.menu a[href='/firm/applications']")
    firm.click("a[href='/firm/applications/new']")
    assert "150,000.00" in firm.locator("#windows").inner_text()
    firm.select_option("#f-programme", CODE)
    firm.fill("#f-amount", "100000")
    firm.set_input_files("#f-business_licence", files=[{
        "name": "licence.png", "mimeType": "image/png", "buffer": PNG}])
    firm.set_input_files("#f-plan", files=[{
        "name": "plan.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    screenshot(firm, "application-form")
    firm.click("form[action='/firm/applications'] button[type=submit]")
    firm.wait_for_url(re.compile(r"/firm/applications/\d+$"))
    application = firm.url.rsplit("/", 1)[1]
    assert firm.locator("#status").inner_text() == "已申请"
    assert firm.locator("#decision .verdict").is_visible()

    approver = signed_in_page("demo-approver")
    approver.click("nav.menu a[href='/approver/applications']")
    approver.click(f"a[href='/approver/applications/{application}']")
    assert approver.locator("#amount").inner_text() == "100,000.00"
    assert approver.locator("#documents a").count() == 2
    approver.fill("#f-reason", "材料齐全")
    approver.click("form.decide button:not([formaction])")
    approver.wait_for_url(re.compile(rf"/approver/applications/{application}$"))
    assert approver.locator("#status").inner_text() == "已批准"
    serial = approver.locator("#voucher").inner_text()
    assert re.fullmatch(r"V\d{6}", serial)
    screenshot(approver, "application-approved")

    firm.goto("/firm")
    row = firm.locator(f"table.list tbody tr:has-text('{serial}')")
    assert "100,000.00" in row.inner_text()
    firm.goto(f"/firm/applications/{application}")
    firm.click("#voucher a")
    firm.wait_for_url(re.compile(r"/firm/vouchers/\d+$"))

    # The firm finds the testing centre in the directory and authorises it for the new voucher.
    firm.click("nav a[href='/firm/providers']")
    firm.select_option("select[name=category]", "testing")
    firm.click("form.filters button[type=submit]")
    firm.wait_for_load_state()
    firm.locator("table.list tbody tr", has_text="辽宁省检验检测认证中心").locator(
        "a[href^='/firm/authorisations/new']").click()
    firm.wait_for_url(re.compile(r"/firm/authorisations/new\?provider="))
    firm.select_option("#f-voucher", f"{CODE}:{serial}")
    firm.click("#authorise-form button[type=submit]")
    firm.wait_for_url(re.compile(r"/firm/authorisations/\d+$"))
    code = firm.locator("#authorisation-code").inner_text()

    # The provider books against it (the policy halves the cost), completes.
    provider = signed_in_page("demo-provider")
    provider.goto("/provider/authorisations")
    provider.locator("table.list tbody tr", has_text=code).locator(
        "a[href^='/provider/book']").click()
    provider.wait_for_url(re.compile(r"/provider/book\?"))
    assert provider.locator("#f-voucher").input_value() == serial
    provider.select_option("#f-category", "testing")
    provider.fill("#f-cost", "20,000.00")
    provider.click("button[value=book]")
    provider.wait_for_url(re.compile(r"/provider/bookings/\d+$"))
    booking = provider.url.rsplit("/", 1)[1]
    provider.click(f"form[action='/provider/bookings/{booking}/complete'] button")
    provider.wait_for_load_state()

    # The firm confirms delivery; the provider claims with its three documents.
    firm.goto("/firm/confirmations")
    firm.click(f"form[action='/firm/redemptions/{booking}/confirm'] button")
    firm.wait_for_load_state()
    provider.goto(f"/provider/claims/new?redemption_id={booking}")
    for kind in ("contract", "invoice", "service_report"):
        provider.set_input_files(f"#f-{kind}", files=[{
            "name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF + kind.encode()}])
    provider.click("form[action='/provider/claims'] button[type=submit]")
    provider.wait_for_url(re.compile(r"/provider/claims/\d+$"))
    assert "10,000.00" in provider.content()
    screenshot(provider, "journey-claim")
