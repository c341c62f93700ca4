"""A known programme year built with the ledger core, for rendering reports from."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from ledger.core.accounts import open_account
from ledger.core.db import transaction
from ledger.core.journal import (
    EntryRequest,
    Move,
    create_hold,
    head,
    post_entry,
    post_hold,
    reverse_entry,
    void_hold,
)
from rules.loader import PolicySet, load_policies

LEDGER = "LN-CXQ-2025"
P = LEDGER


def at(month: int, day: int) -> datetime:
    """Noon UTC (20:00 in Beijing) on a day of 2025."""
    return datetime(2025, month, day, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    """The ledger code, the entries posted and the head hash after them."""

    ledger: str
    entries: int
    head_hash: str


def build_year(sessions: sessionmaker[Session]) -> Scenario:
    """Appropriate 1,234,567.89, issue two vouchers, book, complete, pay, cancel, claw back.

    Also a second ledger with money of its own, which no LN-CXQ-2025 report may show.
    """
    with transaction(sessions) as s:
        open_account(s, f"{P}:funding", P)
        open_account(s, f"{P}:budget", P, credits_must_not_exceed_debits=True)
        for v in ("V001", "V002"):
            open_account(s, f"{P}:voucher:{v}", P, credits_must_not_exceed_debits=True)
        open_account(s, f"{P}:provider:S01", P, credits_must_not_exceed_debits=True)
        open_account(s, f"{P}:paid", P)
        open_account(s, "OTHER:funding", "OTHER")
        open_account(s, "OTHER:budget", "OTHER")
    with transaction(sessions) as s:
        def post(moves: tuple[Move, ...], flow: str, when: datetime) -> int:
            return post_entry(s, EntryRequest(moves, flow=flow, actor="op1", posted_at=when)).id

        post((Move(f"{P}:budget", f"{P}:funding", 123_456_789),), "appropriate", at(1, 10))
        post((Move("OTHER:budget", "OTHER:funding", 999_999),), "appropriate", at(1, 11))
        post(
            (
                Move(f"{P}:voucher:V001", f"{P}:budget", 10_000_000),
                Move(f"{P}:voucher:V002", f"{P}:budget", 5_000_050),
            ),
            "issue",
            at(2, 1),
        )
        meta = {"actor": "S01"}
        hold = create_hold(
            s, f"{P}:provider:S01", f"{P}:voucher:V001", 3_000_000, posted_at=at(3, 5), **meta
        )
        post_hold(s, hold.transfers[0].id, 2_500_025, posted_at=at(3, 20), **meta)
        cancelled = create_hold(
            s, f"{P}:provider:S01", f"{P}:voucher:V002", 1_000_000, posted_at=at(4, 1), **meta
        )
        void_hold(s, cancelled.transfers[0].id, posted_at=at(4, 10), **meta)
        post((Move(f"{P}:paid", f"{P}:provider:S01", 2_500_025),), "pay", at(5, 1))
        create_hold(
            s, f"{P}:provider:S01", f"{P}:voucher:V001", 500_000, posted_at=at(7, 1), **meta
        )
        extra = post((Move(f"{P}:voucher:V002", f"{P}:budget", 1_000_000),), "issue", at(8, 1))
        # reverse_entry stamps the time of posting: the clawback lands today, after 2025.
        reverse_entry(s, extra, flow="clawback", actor="op1")
    with transaction(sessions) as s:
        entries, head_hash = head(s)
    return Scenario(LEDGER, entries, head_hash)


@pytest.fixture
def year(sessions: sessionmaker[Session]) -> Scenario:
    """The known year, posted on this test's clean database."""
    return build_year(sessions)


@pytest.fixture(scope="session")
def policy_set() -> PolicySet:
    """The shipped policy files."""
    return load_policies()


def pdf_pages(pdf: bytes | Path) -> list[str]:
    """The text of each page of a PDF, as pypdf extracts it."""
    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf
    return [page.extract_text() for page in PdfReader(source).pages]


@pytest.fixture
def read_pdf() -> Callable[[bytes | Path], list[str]]:
    """Extract a PDF's text page by page."""
    return pdf_pages
