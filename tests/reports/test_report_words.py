"""Every report prints the ledger's codes in words: no flow, transfer kind, account kind,
category, tier or refusal code is left in a PDF's text (the reports' catalogues cover them)."""

from __future__ import annotations

import datetime as dt
import io
import re
from datetime import UTC, datetime

import pytest
from programme_year import CODE, build_year

from ledger.core.acting import today
from ledger.core.db import transaction
from reports import names
from reports.catalogue import KINDS, PARTY_KINDS, render_report
from reports.fonts import report_font
from reports.provenance import Period
from reports.words import messages

MADE_AT = datetime(2026, 1, 5, 1, 30, tzinfo=UTC)
# A code as the ledger writes it: snake_case (post_pending) or dotted (voucher.issue).
RAW_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:[_.][a-z][a-z0-9_]*)+\b")
# Text a PDF carries as it is: file names, hashes (hex), the programme's code.
AS_IS = re.compile(r"\b[\w-]+\.(?:pdf|csv|xlsx)\b|\b[0-9a-f]{16,}\b")
# An account code of the trial balance before its holder's (Chinese) name.
ACCOUNT_BESIDE_NAME = re.compile(
    r"\b(?:voucher|provider|award|receivable):[\w-]+\n(?=[^\x00-\x7f])")
CODES = {*names.FLOW_NAMES, *names.KIND_NAMES, *names.ACCOUNT_KIND_NAMES,
         *names.CATEGORY_NAMES, *names.TIER_NAMES, *names.REFUSAL_NAMES}


def beside_words(text: str) -> str:
    """The text without the codes a report prints in a code column beside their words (拒绝代码
    and 含义, 科目代码 and 账户名称): a refusal code or an account kind before its name, an
    account code before its holder's registered name."""
    for code in names.REFUSAL_NAMES:
        text = text.replace(f"{code}\n{names.refusal_name(code)}", names.refusal_name(code))
    for kind in names.ACCOUNT_KIND_NAMES:
        words = names.account_kind_name(kind)
        text = text.replace(f"{kind}\n{words}", words)
    return ACCOUNT_BESIDE_NAME.sub("", text)


@pytest.mark.parametrize("kind", KINDS)
def test_no_report_prints_a_raw_code(sessions, policy_set, read_pdf, kind):
    build_year(sessions)
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        render_report(s, pdf, kind, programme=CODE,
                      period=Period(dt.date(2025, 1, 1), today()), policy_set=policy_set,
                      made_by="审计员 李四", font=report_font(),
                      party_id=1 if kind in PARTY_KINDS else None)
    text = beside_words(AS_IS.sub(" ", "\n".join(read_pdf(pdf.getvalue()))))
    raw = sorted({text[max(0, m.start() - 30):m.end() + 10].replace("\n", "|")
                  for m in RAW_CODE.finditer(text)})
    assert not raw, f"{kind}: {raw}"
    # Codes without an underscore (budget, testing, gazelle) as whole words of Latin text.
    seen = [text[max(0, m.start() - 30):m.end() + 10].replace("\n", "|")
            for m in re.finditer(r"(?<![\w-])[a-z]+(?![\w-])", text) if m.group() in CODES]
    assert not seen, f"{kind}: {seen}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_report_asked_for_in_english_prints_no_chinese_words(
    sessions, policy_set, read_pdf, kind
):
    build_year(sessions)
    pdf = io.BytesIO()
    with transaction(sessions) as s:
        render_report(s, pdf, kind, programme=CODE,
                      period=Period(dt.date(2025, 1, 1), today()), policy_set=policy_set,
                      made_by="auditor-li", font=report_font(),
                      party_id=1 if kind in PARTY_KINDS else None, language="en")
    text = "\n".join(read_pdf(pdf.getvalue()))
    assert "Prepared by" in text and "Page 1 of" in text
    # The PDFs' own words (not the codes' names, which firms' and providers' names contain:
    # 技术转移 in a transfer centre's name); names, cities and reasons are the ledger's data.
    zh = messages("zh_CN")
    chinese = {zh[m] for m in set(zh) - set(names.MESSAGE_IDS)
               if len(zh[m]) >= 2 and "{" not in zh[m]}
    flat = text.replace("\n", "")
    assert not sorted(w for w in chinese if w in flat), kind
