"""The reports' words for codes come from their catalogues, in Chinese and in English."""

from __future__ import annotations

import pytest

from ledger.payments.returns import FLOW_RETURN
from ledger.registry.firms import CERTIFICATIONS
from ledger.registry.providers import CATEGORY_NAMES as REGISTRY_CATEGORIES
from reports import names
from reports.words import LANGUAGES, messages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_the_reports_use_is_translated(language):
    missing = [m for m in names.MESSAGE_IDS if m not in messages(language)]
    assert not missing, f"{language}: no translation for {missing}"


def test_every_certification_and_category_has_a_name():
    assert set(names.TIER_NAMES) == set(CERTIFICATIONS)
    assert set(names.CATEGORY_NAMES) == set(REGISTRY_CATEGORIES)
    assert FLOW_RETURN in names.FLOW_NAMES


def test_pdfs_print_chinese_by_default_and_english_when_asked():
    assert names.tier_name("gazelle") == "瞪羚企业"
    assert names.tier_name("little_giant") == "国家级专精特新“小巨人”企业"
    assert names.flow_name("voucher.issue") == "发放创新券"
    assert names.flow_name("voucher.issue", "en") == "Voucher issued"
    assert names.account_kind_name("budget") == "可用预算"
    assert names.kind_name("void_pending") == "解除冻结"
    assert names.refusal_name("no_such_code") == "其他"
    assert names.category_name("unheard_of") == "unheard_of"
