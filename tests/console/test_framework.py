"""The framework: every route in both languages, the catalogues, filters, lists and XLSX."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from console_helpers import CODE, PDF, sign_in
from openpyxl import load_workbook

from api.console import console_routes, i18n, web
from api.console.extract import message_ids
from api.console.web import ConsoleRoute
from ledger.awards.award import apply_award, approve_award
from ledger.awards.publicity import publish_awards
from ledger.core.acting import By
from ledger.core.db import transaction
from ledger.payments.batches import create_batch, release_batch
from ledger.programmes.programme import appropriate, create_programme
from ledger.registry.evidence import KINDS, Upload
from ledger.vouchers.applications import apply_for_voucher
from ledger.vouchers.claims import approve, file_claim
from ledger.vouchers.redemptions import complete, confirm
from ledger.vouchers.voucher import issue_voucher
from tests.authorised import authorised_book

# Every console GET route: who opens it and with which ids ({voucher}, {booking} …).
WALK = {
    "/": "demo-auditor",
    "/sign-in": None,
    "/lang/{language}": None,
    "/firm": "demo-firm",
    "/firm/vouchers/{voucher_id}": "demo-firm",
    "/firm/confirmations": "demo-firm",
    "/firm/redemptions/{redemption_id}": "demo-firm",
    "/firm/awards": "demo-firm",
    "/firm/awards/new": "demo-firm",
    "/firm/awards/{award_id}": "demo-firm",
    "/firm/awards/{award_id}/documents/{kind}": "demo-firm",
    "/firm/applications": "demo-firm",
    "/firm/applications/new": "demo-firm",
    "/firm/applications/{application_id}": "demo-firm",
    "/firm/applications/{application_id}/documents/{kind}": "demo-firm",
    "/account": "demo-firm",
    "/firm/providers": "demo-firm",
    "/firm/authorisations": "demo-firm",
    "/firm/authorisations/new": "demo-firm",
    "/firm/authorisations/{authorisation_id}": "demo-firm",
    "/provider/authorisations": "demo-provider",
    "/provider": "demo-provider",
    "/provider/book": "demo-provider",
    "/provider/bookings/{redemption_id}": "demo-provider",
    "/provider/claims": "demo-provider",
    "/provider/claims/new": "demo-provider",
    "/provider/claims/{claim_id}": "demo-provider",
    "/provider/claims/{claim_id}/evidence/{kind}": "demo-provider",
    "/provider/money": "demo-provider",
    "/approver": "demo-approver",
    "/approver/claims/{claim_id}": "demo-approver",
    "/approver/claims/{claim_id}/evidence/{kind}": "demo-approver",
    "/approver/awards": "demo-approver",
    "/approver/awards/{award_id}": "demo-approver",
    "/approver/awards/{award_id}/documents/{kind}": "demo-approver",
    "/approver/applications": "demo-approver",
    "/approver/applications/{application_id}": "demo-approver",
    "/approver/applications/{application_id}/documents/{kind}": "demo-approver",
    "/auditor": "demo-auditor",
    "/auditor/entries/{entry_id}": "demo-auditor",
    "/auditor/balance": "demo-auditor",
    "/auditor/verify": "demo-auditor",
    "/auditor/operations": "demo-auditor",
    "/auditor/reports": "demo-auditor",
    "/reports/{kind}.pdf": "demo-auditor",
    "/operator": "demo-operator",
    "/operator/vouchers": "demo-operator",
    "/operator/vouchers/issue": "demo-operator",
    "/operator/vouchers/{voucher_id}": "demo-operator",
    "/operator/expiry": "demo-operator",
    "/operator/firms": "demo-operator",
    "/operator/firms/new": "demo-operator",
    "/operator/providers": "demo-operator",
    "/operator/providers/new": "demo-operator",
    "/operator/batches": "demo-operator",
    "/operator/batches/new": "demo-operator",
    "/operator/batches/{batch_id}": "demo-operator",
    "/operator/batches/{batch_id}/bank.csv": "demo-operator",
    "/operator/batches/{batch_id}/bank.xlsx": "demo-operator",
    "/operator/awards/import": "demo-operator",
    "/operator/users": "demo-operator",
    "/approver/batches": "demo-approver",
    "/approver/batches/{batch_id}": "demo-approver",
    "/operator/awards/publications": "demo-approver",
    "/operator/awards/publications/{publication_id}": "demo-operator",
    "/public/awards/publications/{publication_id}": None,
    "/public/awards/publications/{publication_id}.pdf": None,
}
# Routes that need more than the ids: their own path values and a query.
EXTRA = {
    "/auditor/balance": ({}, f"?account={CODE}:budget&as_of=2026-06-30"),
    "/reports/{kind}.pdf": ({"kind": "certificate"}, f"?program={CODE}"),
    "/firm/awards/{award_id}/documents/{kind}": ({"kind": "award_certificate"}, ""),
    "/approver/awards/{award_id}/documents/{kind}": ({"kind": "award_certificate"}, ""),
    "/firm/applications/{application_id}/documents/{kind}": ({"kind": "plan"}, ""),
    "/approver/applications/{application_id}/documents/{kind}": ({"kind": "plan"}, ""),
}


def test_the_walk_covers_every_console_page():
    routes = console_routes()
    assert all(isinstance(r, ConsoleRoute) for r in routes)
    assert {r.path for r in routes if "GET" in r.methods} == set(WALK)


def test_every_message_in_use_is_translated_in_both_languages():
    used = message_ids()
    assert len(used) > 100
    for language in i18n.LANGUAGES:
        missing = used - set(i18n.catalogue(language).messages)
        assert not missing, f"{language} lacks {sorted(missing)}"


def test_a_missing_message_is_an_error_in_strict_mode():
    with pytest.raises(i18n.MissingMessage):
        i18n.catalogue("en", strict=True).gettext("no such message id")
    assert i18n.catalogue("en").gettext("no such message id") == "no such message id"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_route_renders_in_both_languages(client, sessions, world, language):
    # Strict translations are on (conftest): a missing message would fail the request.
    provider, operator = By(2, "demo-provider"), By(1, "demo-operator")
    with transaction(sessions) as s:
        done = authorised_book(s, voucher_id=world.voucher, provider_id=1, category="testing",
                               cost_fen=1_000_000, description="检测", by=provider)
        complete(s, done.id, provider_id=1, by=provider)
        confirm(s, done.id, firm_id=1, by=By(4, "demo-firm"))
        claim = file_claim(s, done.id, provider_id=1, by=provider, files=[
            Upload(kind, f"{kind}.pdf", PDF + kind.encode()) for kind in KINDS])
        approve(s, claim.id, by=By(3, "demo-approver"))
        batch = create_batch(s, CODE, by=operator)
        release_batch(s, batch.id, by=By(3, "demo-approver"))
        booking = authorised_book(s, voucher_id=world.voucher, provider_id=1, category="testing",
                                  cost_fen=1_000_000, description="检测", by=provider)
        create_programme(s, code="LN-AWARD-2022", name="奖励2022", fiscal_year=2022,
                         policy="LN-AWARD", by=operator)
        appropriate(s, "LN-AWARD-2022", 100_000_000, by=operator)
        award = apply_award(s, "LN-AWARD-2022", firm_id=1, tier="gazelle", level="provincial",
                            document_no="辽科发〔2022〕1号", certified_on=dt.date(2022, 6, 1),
                            by=operator, on=dt.date(2022, 12, 1),
                            attachment=Upload("award_certificate", "cert.pdf", PDF))
        published = apply_award(s, "LN-AWARD-2022", firm_id=2, tier="unicorn",
                                level="provincial", document_no="辽科发〔2022〕2号",
                                certified_on=dt.date(2022, 6, 1), by=operator,
                                on=dt.date(2022, 12, 1))
        approve_award(s, published.id, by=By(3, "demo-approver"))
        publication = publish_awards(s, "LN-AWARD-2022", by=operator)
        application = apply_for_voucher(
            s, CODE, firm_id=1, amount_fen=5_000_000, by=By(4, "demo-firm"),
            on=dt.date(2026, 9, 1), documents=[Upload("business_licence", "l.pdf", PDF + b"l"),
                                               Upload("plan", "p.pdf", PDF + b"p")])
    ids = {"voucher_id": world.voucher, "redemption_id": booking.id, "language": "en",
           "award_id": award.id, "application_id": application.id, "claim_id": claim.id,
           "kind": "contract", "batch_id": batch.id, "entry_id": 1, "authorisation_id": 1,
           "publication_id": publication.id}
    headers = {"Accept-Language": language}
    current = None
    for template, who in WALK.items():
        if who != current:
            client.cookies.clear()
            if who:
                sign_in(client, who)
            current = who
        values, query = EXTRA.get(template, ({}, ""))
        url = template.format(**{**ids, **values}) + query
        response = client.get(url, headers=headers, follow_redirects=False)
        assert response.status_code in (200, 303), (url, response.status_code)
        if response.headers.get("content-type", "").startswith("text/html"):
            expected = "zh-CN" if language == "zh-CN" else "en"
            assert f'<html lang="{expected}">' in response.text, url


def test_language_follows_the_cookie_then_accept_language(client, world):
    sign_in(client, "demo-firm")
    assert "我的创新券" in client.get("/firm").text
    assert "My vouchers" in client.get("/firm", headers={"Accept-Language": "en-GB,en"}).text
    assert "我的创新券" in client.get(
        "/firm", headers={"Accept-Language": "fr;q=1, zh-TW;q=0.8, en;q=0.5"}).text
    switched = client.get("/lang/en?next=/firm/awards", follow_redirects=False)
    assert switched.headers["location"] == "/firm/awards" and "lang=en" in \
        switched.headers["set-cookie"]
    assert "My vouchers" in client.get("/firm").text
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False
                      ).headers["location"] == "/"


def test_filters_show_yuan_and_shanghai_time():
    assert web.yuan(123_456_789) == "1,234,567.89" and web.yuan(5) == "0.05"
    assert web.yuan(-100) == "-1.00"
    assert web.local_time(dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)) == "2026-03-02 00:30"
    assert web.local_time(dt.datetime(2026, 3, 1, 16, 30)) == "2026-03-02 00:30"
    assert web.day(dt.date(2026, 1, 9)) == "2026-01-09"


def test_lists_are_paginated_on_the_server(client, sessions, world):
    with transaction(sessions) as s:
        for _ in range(2):
            issue_voucher(s, CODE, 1, 100_000, by=By(1, "demo-operator"))
    sign_in(client, "demo-firm")
    page = client.get("/firm?limit=1&offset=1").text
    assert "第 2–2 条，共 3 条" in page
    assert 'rel="prev" href="/firm?limit=1&amp;offset=0"' in page
    assert 'rel="next" href="/firm?limit=1&amp;offset=2"' in page
    assert "V000004" not in page and "V000003" in page  # V000002 is firm 2's
    refused = client.get("/firm?limit=1000")
    assert refused.status_code == 422 and 'data-code="invalid_input"' in refused.text
    # What is wrong, in the page's language.
    assert "limit：须为 1 到 100 之间的整数" in refused.text
    assert "whole number" not in refused.text
    status = client.get("/firm/confirmations?status=nonsense")
    assert status.status_code == 422 and "status：须为以下之一：" in status.text


def test_a_list_exports_to_xlsx_with_chinese_headers_and_yuan_numbers(client, sessions, world):
    with transaction(sessions) as s:
        issue_voucher(s, CODE, 1, 123_456, by=By(1, "demo-operator"))
    sign_in(client, "demo-firm")
    response = client.get("/firm?format=xlsx&limit=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("创新券", "项目", "发放金额（元）", "可用余额（元）")
    assert len(rows) == 3  # the header and both vouchers, whatever the page size
    assert [r[0] for r in rows[1:]] == ["V000003", "V000001"]
    cell = sheet.cell(row=2, column=3)
    assert Decimal(str(cell.value)) == Decimal("1234.56") and cell.number_format == "#,##0.00"
    assert rows[1][8] == "有效" and isinstance(rows[1][6], dt.datetime)
