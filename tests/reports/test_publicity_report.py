"""奖励公示 PDF: one list (the public download) and the report kind over a period; fonts
embedded, text inside the frame, the list's period and head hash printed, no objection text."""

from __future__ import annotations

import datetime as dt
import io

import pdfplumber
import pytest
from test_archival import SLACK, fonts_of

from ledger.awards import award as awards
from ledger.awards import publicity
from ledger.core.db import transaction
from ledger.programmes.programme import appropriate, create_programme
from reports.catalogue import render_report
from reports.document import BOTTOM_MARGIN, PAGE_HEIGHT, PAGE_WIDTH, SIDE_MARGIN
from reports.fonts import FONT_ENV, report_font
from reports.provenance import Period
from reports.publicity import render_publication
from tests.awards.support import (
    APPROVER,
    CERTIFIED,
    CODE,
    ON,
    OPERATOR,
    YUAN,
    credit_code,
    make_firms,
)

START = dt.date(2022, 12, 2)
MAKER = "审计员 李四（auditor-li）"


@pytest.fixture
def published(sessions, monkeypatch) -> publicity.PublicationView:
    """Award programme with three approved awards published on START, one objection."""
    monkeypatch.setattr(publicity, "today", lambda: START)
    with transaction(sessions) as s:
        firms = make_firms(s, 3)
        create_programme(s, code=CODE, name="奖励", fiscal_year=2022, policy="LN-AWARD",
                         by=OPERATOR)
        appropriate(s, CODE, 10_000_000 * YUAN, by=OPERATOR)
        for firm, tier in zip(firms, ("gazelle", "unicorn", "specialised"), strict=True):
            view = awards.apply_award(s, CODE, firm_id=firm, tier=tier, level="provincial",
                                      document_no=f"辽科发〔2022〕{firm}号",
                                      certified_on=CERTIFIED, by=OPERATOR, on=ON)
            awards.approve_award(s, view.id, by=APPROVER)
        pub = publicity.publish_awards(s, CODE, by=OPERATOR)
        publicity.record_objection(s, pub.id, award_id=pub.items[0].award_id,
                                   raised_by="张三", text="对该企业认定有异议", by=OPERATOR)
        return publicity.get_publication(s, pub.id)


def _check_archival(pdf: bytes) -> str:
    fonts = fonts_of(pdf)
    assert fonts and all(fonts.values()), fonts
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            outside = [c["text"] for c in page.chars
                       if c["x0"] < SIDE_MARGIN - SLACK
                       or c["x1"] > PAGE_WIDTH - SIDE_MARGIN + SLACK
                       or c["top"] < 0 or c["bottom"] > PAGE_HEIGHT - BOTTOM_MARGIN / 2]
            assert not outside, "".join(outside)[:80]
        return "\n".join(p.extract_text() for p in doc.pages)


def test_one_list_as_the_public_downloads_it(sessions, published, policy_set, monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)
    out = io.BytesIO()
    with transaction(sessions) as s:
        result = render_publication(s, out, published.id, policy_set=policy_set, made_by=MAKER,
                                    font=report_font())
    text = _check_archival(out.getvalue())
    flat = text.replace("\n", "")
    assert "奖励公示" in text and "公示期：2022-12-02 至 2022-12-08（5 个工作日）" in flat
    assert published.head_hash in flat
    for n in range(3):
        assert credit_code(n) in text and f"测试企业{n}有限公司" in text
    assert "瞪羚" in text and "1,700,000.00" in text
    assert "张三" not in flat and "对该企业认定有异议" not in flat
    assert (result.publications, result.awards, result.amount_fen) == (
        (published.id,), 3, 1_700_000 * YUAN)
    assert "编制人" in text and MAKER in flat


def test_the_report_kind_lists_the_lists_started_in_the_period(sessions, published,
                                                                 policy_set, monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)
    for period, count in ((Period(dt.date(2022, 12, 1), dt.date(2022, 12, 31)), 1),
                          (Period(dt.date(2022, 1, 1), dt.date(2022, 11, 30)), 0)):
        out = io.BytesIO()
        with transaction(sessions) as s:
            outcome = render_report(s, out, "award-publicity", programme=CODE, period=period,
                                    policy_set=policy_set, made_by=MAKER, font=report_font())
        text = _check_archival(out.getvalue())
        assert outcome.ok and f"lists={count}" in outcome.summary
        assert ("本期无公示" in text) == (count == 0)
        assert "公示开始日期在" in text.replace("\n", "")
