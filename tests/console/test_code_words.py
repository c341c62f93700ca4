"""The ledger's codes in words, in the page's language (strict catalogues): operations,
journal references, accounts, certifications, refusals; Chinese outside a page (XLSX)."""

from __future__ import annotations

import pytest

from api.console import i18n
from api.console.labels import (
    Shown,
    account_text,
    certification_text,
    operation_name,
    reference_text,
    refusal_html,
    refusal_text,
)


@pytest.fixture(params=["zh_CN", "en"])
def page(request):  # type: ignore[no-untyped-def]
    token = i18n.current.set(i18n.catalogue(request.param, strict=True))
    yield request.param
    i18n.current.reset(token)


EXPECTED = {
    "zh_CN": ("发放创新券", "创建用户 · 企业", "登记服务机构的服务类别 · 检验检测",
              "支付批次 1 行 2", "LN-CXQ-2026 · 可用预算", "LN-CXQ-2026 · 服务机构应付 · 3",
              "瞪羚企业 2025",
              "已超过兑付申请期限。 (claim_late)"),
    "en": ("issue a voucher", "create a user · Firm",
           "register a provider for a category · Testing and inspection",
           "payment batch 1 line 2", "LN-CXQ-2026 · Available budget",
           "LN-CXQ-2026 · Owed to providers · 3", "Gazelle firm 2025",
           "The claim deadline has passed. (claim_late)"),
}


def test_codes_read_in_the_pages_language(page):
    assert (operation_name("vouchers.issue"), operation_name("users.create.firm"),
            operation_name("providers.category.add.testing"), reference_text("batch:1:line:2"),
            account_text("LN-CXQ-2026:budget"), account_text("LN-CXQ-2026:provider:3"),
            certification_text("gazelle", 2025), refusal_text("claim_late", "refused: …")
            ) == EXPECTED[page]
    assert operation_name("no.such.thing") == "no.such.thing"
    assert str(refusal_html("claim_late", "x")).endswith(" <code>claim_late</code>")


def test_outside_a_page_cells_read_in_chinese():
    assert str(Shown(operation_name, "claims.file")) == "提交兑付申请"
    assert refusal_text("some_new_code", "what the log says") == "what the log says (some_new_code)"


def test_the_commonest_invalid_input_messages_read_as_what_is_wrong():
    from api.console.labels import invalid_input_sentence

    zh = i18n.catalogue("zh_CN").gettext
    cases = {
        "reason: say why the claim is rejected": "请说明理由（1 至 500 字）。",
        "as_of lies in the future": "日期不能晚于今天。",
        "amount: at most the booked subsidy (3000000 fen)": "金额不能超过预约补贴 30,000.00 元。",
        "line: choose at least one line": "请至少选择一项，且不要重复。",
        "cost: '-5' must not be negative, got '-5'":
            "金额请以元填写，如 12,345.67：不能为负，最多两位小数。",
    }
    cases.update({
        "from 2026-12-01 is after to 2026-01-01":
            "期间的开始日期晚于结束日期（2026-12-01 至 2026-01-01）。",
        "firm-statement needs the firm's id (firm_id)": "请选择对账单所属的企业或服务机构。",
        "firm_id: a record number": "记录编号须为数字。",
        "file: the file is too large": "文件过大。",
        "file: choose a CSV file": "请选择要上传的文件。",
        "line: the line's number in the bank file": "请用数字填写序号。",
        "value_date: a date such as 2026-11-30": "日期请按 2026-11-30 的格式填写。",
        "amount: '9e99' is above the bound of 10000000000 yuan":
            "金额超过上限 10,000,000,000.00 元。",
        "size_class: must be one of micro, small":
            "须为以下之一：微型（micro）、小型（small）。",
        "file: the confirmed lines are incomplete; read the file again":
            "待确认的各行不完整：请重新读取文件。",
    })
    for message, words in cases.items():
        assert invalid_input_sentence(message, zh) == words, message
    assert invalid_input_sentence("something else entirely", zh) is None


def test_an_import_rows_reason_reads_as_its_check_or_its_refusals_code(page):
    from api.console.web import reason_words

    words = {
        "zh_CN": ("该奖励已经发放过。", "认定日期晚于申请日期。", "最多 50 个。"),
        "en": ("This award was already granted.",
               "The certification date lies after the application date.", "At most 50."),
    }[page]
    assert (reason_words("already_awarded: refused by award.once_per_tier: twice"),
            reason_words("invalid_input: certified_on lies after the application date"),
            reason_words("at most 50")) == words
    cap = reason_words("refused by issue.per_voucher_cap: amount over the cap", "cap_exceeded")
    assert cap == i18n.current.get().gettext("A cap is used up.")
    # Neither a known check nor a known code: as the file's check wrote it.
    assert reason_words("weird_code: something new") == "weird_code: something new"
