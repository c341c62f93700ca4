"""In Chromium: the firm sees its voucher balance; the provider books with the preview shown."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_the_firm_signs_in_and_sees_its_voucher_balance(signed_in_page, screenshot):
    # Runs before the booking test below: the server (and its voucher) is shared per session.
    page = signed_in_page("demo-firm")
    assert page.url.endswith("/firm")
    assert page.locator("h1").inner_text() == "我的创新券"
    row = page.locator("table.list tbody tr").first
    assert "V000001" in row.inner_text()
    assert row.locator("td.yuan").nth(1).inner_text() == "50,000.00"  # available
    screenshot(page, "firm")
    page.click("text=V000001")
    assert page.locator("#available").inner_text() == "50,000.00"
    assert "发放创新券" in page.locator("table.list").inner_text()


def test_the_provider_books_with_the_decision_previewed(signed_in_page, screenshot,
                                                        server_grant):
    page = signed_in_page("demo-provider")
    assert page.url.endswith("/provider")
    screenshot(page, "provider")
    page.click("a.button[href='/provider/book']")
    grant = server_grant(1)
    page.fill("#f-voucher", grant["voucher"])
    page.fill("#f-authorisation", grant["authorisation"])
    page.select_option("#f-category", "testing")
    page.fill("#f-cost", "100000")
    # The script asks the preview endpoint while the user types: 50% of 100,000 is cut to the
    # per-order cap of 30,000.00 yuan.
    verdict = page.locator("#preview .verdict")
    verdict.wait_for()
    assert "30,000.00" in verdict.inner_text()
    assert page.locator("#preview .bound").inner_text() == "受限于：单笔补贴上限"
    screenshot(page, "provider-book")
    page.click("button[value=book]")
    page.wait_for_url(re.compile(r"/provider/bookings/\d+$"))
    assert page.locator("#subsidy").inner_text() == "30,000.00"
    assert page.locator("#status").inner_text() == "已预约"
