"""In Chromium, in Chinese and in English: every page each role's menu reaches, and one detail
page of each kind those pages link to, reads in the page's language, with names where names
belong. A small checker reads each page's rendered text and fails on

  (a) a raw code: a snake_case token (in_payment), a dotted operation or rule name
      (voucher.issue, booking.ratio), an actor code (user:1:…, demo:firm:12);
  (b) an id where a name belongs: 企业 3, 服务机构 8, firm 3, provider 8, user 2;
  (c) on a Chinese page, an English sentence: three or more Latin words in a row.

What the checker lets pass is listed in ALLOWED below, each with why. The server runs over a
small demo year (every state of every record) on the suite's engine (SQLite or PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from demo.seed import build_demo
from ledger.core.db import make_engine, make_sessionmaker, transaction
from ledger.registry import users

pytestmark = pytest.mark.browser

# Small and quick (about 2 s), yet every voucher, booking, claim, award and batch state.
FIRMS, PROVIDERS = 30, 10
FAST_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
ROLES = ("demo-firm", "demo-provider", "demo-operator", "demo-approver", "demo-auditor")
LANGUAGES = ("zh-CN", "en")
# The detail pages each role's walk must reach (menu pages are read from the menu itself): a
# page that stops linking to its details, or a demo year that stops holding them, fails here.
DETAILS = {
    "firm": {"/firm/applications/{id}", "/firm/authorisations/{id}", "/firm/awards/{id}",
             "/firm/redemptions/{id}", "/firm/vouchers/{id}", "/firm/applications/new",
             "/firm/awards/new", "/firm/authorisations/new"},
    "provider": {"/provider/bookings/{id}", "/provider/claims/{id}", "/provider/claims/new"},
    "operator": {"/operator/batches/{id}", "/operator/batches/new", "/operator/vouchers/{id}",
                 "/operator/firms/new", "/operator/providers/new"},
    "approver": {"/approver/applications/{id}", "/approver/awards/{id}",
                 "/approver/batches/{id}", "/approver/claims/{id}"},
    "auditor": {"/auditor/entries/{id}"},
}
# Links the walk does not follow: files (PDF, CSV, XLSX, uploaded documents), other languages,
# signing out, paging and sorting of a list already seen (same path, other query).
SKIP = re.compile(r"\.(pdf|csv|xlsx)$|/documents/|/evidence/|^/lang/|^/sign-out|^/docs")

# (a) raw codes
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
DOTTED = re.compile(r"\b[a-z]+(?:\.[a-z_]+)+\b")
ACTOR = re.compile(r"\b(?:user|demo|cli):[\w:-]+")
# (b) an id where a name belongs (a year after the word is no id: 瞪羚企业 2025, 企业 2026 年度)
PARTY_ID = re.compile(r"(?:企业|服务机构|用户|\bfirm|\bprovider|\buser)[ \u00a0]*#?"
                      r"(?!(?:19|20)\d\d\b)\d+\b", re.IGNORECASE)
# (c) three Latin words in a row (words of two letters or more, spaces or punctuation between)
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ ,;:()/·-]+[A-Za-z][A-Za-z'’]+){2,}")

# What the checker lets pass, and why:
ALLOWED: tuple[tuple[str, re.Pattern[str]], ...] = (
    # addresses and file names a person copies as they are
    ("urls", re.compile(r"https?://\S+")),
    ("file names", re.compile(r"\b[\w.-]+\.(?:pdf|csv|xlsx|png|jpe?g)\b", re.IGNORECASE)),
    # hashes, shown as hex
    ("hashes", re.compile(r"\b[0-9a-f]{16,}\b")),
    # English abbreviations inside an English sentence
    ("abbreviations", re.compile(r"\b(?:e\.g|i\.e)\.")),
)


# The page's text as a person reads it, with every choice of its lists, without a <code> shown
# beside words of its own (a refusal's sentence and its code, a report's name and its kind): a
# <code> alone in its cell or line is read like any other text.
READABLE_TEXT = r"""() => {
  for (const c of document.querySelectorAll('main code')) {
    const around = c.parentElement ? c.parentElement.innerText.trim() : '';
    if (around !== c.innerText.trim()) c.style.display = 'none';
  }
  const options = [...document.querySelectorAll('option')].map(o => o.text);
  return document.body.innerText + '\n' + options.join('\n');
}"""


def findings(text: str, language: str) -> list[str]:
    """What is wrong with a page's rendered text: one line per finding."""
    for _why, pattern in ALLOWED:
        text = pattern.sub(" ", text)
    found = [f"raw code {m.group()!r}" for p in (SNAKE, DOTTED, ACTOR) for m in p.finditer(text)]
    found += [f"id for a name {m.group()!r}" for m in PARTY_ID.finditer(text)]
    if language.startswith("zh"):
        found += [f"English on a Chinese page {m.group()!r}" for m in LATIN_RUN.finditer(text)]
    return found


@dataclass(frozen=True)
class Walked:
    """A page the walk read and what the checker found there."""

    path: str
    problems: list[str]


@pytest.fixture(scope="module")
def walk_server(databases, console_serving) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The console over a small demo year, on the suite's engine: its base URL."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "_hasher", FAST_HASHER)
        engine = make_engine(databases.fresh_url())
        with transaction(make_sessionmaker(engine)) as session:
            build_demo(session, firms=FIRMS, providers=PROVIDERS)
        with console_serving(engine) as base_url:
            yield base_url
        engine.dispose()


def _shape(path: str) -> str:
    """A path with its ids made generic: one page of each shape is enough."""
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def walk(page, role_prefix: str, page_language: str  # type: ignore[no-untyped-def]
         ) -> list[Walked]:
    """Every menu page, then one page of each shape they link to (two levels)."""
    menu = [urlsplit(h).path for h in page.eval_on_selector_all(
        "nav.menu a", "links => links.map(a => a.getAttribute('href'))")]
    seen_shapes: set[str] = set()
    queue: list[tuple[str, int]] = [(p, 0) for p in [*menu, "/account"]]
    walked: list[Walked] = []
    while queue:
        path, depth = queue.pop(0)
        if _shape(path) in seen_shapes:
            continue
        seen_shapes.add(_shape(path))
        response = page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        text = page.evaluate(READABLE_TEXT)
        language = page.get_attribute("html", "lang") or ""
        assert language == page_language, f"{path}: a {language} page, not {page_language}"
        walked.append(Walked(path, findings(text, language)))
        if depth >= 2:
            continue
        for href in page.eval_on_selector_all(
                "main a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(href)
            if target.netloc or not target.path.startswith(role_prefix) or SKIP.search(
                    target.path):
                continue
            if _shape(target.path) not in seen_shapes:
                queue.append((target.path, depth + 1))
    return walked


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("username", ROLES)
def test_every_page_reads_in_its_language_with_names(chromium, sign_in_at, walk_server,
                                                    username, language):
    page = sign_in_at(chromium, walk_server, username, language)
    try:
        role = username.removeprefix("demo-")
        walked = walk(page, f"/{role}", language)
    finally:
        page.context.close()
    missing = DETAILS[role] - {_shape(w.path) for w in walked}
    assert not missing, f"the walk did not reach {sorted(missing)}"
    report = [f"{w.path}: {p}" for w in walked for p in w.problems]
    assert not report, "\n".join(report)


def test_the_checker_finds_codes_ids_and_english_and_lets_the_rest_pass():
    shown = "状态 in_payment · 业务 voucher.issue · 操作人 user:1:demo-operator"
    assert findings(shown, "zh-CN") == [
        "raw code 'in_payment'", "raw code 'voucher.issue'", "raw code 'user:1:demo-operator'"]
    assert findings("付款人 企业 3 · provider 8", "zh-CN") == [
        "id for a name '企业 3'", "id for a name 'provider 8'"]
    assert findings("说明 The voucher has expired.", "zh-CN") == [
        "English on a Chinese page 'The voucher has expired'"]
    assert findings("The voucher has expired.", "en") == []
    # Serials, credit codes, hashes, file names, years and e.g. pass; a code beside its words is
    # taken out of the text before the checker reads it (READABLE_TEXT).
    assert findings("V000029 91210100MA0Y7K3N5H 81522428a8dbeb0829658c988ad44a86 bank.csv "
                    "瞪羚企业 2025 该企业 2026 年度 API 接口", "zh-CN") == []
    assert findings("The serial on the firm's voucher, e.g. V000262.", "en") == []
