"""In Chromium, money out as a bureau pays it: the operator chooses two approved claims (select
all, the running total), the approver releases the batch, the operator downloads the bank file
and uploads the bank's confirmation with a reference per line (asked once more); the bank
returns one line, the provider's bank account is corrected and the claim is paid again. Then
verify is OK and the reconciliation equals the journal to the fen."""

from __future__ import annotations

import csv
import io
import re

import pytest
from console_helpers import CODE
from review_helpers import filed_claim, user_by

from ledger.budget import budget
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.core.verify import verify
from ledger.payments.batches import get_batch
from ledger.payments.reconciliation import reconcile_batch
from ledger.vouchers.claims import approve, get_claim

pytestmark = pytest.mark.browser


@pytest.fixture
def server_sessions(console_database: str):  # type: ignore[no-untyped-def]
    """Sessions on the server's own database (to prepare approved claims and read back)."""
    engine = make_engine(console_database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _approved_claims(sessions) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Two approved claims of provider 1 on the demo firm's voucher: (id, amount in fen)."""
    approver = user_by(sessions, "demo-approver")
    found = []
    for cost in (1_000_000, 600_002):
        claim = filed_claim(sessions, 1, cost_fen=cost)
        with transaction(sessions) as s:
            approve(s, claim.id, by=approver)
        found.append((claim.id, claim.amount_fen))
    return found


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def test_chosen_released_confirmed_returned_corrected_paid_again(
        signed_in_page, server_sessions, tmp_path):
    chosen = _approved_claims(server_sessions)
    total = sum(amount for _, amount in chosen)

    # The operator chooses every line on the page and sees their total.
    operator = signed_in_page("demo-operator")
    operator.goto(f"/operator/batches/new?programme={CODE}&kind=claim")
    operator.check("#select-page")
    for claim_id, _ in chosen:
        assert operator.is_checked(f"input[value='claim:{claim_id}']")
    assert operator.locator("#chosen-total").inner_text() == _yuan(total)
    operator.click("#create-batch")
    operator.wait_for_url(re.compile(r"/operator/batches/\d+$"))
    batch_url = operator.url
    batch_id = int(batch_url.rsplit("/", 1)[1])
    assert operator.locator("#batch-total").inner_text() == _yuan(total)
    assert operator.locator("#awaiting-release").is_visible()
    assert operator.locator("#bank-file").count() == 0

    # The approver releases it from the queue.
    approver = signed_in_page("demo-approver")
    approver.goto("/approver/batches")
    approver.click(f"a[href='/approver/batches/{batch_id}']")
    approver.click("#release")
    approver.wait_for_url(re.compile(rf"/approver/batches/{batch_id}$"))
    assert approver.locator("#batch-status").inner_text() == "已放行"

    # The bank file, then the bank's confirmation with a reference per line.
    operator.goto(batch_url)
    with operator.expect_download() as download:
        operator.click("#bank-file")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["1", "2"] and rows[1][7] == "06101101040001234"
    confirmation = tmp_path / "bank-confirmation.csv"
    confirmation.write_text("序号,金额,银行流水号,入账日期\n" + "".join(
        f"{r[1]},{r[8]},ABC2026060{r[1]},2026-06-01\n" for r in rows[1:]), encoding="gb18030")
    operator.set_input_files("#f-file", str(confirmation))
    operator.click("#read-confirmation")
    assert "ABC20260602" in operator.locator("#file-rows").inner_text()
    operator.click("#confirm-file-paid")
    operator.wait_for_url(batch_url)
    assert operator.locator("#batch-status").inner_text() == "已支付"
    assert "ABC20260601" in operator.locator("#line-1").inner_text()

    # The bank returns line 1: owed again; the provider's bank account is corrected.
    first_id, first_amount = chosen[0]
    operator.select_option("#f-line", "1")
    operator.fill("#f-amount", f"{first_amount // 100}.{first_amount % 100:02d}")
    operator.fill("#f-reason", "户名与账号不符")
    operator.click("#record-return")
    operator.wait_for_url(batch_url)
    assert operator.locator("#line-1 .line-status").inner_text() == "已退票"
    assert operator.locator("#still-owed").inner_text() == _yuan(first_amount)
    operator.fill("#payee-bank-1 #f-bank_name", "中国银行沈阳分行")
    operator.fill("#payee-bank-1 #f-bank_account", "6222000011112222")
    operator.click("#payee-bank-1 button[type=submit]")
    operator.wait_for_url(batch_url)

    # Paid again in a new batch, released, marked paid with one reference (asked once more).
    operator.goto(f"/operator/batches/new?programme={CODE}")
    operator.check(f"input[value='claim:{first_id}']")
    operator.click("#create-batch")
    operator.wait_for_url(re.compile(r"/operator/batches/\d+$"))
    again_url = operator.url
    approver.goto(again_url.replace("/operator/", "/approver/"))
    approver.click("#release")
    approver.wait_for_load_state()
    operator.goto(again_url)
    assert "6222000011112222" in operator.locator("#batch-lines").inner_text()
    operator.fill("#f-reference", "BOC20260605")
    operator.fill("#f-value_date", "2026-06-05")
    operator.click("#mark-paid")
    operator.click("#confirm-mark-paid")
    operator.wait_for_url(again_url)
    assert operator.locator("#batch-status").inner_text() == "已支付"
    operator.goto(batch_url)
    assert operator.locator("#still-owed").inner_text() == "0.00"
    assert "一致" in operator.locator("#reconciled").inner_text()

    with transaction(server_sessions) as s:
        report = reconcile_batch(s, batch_id)
        assert verify(s).ok
        assert [get_claim(s, c).status for c, _ in chosen] == ["paid", "paid"]
        assert get_batch(s, batch_id).lines[0].status == "returned"
        b = budget(s, CODE)
    assert report.agrees and (report.paid_fen, report.returned_fen, report.owed_fen) == (
        total, first_amount, 0)
    assert (b.in_payment, b.balanced) == (0, True) and b.paid >= total
