"""The firm's consent in the console: find a provider, authorise it, withdraw; the provider
sees what names it and books from it."""

from __future__ import annotations

import re

from console_helpers import csrf_of, sign_in

from ledger.core.db import transaction
from ledger.core.oplog import list_operations

TESTING_CENTRE = "12210000455812673E"  # demo provider 1


def _authorise(client, voucher: str, provider: str = TESTING_CENTRE, language: str = "zh-CN"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/firm/authorisations/new").text)
    return client.post("/firm/authorisations", headers={"Accept-Language": language}, data={
        "csrf_token": token, "voucher": voucher, "provider_credit_code": provider},
        follow_redirects=False)


def test_the_firm_finds_a_provider_authorises_and_withdraws(client, sessions, world):
    sign_in(client, "demo-firm")
    directory = client.get("/firm/providers?category=testing&city=沈阳")
    assert directory.status_code == 200 and "辽宁省检验检测认证中心" in directory.text
    assert "检验检测" in directory.text and "06101101040001234" not in directory.text
    assert "沈阳知行专利代理事务所有限公司" not in directory.text  # patents only
    link = re.search(r'href="(/firm/authorisations/new\?provider=[^"]+)"', directory.text)
    assert link is not None
    form = client.get(link.group(1).replace("&amp;", "&"))
    assert f'value="{TESTING_CENTRE}"' in form.text and "V000001" in form.text
    assert "V000002" not in form.text  # firm 2's voucher is not offered
    done = _authorise(client, "LN-CXQ-2026:V000001")
    assert done.status_code == 303
    detail = client.get(done.headers["location"])
    code = re.search(r'id="authorisation-code">([0-9A-Z]{10})<', detail.text)
    assert code is not None and "待使用" in detail.text
    listed = client.get("/firm/authorisations")
    assert code.group(1) in listed.text
    # The provider sees it with a link that fills in the booking form.
    client.cookies.clear()
    sign_in(client, "demo-provider")
    mine = client.get("/provider/authorisations")
    assert code.group(1) in mine.text and "V000001" in mine.text
    book = re.search(r'href="(/provider/book\?[^"]+)"', mine.text)
    assert book is not None
    prefilled = client.get(book.group(1).replace("&amp;", "&"))
    assert f'value="{code.group(1)}"' in prefilled.text and 'value="V000001"' in prefilled.text
    client.cookies.clear()
    sign_in(client, "demo-firm")
    withdraw_url = f"{done.headers['location']}/withdraw"
    token = csrf_of(client.get("/firm").text)
    assert client.post(withdraw_url, data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert "已撤回" in client.get(done.headers["location"]).text
    with transaction(sessions) as s:
        actions = {(o.action, o.outcome) for o in list_operations(s, limit=50).items}
    assert {("authorisations.create", "done"), ("authorisations.withdraw", "done")} <= actions


def test_the_voucher_page_starts_an_authorisation_for_that_voucher(client, world):
    sign_in(client, "demo-firm")
    page = client.get(f"/firm/vouchers/{world.voucher}")
    link = re.search(r'id="authorise-voucher" href="([^"]+)"', page.text)
    assert link is not None
    form = client.get(link.group(1).replace("&amp;", "&"))
    assert '<option value="LN-CXQ-2026:V000001" selected>' in form.text


def test_refusals_of_the_authorisation_form_are_shown_by_field(client, world):
    sign_in(client, "demo-firm")
    unknown = _authorise(client, "LN-CXQ-2026:V000001", provider="91210100MA00000000")
    assert unknown.status_code == 404 and 'data-code="provider_not_found"' in unknown.text
    assert 'class="field has-error">\n  <label for="f-provider_credit_code">' in unknown.text
    theirs = _authorise(client, "LN-CXQ-2026:V000002", language="en")
    assert theirs.status_code == 404 and 'data-code="not_found"' in theirs.text
    # A full-width credit code typed with a Chinese input method is the same provider.
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in TESTING_CENTRE)
    assert _authorise(client, "LN-CXQ-2026:V000001", provider=full_width).status_code == 303
