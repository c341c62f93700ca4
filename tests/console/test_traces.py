"""Decision traces as sentences in the page's language, figures formatted by Babel."""

from __future__ import annotations

import pytest

from api.console import i18n
from api.console.traces import RULE_NAMES, SENTENCES, format_amount, rule_name, trace_sentence
from rules.casefile import load_cases, run_case
from rules.decision import TraceLine
from rules.loader import load_policies

CASES = load_cases()


def strict(language: str) -> i18n.Catalogue:
    return i18n.catalogue(language, strict=True)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_sentence_and_rule_name_is_in_both_catalogues(language):
    page = strict(language)
    for msgid in [*SENTENCES.values(), *RULE_NAMES.values()]:
        assert page.gettext(msgid)


def test_a_cut_reads_as_a_sentence_with_formatted_figures():
    line = TraceLine("booking.per_order_cap", "cut",
                     {"subsidy_fen": 5_000_000, "limit_fen": 3_000_000, "cap_fen": 3_000_000},
                     "per order cap leaves 30000.00: subsidy cut from 50000.00", "f.yaml", "2026.1")
    zh, en = strict("zh_CN"), strict("en")
    assert trace_sentence(line, "zh_CN", zh.gettext) == (
        "单笔补贴上限为 30,000.00 元：补贴由 50,000.00 元削减至此。")
    assert trace_sentence(line, "en", en.gettext) == (
        "The cap per order leaves 30,000.00 yuan: the subsidy is cut from 50,000.00 yuan.")
    assert rule_name(line.rule, zh.gettext) == "单笔补贴上限"
    # The JSON form of a line (a refusal's detail) reads the same.
    assert trace_sentence(line.to_dict(), "en", en.gettext) == trace_sentence(
        line, "en", en.gettext)


def test_amounts_are_formatted_by_babel_per_locale():
    assert format_amount(123_456_789, "zh_CN", strict("zh_CN").gettext) == "1,234,567.89 元"
    assert format_amount(5, "en", strict("en").gettext) == "0.05 yuan"


def test_codes_in_figures_read_as_labels():
    line = TraceLine("booking.provider_registered", "fail",
                     {"provider": "X", "category": "testing", "registered_for": ""},
                     "provider is not registered (备案) for testing", "f.yaml", "2026.1")
    assert trace_sentence(line, "zh_CN", strict("zh_CN").gettext) == "服务机构未备案检验检测服务。"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_line_of_every_policy_case_has_a_sentence(language):
    """No rule of the engine falls back to its English message on a page."""
    page, policies = strict(language), load_policies()
    seen: set[tuple[str, str]] = set()
    for case in CASES:
        decision, _ = run_case(policies, case)
        for line in decision.trace:
            text = trace_sentence(line, language, page.gettext)
            assert text != line.message or line.rule == "policy.select", (line.rule, text)
            assert "%(" not in text and "_fen" not in text, text
            assert line.rule in RULE_NAMES, line.rule
            seen.add((line.rule, line.outcome))
    assert len(seen) >= 30


@pytest.mark.parametrize(("header", "language"), [
    ("en-GB,en;q=0.9", "en"), ("zh-TW", "zh_CN"), ("zh-Hans-CN", "zh_CN"),
    ("fr;q=1, en-US;q=0.5", "en"), ("fr, de", "zh_CN"), ("", "zh_CN"),
    ("en;q=0.2, zh;q=0.8", "zh_CN"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"), ("EN-us", "en"),
])
def test_the_page_language_is_negotiated_by_babel(header, language):
    from starlette.requests import Request

    request = Request({"type": "http", "headers": [(b"accept-language", header.encode())]})
    assert i18n.choose_language(request) == language
