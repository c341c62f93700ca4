"""In Chromium: the operator appropriates budget and issues a voucher through the pages, every
amount on the dashboard checked to the fen."""

from __future__ import annotations

import re

import pytest
from console_helpers import CODE

from ledger.core.db import transaction
from ledger.registry.firms import get_firm

pytestmark = pytest.mark.browser


def _fen(text: str) -> int:
    """'1,234.56' as 123456."""
    whole, _, cents = text.strip().replace(",", "").partition(".")
    return int(whole) * 100 + int(cents or 0)


def _budget(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    keys = ("appropriated", "issued", "free", "held", "unspent")
    return {k: _fen(page.locator(f"#budget-{k}").inner_text()) for k in keys}


def test_the_operator_appropriates_and_issues_a_voucher(signed_in_page, screenshot,
                                                        ledger_reader):
    page = signed_in_page("demo-operator")
    assert page.url.endswith("/operator")
    assert page.locator("h1").inner_text() == "项目总览"
    before = _budget(page)
    page.fill("#f-amount", "1000.01")
    page.fill("#f-memo", "追加预算")
    page.click("#appropriate-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/operator\?programme={CODE}$"))
    after = _budget(page)
    assert after["appropriated"] == before["appropriated"] + 100_001
    assert after["free"] == before["free"] + 100_001

    page.click(f"a.button[href='/operator/vouchers/issue?programme={CODE}']")
    assert page.locator("#f-programme").input_value() == CODE
    page.fill("#f-firm", "3")
    page.fill("#f-amount", "2345.67")
    page.click("#issue-form button[type=submit]")
    page.wait_for_url(re.compile(r"/operator/vouchers/\d+$"))
    assert page.locator("#amount").inner_text() == "2,345.67"
    assert page.locator("#available").inner_text() == "2,345.67"
    # The firm is named, not numbered: the name the registry holds for firm 3.
    with transaction(ledger_reader) as s:
        assert page.locator("#firm").inner_text() == get_firm(s, 3).party.name

    page.goto(f"/operator?programme={CODE}")
    issued = _budget(page)
    assert issued["issued"] == after["issued"] + 234_567
    assert issued["free"] == after["free"] - 234_567
    assert issued["unspent"] == after["unspent"] + 234_567
    assert page.locator("#budget-chart rect").count() == 9
    screenshot(page, "operator")
