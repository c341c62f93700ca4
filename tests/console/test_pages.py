"""The firm's and the provider's pages through HTTP: every effect through the services and
the operation log, refusals shown by their field with the stable code."""

from __future__ import annotations

from console_helpers import CODE, PDF, csrf_of, granted, sign_in
from sqlalchemy import func, select

from ledger.core.accounts import balance
from ledger.core.db import transaction
from ledger.core.oplog import Operation, list_operations
from ledger.vouchers.redemptions import Redemption, get_redemption


def _post(client, url: str, data: dict[str, str], files=None):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/provider/book").text if "/provider" in url
                    else client.get("/firm").text)
    return client.post(url, data={"csrf_token": token, **data}, files=files,
                       follow_redirects=False)


def _book(client, sessions, cost: str = "10000", voucher: int = 1, action: str = "book",
          grant: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The booking form sent with a fresh authorisation of the voucher's firm (or `grant`)."""
    return _post(client, "/provider/book", {**(grant or granted(sessions, voucher)),
                                            "category": "testing", "cost": cost,
                                            "description": "检测", "action": action})


def test_the_console_serves_its_own_assets(client):
    assert client.get("/assets/console.css").status_code == 200
    assert "fetch(url" in client.get("/assets/preview.js").text


def test_a_preview_shows_the_subsidy_and_its_bound_and_holds_nothing(client, sessions, world):
    sign_in(client, "demo-provider")
    response = _book(client, sessions, cost="100000", voucher=world.voucher, action="preview")
    assert response.status_code == 200
    assert "可以预约：补贴 30,000.00 元" in response.text and "单笔补贴上限" in response.text
    assert "booking.per_order_cap" in response.text  # the trace
    assert 'value="100000"' in response.text  # the form keeps what was typed
    grant = granted(sessions, world.voucher)
    fragment = _post(client, "/provider/book/preview", {**grant, "category": "testing",
                                                        "cost": "20000"})
    assert fragment.text.lstrip().startswith("<div id=\"preview\"")
    assert "10,000.00" in fragment.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Redemption)) == 0
        assert balance(s, f"{CODE}:voucher:V000001").available == 5_000_000
        assert s.scalar(select(func.count()).select_from(Operation)
                        .where(Operation.channel == "console")) == 0


def test_without_the_firms_authorisation_the_preview_and_the_booking_reveal_nothing(
        client, sessions, world):
    """A real voucher without a valid code: the page says what it says for a voucher that does
    not exist, shows no decision (no balance, no usage), holds and logs nothing held."""
    sign_in(client, "demo-provider")
    pages = {}
    for serial in ("V000001", "V999999"):
        for action in ("preview", "book"):
            response = _book(client, sessions, cost="20000", action=action,
                             grant={"voucher": serial, "authorisation": "ABCDEFGHJK"})
            assert response.status_code in (200, 422)
            assert 'data-code="not_found"' in response.text
            assert "booking." not in response.text and "50,000.00" not in response.text
            pages[serial, action] = response.text.replace(serial, "V?")
    assert pages["V000001", "preview"] == pages["V999999", "preview"]
    assert pages["V000001", "book"] == pages["V999999", "book"]
    # Another provider's authorisation is refused by its own code, with no decision either.
    sign_in(client, "demo-provider2")
    theirs = _book(client, sessions, cost="20000", grant=granted(sessions, world.voucher, 1))
    assert 'data-code="authorisation_other_provider"' in theirs.text
    assert "booking." not in theirs.text
    with transaction(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Redemption)) == 0


def test_a_refusal_is_shown_by_its_field_with_its_code_and_the_form_kept(client, sessions,
                                                                         world):
    sign_in(client, "demo-provider")
    response = _book(client, sessions, cost="12.345", voucher=world.voucher)
    assert response.status_code == 422
    assert 'data-code="invalid_input"' in response.text and 'value="12.345"' in response.text
    assert 'class="field has-error">\n  <label for="f-cost">' in response.text
    # Use up the voucher (50,000 yuan): 30,000 (the per-order cap), then the 20,000 left;
    # a third booking is cut by the balance to nothing and refused.
    for _ in range(2):
        assert _book(client, sessions, cost="60000", voucher=world.voucher).status_code == 303
    refused = _book(client, sessions, cost="60000", voucher=world.voucher)
    assert refused.status_code == 422 and 'data-code="insufficient_balance"' in refused.text
    assert "创新券余额不足" in refused.text and "booking.voucher_balance" in refused.text
    english = client.post("/provider/book", headers={"Accept-Language": "en"}, data={
        "csrf_token": csrf_of(client.get("/provider/book").text), "voucher": "V999999",
        "authorisation": "ABCDEFGHJK", "category": "testing", "cost": "100", "action": "book"})
    assert 'data-code="not_found"' in english.text and "No such record." in english.text


def test_book_complete_confirm_claim_and_money(client, sessions, world):
    sign_in(client, "demo-provider")
    booked = _book(client, sessions, cost="10000", voucher=world.voucher)
    assert booked.status_code == 303
    url = booked.headers["location"]
    rid = int(url.rsplit("/", 1)[1])
    assert "5,000.00" in client.get(url).text
    assert _post(client, f"{url}/complete", {"amount": "4000"}).status_code == 303
    too_much = _post(client, f"/provider/bookings/{rid}/complete", {"amount": "1"})
    assert too_much.status_code == 409 and 'data-code="redemption_completed"' in too_much.text
    # The firm confirms from its list.
    client.cookies.clear()
    sign_in(client, "demo-firm")
    listing = client.get("/firm/confirmations?status=completed").text
    assert f'action="/firm/redemptions/{rid}/confirm"' in listing
    assert _post(client, f"/firm/redemptions/{rid}/confirm", {}).status_code == 303
    again = _post(client, f"/firm/redemptions/{rid}/confirm", {})
    assert again.status_code == 409 and 'data-code="already_confirmed"' in again.text
    # The provider claims with its three files.
    client.cookies.clear()
    sign_in(client, "demo-provider")
    missing = _post(client, "/provider/claims", {"redemption_id": str(rid)},
                    files={"contract": ("c.pdf", PDF, "application/pdf")})
    assert missing.status_code == 422 and 'data-code="evidence_missing"' in missing.text
    bad = _post(client, "/provider/claims", {"redemption_id": str(rid)},
                files={"contract": ("c.txt", b"hello", "text/plain")})
    assert 'data-code="evidence_type"' in bad.text
    files = {k: (f"{k}.pdf", PDF + k.encode(), "application/pdf")
             for k in ("contract", "invoice", "service_report")}
    filed = _post(client, "/provider/claims", {"redemption_id": str(rid)}, files=files)
    assert filed.status_code == 303
    claim_page = client.get(filed.headers["location"]).text
    assert "4,000.00" in claim_page and "invoice.pdf" in claim_page and "已提交" in claim_page
    evidence = client.get(filed.headers["location"] + "/evidence/invoice")
    assert evidence.content == PDF + b"invoice"
    money = client.get("/provider/money").text
    assert "4,000.00" in money
    with transaction(sessions) as s:
        assert get_redemption(s, rid).confirmed
        log = list_operations(s, limit=20).items
    done = [(o.channel, o.action, o.outcome) for o in log]
    assert ("console", "claims.file", "done") in done
    assert ("console", "redemptions.confirm", "done") in done
    assert ("console", "redemptions.confirm", "refused") in done
    assert ("console", "redemptions.book", "done") in done


def test_cancel_returns_the_hold(client, sessions, world):
    sign_in(client, "demo-provider")
    url = _book(client, sessions, cost="10000", voucher=world.voucher).headers["location"]
    assert _post(client, f"{url}/cancel", {}).status_code == 303
    assert "已取消" in client.get(url).text
    with transaction(sessions) as s:
        assert balance(s, f"{CODE}:voucher:V000001").available == 5_000_000


def test_a_provider_cannot_open_another_providers_booking(client, sessions, world):
    sign_in(client, "demo-provider")
    url = _book(client, sessions, cost="10000", voucher=world.voucher).headers["location"]
    client.cookies.clear()
    sign_in(client, "demo-provider2")
    assert client.get(url).status_code == 404
    assert _post(client, f"{url}/cancel", {}).status_code == 404
