"""In Chromium: a firm applies for a voucher with its licence scan and plan; the approver
approves it from the review queue; the firm then sees the issued voucher among its own.

The shipped policy's second 2026 window (1 July – 31 December) is the one open today."""

from __future__ import annotations

import re

import pytest
from console_helpers import CODE, PDF

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n" + b"s" * 64


def test_firm_applies_bureau_approves_firm_sees_the_voucher(signed_in_page, screenshot):
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
