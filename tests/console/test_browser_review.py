"""In Chromium: a service is booked, completed, confirmed and claimed with uploaded PDFs; a
second bureau user (the approver) approves the claim from the queue; the auditor sees verify
OK with the head hash and downloads a report PDF."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from console_helpers import PDF

from ledger.core.db import transaction
from ledger.core.money import format_yuan
from ledger.vouchers.claims import get_claim

pytestmark = pytest.mark.browser


def _claimed_booking(signed_in_page, server_grant) -> str:  # type: ignore[no-untyped-def]
    """Book (with the firm's authorisation), complete, confirm and claim through the pages;
    the claim's URL."""
    provider = signed_in_page("demo-provider")
    provider.goto(f"/provider/book?{urlencode(server_grant(1))}")
    provider.select_option("#f-category", "testing")
    provider.fill("#f-cost", "20000")
    provider.locator("#preview .verdict").wait_for()
    provider.click("button[value=book]")
    provider.wait_for_url(re.compile(r"/provider/bookings/\d+$"))
    booking = provider.url.rsplit("/", 1)[1]
    provider.click(f"form[action='/provider/bookings/{booking}/complete'] button")
    provider.wait_for_load_state()
    firm = signed_in_page("demo-firm")
    firm.goto("/firm/confirmations")
    firm.click(f"form[action='/firm/redemptions/{booking}/confirm'] button")
    firm.wait_for_load_state()
    provider.goto(f"/provider/claims/new?redemption_id={booking}")
    for kind in ("contract", "invoice", "service_report"):
        provider.set_input_files(f"#f-{kind}", files=[{
            "name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    provider.click("form[action='/provider/claims'] button[type=submit]")
    provider.wait_for_url(re.compile(r"/provider/claims/\d+$"))
    return provider.url


def test_the_approver_approves_and_the_auditor_verifies(signed_in_page, screenshot,
                                                        console_server, tmp_path,
                                                        server_grant, ledger_reader):
    claim_url = _claimed_booking(signed_in_page, server_grant)
    claim_id = claim_url.rsplit("/", 1)[1]
    # Half of 20,000.00, or what the voucher still held when earlier tests spent from it.
    with transaction(ledger_reader) as s:
        claimed = get_claim(s, int(claim_id)).amount_fen
    assert 0 < claimed <= 1_000_000
    amount = format_yuan(claimed)
    approver = signed_in_page("demo-approver")
    assert approver.url.endswith("/approver")
    row = approver.locator(f"table.list tbody tr:has(a[href='/approver/claims/{claim_id}'])")
    assert amount in row.inner_text()
    screenshot(approver, "approver")
    approver.click(f"a[href='/approver/claims/{claim_id}']")
    assert approver.locator("#amount").inner_text() == amount
    assert approver.locator("#decision .verdict").is_visible()
    approver.fill("#f-reason", "材料齐全")
    approver.click("form.decide button:not([formaction])")
    approver.wait_for_url(re.compile(rf"/approver/claims/{claim_id}$"))
    assert approver.locator("#status").inner_text() == "已批准"

    auditor = signed_in_page("demo-auditor")
    assert auditor.url.endswith("/auditor")
    screenshot(auditor, "auditor")
    auditor.click("nav.menu a[href='/auditor/verify']")
    assert auditor.locator(".verdict").get_attribute("data-ok") == "true"
    assert re.fullmatch(r"[0-9a-f]{64}", auditor.locator("#head-hash").inner_text())
    auditor.goto("/auditor/reports")
    with auditor.expect_download() as download:
        auditor.click("form[data-kind='certificate'] button[type=submit]")
    saved = tmp_path / "certificate.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
