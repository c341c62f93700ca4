"""Migrations on a SQLite file that holds money: tables rebuilt under rows that reference them.

SQLite alters a table by copying it into a new one and dropping the old; with foreign keys on,
dropping `payment_batches` while paid lines, confirmations and returns reference it fails.
This pays a batch, has one line returned, walks the schema down past the payment migration
and up again, and checks that nothing was lost: the same journal head, verify OK, the rows
and their references intact.
"""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import func, select, text
from voucher_helpers import APPROVER, CODE, FIRM, OPERATOR, PDF, PNG, PROVIDER

from ledger.core.db import make_engine, transaction
from ledger.core.migrations import alembic_config, upgrade
from ledger.core.verify import verify
from ledger.payments import batches as payments
from ledger.payments import confirmation, returns
from ledger.payments.batches import PaymentLine
from ledger.registry.evidence import Upload
from ledger.vouchers import claims, redemptions
from ledger.vouchers import voucher as vouchers
from tests.authorised import authorised_book

EVIDENCE = (Upload("contract", "contract.pdf", PDF), Upload("invoice", "invoice.png", PNG),
            Upload("service_report", "report.pdf", PDF + b"r"))


@pytest.fixture
def db_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A SQLite file on either engine's run: the table rebuild is SQLite's own."""
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    upgrade(url)
    return url


def _paid_and_returned(sessions) -> int:  # type: ignore[no-untyped-def]
    with transaction(sessions) as s:
        voucher = vouchers.issue_voucher(s, CODE, 1, 10_000_000, by=OPERATOR)
    claim_ids = []
    for cost in (1_000_000, 600_000):
        with transaction(sessions) as s:
            r = authorised_book(s, voucher_id=voucher.id, provider_id=1, category="testing",
                                cost_fen=cost, description="检测", by=PROVIDER)
            redemptions.complete(s, r.id, provider_id=1, by=PROVIDER)
            redemptions.confirm(s, r.id, firm_id=1, by=FIRM)
            claim = claims.file_claim(s, r.id, provider_id=1, files=EVIDENCE, by=PROVIDER)
            claims.approve(s, claim.id, by=APPROVER)
        claim_ids.append(claim.id)
    with transaction(sessions) as s:
        batch = payments.create_batch(s, CODE, by=OPERATOR, claim_ids=claim_ids)
        payments.release_batch(s, batch.id, by=APPROVER)
    with transaction(sessions) as s:
        confirmation.mark_paid(s, batch.id, by=OPERATOR, reference="CMB0001",
                               value_date=dt.date(2026, 6, 1))
    with transaction(sessions) as s:
        returns.record_return(s, batch.id, 2, amount_fen=300_000, reason="账户已销户",
                              by=OPERATOR)
    return batch.id


def test_a_paid_batch_with_a_return_survives_the_migrations_down_and_up(db_url, sessions,
                                                                        programme):
    batch_id = _paid_and_returned(sessions)
    with transaction(sessions) as s:
        before = verify(s)
        lines = s.scalar(select(func.count()).select_from(PaymentLine))
    assert before.ok and lines == 2
    config = alembic_config(db_url)
    command.downgrade(config, "0009")  # below the payment migration: its tables rebuilt
    command.upgrade(config, "head")  # and rebuilt again, under the same rows
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.execute(text("SELECT count(*) FROM payment_lines WHERE batch_id = :b"),
                                {"b": batch_id}).scalar() == 2
    finally:
        engine.dispose()
    with transaction(sessions) as s:
        after = verify(s)
    # The journal keeps every entry, the return's reversal included, and its chain is the same.
    assert after.ok and (after.entries, after.head_hash) == (before.entries, before.head_hash)
