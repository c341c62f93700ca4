"""In Chromium, the whole voucher flow through the pages, one role after another: the operator
appropriates and issues, the provider books (decision previewed) and completes, the firm
confirms, the provider claims with uploaded PDFs, a second bureau user approves, the operator
pays (chosen lines, released by the approver, confirmed once more), the auditor sees verify
OK and downloads the programme audit. After each step the amounts on the page are checked to
the fen against the ledger the server writes to."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import pytest
from console_helpers import CODE, PDF
from pypdf import PdfReader

from ledger.budget import budget
from ledger.core.db import transaction
from ledger.core.money import format_yuan
from ledger.core.verify import verify
from ledger.vouchers.claims import get_claim
from ledger.vouchers.redemptions import get_redemption
from ledger.vouchers.voucher import get_voucher

pytestmark = pytest.mark.browser


def _dashboard(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page.goto(f"/operator?programme={CODE}")
    keys = ("appropriated", "issued", "unspent", "held", "redeemed", "in_payment", "paid",
            "free")
    return {k: page.locator(f"#budget-{k}").inner_text() for k in keys}


def _ledger_budget(reader) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with transaction(reader) as s:
        b = budget(s, CODE)
    return {k: format_yuan(getattr(b, k)) for k in (
        "appropriated", "issued", "unspent", "held", "redeemed", "in_payment", "paid", "free")}


def test_the_whole_flow_through_the_pages(signed_in_page, ledger_reader, tmp_path,
                                          server_grant):
    # Operator: appropriate, then issue a voucher to the demo firm.
    operator = signed_in_page("demo-operator")
    operator.goto(f"/operator?programme={CODE}")
    operator.fill("#f-amount", "20000.00")
    operator.fill("#f-memo", "流程测试预算")
    operator.click("#appropriate-form button[type=submit]")
    operator.wait_for_url(re.compile(rf"/operator\?programme={CODE}$"))
    operator.goto(f"/operator/vouchers/issue?programme={CODE}")
    operator.fill("#f-firm", "1")
    operator.fill("#f-amount", "12345.67")
    operator.click("#issue-form button[type=submit]")
    operator.wait_for_url(re.compile(r"/operator/vouchers/\d+$"))
    voucher_id = int(operator.url.rsplit("/", 1)[1])
    with transaction(ledger_reader) as s:
        voucher = get_voucher(s, voucher_id)
    assert voucher.firm_id == 1 and voucher.amount_fen == 1_234_567
    assert operator.locator("#available").inner_text() == format_yuan(voucher.available_fen)
    assert _dashboard(operator) == _ledger_budget(ledger_reader)

    # Provider: book a testing service, the decision previewed (50 % of 10,000.02), complete.
    provider = signed_in_page("demo-provider")
    provider.goto(f"/provider/book?{urlencode(server_grant(voucher_id))}")
    provider.select_option("#f-category", "testing")
    provider.fill("#f-cost", "10000.02")
    verdict = provider.locator("#preview .verdict")
    verdict.wait_for()
    assert "5,000.01" in verdict.inner_text()
    provider.click("button[value=book]")
    provider.wait_for_url(re.compile(r"/provider/bookings/\d+$"))
    booking_id = int(provider.url.rsplit("/", 1)[1])
    with transaction(ledger_reader) as s:
        booked = get_redemption(s, booking_id)
    assert booked.amount_fen == 500_001
    assert provider.locator("#subsidy").inner_text() == format_yuan(booked.amount_fen)
    assert _dashboard(operator) == _ledger_budget(ledger_reader)
    provider.click(f"form[action='/provider/bookings/{booking_id}/complete'] button")
    provider.wait_for_load_state()

    # Firm: the voucher's balance after the completion, then confirm delivery.
    firm = signed_in_page("demo-firm")
    firm.goto(f"/firm/vouchers/{voucher_id}")
    with transaction(ledger_reader) as s:
        available = get_voucher(s, voucher_id).available_fen
    assert available == 1_234_567 - 500_001
    assert firm.locator("#available").inner_text() == format_yuan(available) == "7,345.66"
    firm.goto("/firm/confirmations")
    firm.click(f"form[action='/firm/redemptions/{booking_id}/confirm'] button")
    firm.wait_for_load_state()

    # Provider: claim with the three documents uploaded as PDFs.
    provider.goto(f"/provider/claims/new?redemption_id={booking_id}")
    for kind in ("contract", "invoice", "service_report"):
        provider.set_input_files(f"#f-{kind}", files=[{
            "name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF + kind.encode()}])
    provider.click("form[action='/provider/claims'] button[type=submit]")
    provider.wait_for_url(re.compile(r"/provider/claims/\d+$"))
    claim_id = int(provider.url.rsplit("/", 1)[1])

    # A second bureau user approves it from the queue.
    approver = signed_in_page("demo-approver")
    approver.goto(f"/approver/claims/{claim_id}")
    assert approver.locator("#amount").inner_text() == "5,000.01"
    approver.fill("#f-reason", "材料齐全")
    approver.click("form.decide button:not([formaction])")
    approver.wait_for_url(re.compile(rf"/approver/claims/{claim_id}$"))
    with transaction(ledger_reader) as s:
        assert get_claim(s, claim_id).status == "approved"

    # Operator: a payment batch of the chosen claim; the approver releases it; marked paid.
    operator.goto(f"/operator/batches/new?programme={CODE}")
    operator.check(f"input[value='claim:{claim_id}']")
    operator.click("#create-batch")
    operator.wait_for_url(re.compile(r"/operator/batches/\d+$"))
    batch_url = operator.url
    assert f"兑付申请 {claim_id}" in operator.locator("#batch-lines").inner_text()
    assert _dashboard(operator) == _ledger_budget(ledger_reader)
    approver.goto(batch_url.replace("/operator/", "/approver/"))
    approver.click("#release")
    approver.wait_for_load_state()
    operator.goto(batch_url)
    operator.fill("#f-reference", "CMB20260601001")
    operator.click("#mark-paid")
    operator.click("#confirm-mark-paid")
    operator.wait_for_url(batch_url)
    with transaction(ledger_reader) as s:
        assert get_claim(s, claim_id).status == "paid"
    paid = _dashboard(operator)
    assert paid == _ledger_budget(ledger_reader) and paid["in_payment"] == "0.00"

    # Auditor: verify OK with the ledger's head hash, and the programme audit as a PDF.
    auditor = signed_in_page("demo-auditor")
    auditor.goto("/auditor/verify")
    with transaction(ledger_reader) as s:
        report = verify(s)
    assert report.ok
    assert auditor.locator(".verdict").get_attribute("data-ok") == "true"
    assert auditor.locator("#head-hash").inner_text() == report.head_hash
    auditor.goto("/auditor/reports")
    auditor.select_option("form[data-kind='audit'] select[name=program]", CODE)
    with auditor.expect_download() as download:
        auditor.click("form[data-kind='audit'] button[type=submit]")
    saved = tmp_path / "audit.pdf"
    download.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    assert "项目审计报告" in text and report.head_hash in text.replace("\n", "")
    assert paid["paid"] in text
