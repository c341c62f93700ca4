"""The reports' words come from their catalogues, in Chinese and in English: the names of
codes and every title, heading, label and sentence a PDF prints."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

import reports
from ledger.payments.returns import FLOW_RETURN
from ledger.registry.firms import CERTIFICATIONS
from ledger.registry.providers import CATEGORY_NAMES as REGISTRY_CATEGORIES
from reports import names
from reports.words import (
    DEFAULT_LANGUAGE,
    KEYWORDS,
    LANGUAGES,
    current_language,
    messages,
    speaking,
    tr,
)

REPORTS_DIR = Path(reports.__file__).parent
# A Han character (CJK unified ideographs, their extension A and compatibility block).
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Han text that is not words for a person, by module and the name it is assigned to:
# the figure units key_value_table right-aligns by (a pattern), and the characters a font
# must have to be a report font (a probe of its glyphs).
NOT_WORDS = {("document.py", "_FIGURES"), ("fonts.py", "_PROBE")}


def _trees() -> list[tuple[str, ast.Module]]:
    return [(path.name, ast.parse(path.read_text(encoding="utf-8"), str(path)))
            for path in sorted(REPORTS_DIR.glob("*.py"))]


def marked_messages() -> set[str]:
    """The message ids reports/*.py pass to N_ or tr, as a Babel extract would find them."""
    found: set[str] = set()
    for _, tree in _trees():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in KEYWORDS and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def han_literals() -> list[str]:
    """Each string constant of reports/*.py holding Han characters, outside docstrings and
    the NOT_WORDS assignments, as `module:line: text`."""
    found = []
    for module, tree in _trees():
        skipped: set[int] = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                           | ast.AsyncFunctionDef) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)):
                skipped.add(id(body[0].value))
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and (module, t.id) in NOT_WORDS
                       for t in targets):
                    skipped.update(id(n) for n in ast.walk(node))
        found += [f"{module}:{node.lineno}: {node.value}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in skipped and HAN.search(node.value)]
    return found


def fields(text: str) -> set[str]:
    """The {placeholders} of a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_extract_finds_the_pdf_words():
    found = marked_messages()
    # The PDFs' titles, signature block and page footer, and the codes' names.
    assert {"Programme audit report", "Prepared by", "Page {page} of {pages}"} <= found
    assert set(names.MESSAGE_IDS) <= found
    assert len(found) > 300


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_the_reports_use_is_translated(language):
    wanted = marked_messages() | set(names.MESSAGE_IDS)
    missing = sorted(m for m in wanted if m not in messages(language))
    assert not missing, f"{language}: no translation for {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    wrong = {m: t for m, t in messages(language).items() if fields(m) != fields(t)}
    assert not wrong, f"{language}: placeholders differ in {wrong}"


def test_no_han_text_is_left_in_the_reports_code():
    assert not han_literals(), "words to move into reports/locale:\n" + "\n".join(
        han_literals())


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


def test_a_report_speaks_one_language_for_its_extent():
    assert current_language() == DEFAULT_LANGUAGE
    assert tr("Page {page} of {pages}", page=2, pages=3) == "第 2 页 / 共 3 页"
    with speaking("en"):
        assert tr("Page {page} of {pages}", page=2, pages=3) == "Page 2 of 3"
        assert names.tier_name("gazelle") == "Gazelle firm"
        with speaking(None):
            assert current_language() == "en"
    assert tr("Prepared by") == "编制人"
    with pytest.raises(ValueError, match="fr"), speaking("fr"):
        pass
