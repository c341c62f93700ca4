"""The auditor's pages: the journal (filters, keyset pages), an entry, balance as of a date,
verify, the operation log, and report PDFs through the console's own route."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import quote

import pytest
from console_helpers import CODE, csrf_of, sign_in
from openpyxl import load_workbook
from review_helpers import filed_claim, post_history

from api.console.pages.auditor import day_start
from demo.seed import seed_demo
from ledger.core.accounts import balance_as_of
from ledger.core.db import transaction
from ledger.core.journal import get_entry
from ledger.core.paging import MAX_LIMIT, Cursor
from ledger.core.verify import verify
from ledger.reading import journal_pages as audit
from ledger.reading.journal_pages import journal_slice, list_entries
from ledger.registry.firms import Firm

_ENTRY = re.compile(r'href="/auditor/entries/(\d+)"')


@pytest.fixture
def history(sessions) -> dt.date:
    """The demo sign-ins and 90 entries over 30 past days in ledgers AA (60) and BB (30)."""
    with transaction(sessions) as s:
        seed_demo(s)
    return post_history(sessions)


def _offset_ids(session, **filters) -> list[int]:  # type: ignore[no-untyped-def]
    ids, offset = [], 0
    while True:
        page = list_entries(session, limit=MAX_LIMIT, offset=offset, **filters)
        ids += [e.id for e in page.items]
        if page.next_offset is None:
            return ids
        offset = page.next_offset


@pytest.mark.parametrize("window", [10_000, 4])
def test_keyset_pages_walk_the_same_entries_as_offset_pages_both_ways(sessions, history,
                                                                      monkeypatch, window):
    # A programme filter looks at most SCAN_WINDOW entries a page; 4 makes pages partial.
    monkeypatch.setattr(audit, "SCAN_WINDOW", window)
    since = day_start(history + dt.timedelta(days=3))
    until = day_start(history + dt.timedelta(days=11))
    cases = [{}, {"programme": "AA"}, {"programme": "BB"}, {"account": "AA:x:1"},
             {"account": "BB:x:2", "programme": "BB"}, {"since": since},
             {"until": until}, {"programme": "AA", "since": since, "until": until},
             {"account": "AA:x:0", "since": since, "until": until},
             {"account": "AA:x:0", "programme": "BB"}, {"programme": "ZZ"}]
    if window < 100:  # only a programme filter scans in windows
        cases = [c for c in cases if "programme" in c and "account" not in c]
    with transaction(sessions) as s:
        for filters in cases:
            expected = _offset_ids(s, **filters)
            forward, cursor = [], Cursor()
            while True:
                chunk = journal_slice(s, limit=13, cursor=cursor, **filters)
                # No way back from the first page; always one once a row lies behind.
                assert chunk.previous is None if cursor.after is None else (
                    chunk.previous is not None or not forward)
                forward += [e.id for e in chunk.items]
                if chunk.next is None:
                    break
                cursor = Cursor(after=chunk.next)
            assert forward == expected, filters
            backward, cursor = [], Cursor(before=10**9)
            while True:
                chunk = journal_slice(s, limit=13, cursor=cursor, **filters)
                backward = [e.id for e in chunk.items] + backward
                if chunk.previous is None:
                    break
                cursor = Cursor(before=chunk.previous)
            assert backward == expected, filters
        line = journal_slice(s, limit=1, programme="BB").items[0]
        entry = get_entry(s, line.id)
    assert (line.transfers, line.amount_fen, line.hash) == (1, entry.transfers[0].amount,
                                                            entry.hash)


def test_the_journal_page_filters_and_pages_deep_by_cursor(client, sessions, history):
    sign_in(client, "demo-auditor")
    with transaction(sessions) as s:
        aa = _offset_ids(s, programme="AA")
        bb = _offset_ids(s, programme="BB")
    first = client.get("/auditor?program=AA&limit=5")
    assert first.status_code == 200
    assert [int(i) for i in _ENTRY.findall(first.text)] == aa[:5]
    assert 'rel="prev"' not in first.text
    assert f'rel="next" href="/auditor?program=AA&amp;limit=5&amp;after={aa[4]}"' in first.text
    deep = client.get(f"/auditor?program=AA&limit=5&after={aa[49]}").text
    assert [int(i) for i in _ENTRY.findall(deep)] == aa[50:55]
    assert f"before={aa[50]}" in deep and f"after={aa[54]}" in deep
    back = client.get(f"/auditor?program=AA&limit=5&before={aa[50]}").text
    assert [int(i) for i in _ENTRY.findall(back)] == aa[45:50]
    day = history + dt.timedelta(days=4)
    one_day = client.get(f"/auditor?program=BB&from={day}&to={day}").text
    assert [int(i) for i in _ENTRY.findall(one_day)] == [bb[4]]
    account = client.get("/auditor?account=AA:x:1&limit=100").text
    assert [int(i) for i in _ENTRY.findall(account)] == aa[1::2]
    assert client.get("/auditor?from=yesterday").status_code == 422
    assert client.get("/auditor?after=x").status_code == 422
    sheet = load_workbook(io.BytesIO(client.get("/auditor?program=BB&format=xlsx").content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "分录" and [r[0] for r in rows[1:]] == bb


def test_an_entry_shows_its_transfers_and_hash(client, sessions, history):
    with transaction(sessions) as s:
        entry = get_entry(s, 5)
    sign_in(client, "demo-auditor")
    page = client.get("/auditor/entries/5").text
    assert f'<code id="hash">{entry.hash}</code>' in page and entry.prev_hash in page
    assert f'href="/auditor/balance?account={quote(entry.transfers[0].debit)}"' in page
    assert client.get("/auditor/entries/99999").status_code == 404


def test_balance_as_of_a_date_is_the_ledgers(client, sessions, history):
    sign_in(client, "demo-auditor")
    day = history + dt.timedelta(days=9)
    moment = day_start(day + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    with transaction(sessions) as s:
        expected = balance_as_of(s, "AA:x:1", moment)
    assert expected.debit_balance > 0
    page = client.get(f"/auditor/balance?account=AA:x:1&as_of={day}").text
    shown = re.search(r'id="debit-balance">([^<]+)<', page)
    assert shown and shown.group(1) == f"{expected.debit_balance / 100:,.2f}"
    assert f"{day} 23:59" in page
    missing = client.get("/auditor/balance?account=AA:nothing")
    assert missing.status_code == 404 and 'data-code="not_found"' in missing.text
    assert 'value="AA:nothing"' in missing.text


def test_verify_shows_the_ledgers_head_hash(client, sessions, history):
    with transaction(sessions) as s:
        report = verify(s)
    sign_in(client, "demo-auditor")
    page = client.get("/auditor/verify").text
    assert report.ok and 'data-ok="true"' in page
    assert f'<code id="head-hash">{report.head_hash}</code>' in page
    assert f'id="entries">{report.entries}<' in page


def test_the_operation_log_lists_the_approvals(client, sessions, world):
    claim = filed_claim(sessions, world.voucher)
    sign_in(client, "demo-approver")
    token = csrf_of(client.get(f"/approver/claims/{claim.id}").text)
    client.post(f"/approver/claims/{claim.id}/approve", data={"csrf_token": token})
    client.cookies.clear()
    sign_in(client, "demo-auditor")
    page = client.get("/auditor/operations?actor=demo-approver&action=claims.").text
    # The person by their display name, not the log's `user:<id>:<login>` label.
    assert "批准兑付申请" in page and "李建华" in page and "已完成" in page
    assert "claims.approve" not in page
    assert "user:2:demo-approver" not in page
    assert "redemptions.book" not in page
    book = load_workbook(io.BytesIO(client.get(
        "/auditor/operations?action=claims.&format=xlsx").content)).active
    assert [r[4] for r in book.iter_rows(min_row=2, values_only=True)] == ["批准兑付申请"]
    assert client.get("/auditor/operations?outcome=maybe").status_code == 422


def test_reports_as_pdf_through_the_console(client, sessions, world):
    sign_in(client, "demo-auditor")
    forms = client.get("/auditor/reports").text
    assert 'action="/reports/firm-statement.pdf"' in forms and 'name="firm_id"' in forms
    # The party is chosen by its name (and credit code), not typed as a number.
    with transaction(sessions) as s:
        firm = s.get(Firm, 1)
        assert firm is not None
        shown = f'<option value="1">{firm.name} · {firm.credit_code}</option>'
    assert shown in forms and '<select name="provider_id" required>' in forms
    # A statement asked for without its party says so in words, without English under it.
    missing = client.get(f"/reports/firm-statement.pdf?program={CODE}&firm_id=")
    assert missing.status_code == 422
    assert "请选择对账单所属的企业或服务机构。" in missing.text and "needs the" not in missing.text
    pdf = client.get(f"/reports/certificate.pdf?program={CODE}&from=&to=&firm_id=")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert client.get(f"/reports/nonsense.pdf?program={CODE}").status_code == 404
    client.cookies.clear()
    sign_in(client, "demo-firm")
    assert 'action="/reports/firm-statement.pdf"' in client.get("/firm").text
    own = client.get(f"/reports/firm-statement.pdf?program={CODE}")
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    other = client.get(f"/reports/firm-statement.pdf?program={CODE}&firm_id=2")
    assert other.status_code == 404 and 'data-code="not_found"' in other.text
    assert client.get(f"/reports/audit.pdf?program={CODE}").status_code == 403
    client.cookies.clear()
    assert client.get(f"/reports/audit.pdf?program={CODE}",
                      follow_redirects=False).status_code == 303
