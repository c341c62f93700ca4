"""Posted rows cannot be changed in place; a change made behind the triggers is found."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from api.cli import app
from ledger.core.db import transaction
from ledger.core.journal import EntryRequest, Move, post_entry
from ledger.core.verify import verify
from tests.core.scenario import fund_voucher, open_chart

STATEMENTS = [
    "UPDATE journal_entries SET memo = 'changed' WHERE id = 3",
    "DELETE FROM journal_entries WHERE id = 3",
    "UPDATE transfers SET amount = amount + 1 WHERE id = 3",
    "DELETE FROM transfers WHERE id = 3",
    "UPDATE account_history SET debits_posted = 0",
    "DELETE FROM account_history",
    "UPDATE accounts SET code = 'P:other' WHERE code = 'P:budget'",
    "DELETE FROM accounts WHERE code = 'P:paid'",
]


@pytest.fixture
def journal(sessions):
    with transaction(sessions) as s:
        open_chart(s)
        fund_voucher(s, 10_000)
        for amount in (100, 200, 300):
            post_entry(
                s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", amount),), flow="redeem")
            )
    return sessions


@pytest.mark.parametrize("statement", STATEMENTS)
def test_database_refuses_changes_to_posted_rows(journal, engine, statement):
    with pytest.raises(DatabaseError, match="refused"), engine.begin() as conn:
        conn.execute(text(statement))


def _drop_triggers(engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS transfers_no_update"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS transfers_no_change ON transfers"))


def test_verify_names_the_tampered_entry(journal, engine, db_url):
    runner = CliRunner()
    clean = runner.invoke(app, ["verify", "--url", db_url])
    assert clean.exit_code == 0, clean.output
    assert clean.output.startswith("OK entries=5 head=")
    _drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE transfers SET amount = 250 WHERE entry_id = 4"))
    broken = runner.invoke(app, ["verify", "--url", db_url])
    assert broken.exit_code == 1
    lines = broken.output.splitlines()
    assert lines[0].startswith("BROKEN entry=4: content hash")
    assert "MISMATCH account=P:provider:S1 debits_posted: stored=600 recomputed=650" in lines
    assert "MISMATCH account=P:voucher:V1 credits_posted: stored=600 recomputed=650" in lines
    assert lines[-1].startswith("FAILED entries=5")


def test_verify_finds_a_rewritten_chain_link(journal, engine, db_url):
    if engine.dialect.name == "sqlite":
        drop = "DROP TRIGGER journal_entries_no_update"
    else:
        drop = "DROP TRIGGER journal_entries_no_change ON journal_entries"
    with engine.begin() as conn:
        conn.execute(text(drop))
        conn.execute(text("UPDATE journal_entries SET memo = 'edited' WHERE id = 2"))
    result = CliRunner().invoke(app, ["verify", "--url", db_url])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith("BROKEN entry=2:")


def test_verify_reads_posting_times_as_strictly_as_the_seal(journal, engine, db_url):
    # SQLite keeps the time as text: a rewrite that a lax reading (first 19 characters, then
    # the digits after the 20th) would take for the same time must break the chain too.
    if engine.dialect.name == "sqlite":
        drop = "DROP TRIGGER IF EXISTS journal_entries_no_update"
        rewrite = "substr(posted_at, 1, 19) || 'Z' || substr(posted_at, 21)"
    else:
        drop = "DROP TRIGGER IF EXISTS journal_entries_no_change ON journal_entries"
        rewrite = "posted_at + interval '1 microsecond'"
    with engine.begin() as conn:
        conn.execute(text(drop))
        conn.execute(text(f"UPDATE journal_entries SET posted_at = {rewrite} WHERE id = 3"))
    result = CliRunner().invoke(app, ["verify", "--url", db_url])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0].startswith("BROKEN entry=3:")


def test_totals_summed_on_a_second_connection_agree(journal, engine, monkeypatch):
    import ledger.core.verify as checking

    _drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE transfers SET amount = 250 WHERE entry_id = 4"))
    reports = []
    for aside_from in (0, 10**9):  # summed aside, then in this session
        monkeypatch.setattr(checking, "ASIDE_FROM", aside_from)
        # A writing transaction (SQLite's write lock held): the aside one only reads.
        with transaction(journal) as s:
            reports.append(checking.verify(s))
            in_sql = checking._account_mismatches(s)
    aside, alone = reports
    assert aside.mismatches == alone.mismatches == in_sql and len(in_sql) == 2
    assert aside.first_break == alone.first_break and aside.first_break.entry_id == 4


def test_totals_added_up_in_the_walk_agree_with_the_aggregate(journal, engine):
    # On SQLite the chain walk adds the totals up from the transfer rows it reads; the SQL
    # aggregate is the reference: open, posted and voided holds, a reversal, an entry not
    # sealed yet, and tampered amounts, history rows and stored totals.
    import ledger.core.verify as checking
    from ledger.core.journal import create_hold, post_hold, reverse_entry, void_hold

    with transaction(journal) as s:
        first = create_hold(s, "P:provider:S1", "P:voucher:V1", 500)
        second = create_hold(s, "P:provider:S1", "P:voucher:V1", 700)
        still_open = create_hold(s, "P:provider:S1", "P:voucher:V1", 40)
        post_hold(s, first.transfers[0].id, 300)
        void_hold(s, second.transfers[0].id)
        reverse_entry(s, 3)
    with journal() as s, s.begin():  # not through transaction(): nothing seals it
        post_entry(s, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 7),), flow="late"))
    with transaction(journal) as s:
        clean = checking.verify(s)
        assert clean.ok and len(clean.unsealed) == 1 and not clean.mismatches
    _drop_triggers(engine)
    history = "account_history_no_update" if engine.dialect.name == "sqlite" else None
    with engine.begin() as conn:
        conn.execute(text("UPDATE transfers SET amount = 250 WHERE entry_id = 4"))
        for hold in (first, still_open):
            conn.execute(text(f"UPDATE transfers SET amount = amount + 1 "
                              f"WHERE id = {hold.transfers[0].id}"))
        if history:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {history}"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(
            "UPDATE account_history SET credits_posted = credits_posted + 3 WHERE account_id = "
            "(SELECT id FROM accounts WHERE code = 'P:budget') AND entry_id = "
            "(SELECT max(entry_id) FROM account_history WHERE account_id = "
            "(SELECT id FROM accounts WHERE code = 'P:budget'))"))
        conn.execute(text("UPDATE accounts SET debits_posted = debits_posted + 9 "
                          "WHERE code = 'P:funding'"))
    with transaction(journal) as s:
        report = checking.verify(s)
        in_sql = checking._account_mismatches(s)
    assert report.mismatches == in_sql, in_sql
    named = {(m.code, m.total) for m in in_sql}
    assert {("P:provider:S1", "debits_pending"), ("P:voucher:V1", "credits_pending"),
            ("P:provider:S1", "debits_posted"), ("P:funding", "debits_posted")} <= named
    assert ("P:budget", "credits_posted (latest history row)") in named


def test_verify_spells_every_kind_of_entry_as_the_seal_encoded_it(journal):
    # The fast path must agree with the reference encoder byte for byte (else every entry
    # would be re-encoded one by one): holds, their posting and release, a reversal, and
    # text outside ASCII.
    from ledger.core.journal import create_hold, post_hold, reverse_entry, void_hold
    from ledger.core.seal import canonical_entries
    from ledger.core.verify import chain_bodies

    with transaction(journal) as s:
        first = create_hold(s, "P:provider:S1", "P:voucher:V1", 500, memo="预留 ✓")
        second = create_hold(s, "P:provider:S1", "P:voucher:V1", 700, ref="hold:2")
        post_hold(s, first.transfers[0].id, 300, actor="审核员")
        void_hold(s, second.transfers[0].id)
        reverse_entry(s, 3, memo="撤销")
    with transaction(journal) as s:
        rows = list(chain_bodies(s))
        reference = {entry_id: body for entry_id, _, body in canonical_entries(
            s, [entry_id for _, entry_id, *_ in rows])}
        report = verify(s)
    assert len(rows) == 10 and all(body == reference[entry_id] for _, entry_id, _, _, body in rows)
    assert report.ok and report.entries == 10


def test_totals_of_unreadable_amounts_are_left_to_the_aggregate():
    # An amount rewritten as text (SQLite keeps what it is given) is not added up in Python:
    # the SQL aggregate, which reads it as SQLite does, decides.
    from ledger.core.verify import Sums

    sums = Sums()
    sums.add([(1, 1, 1, 2, 5, "normal", ""), (1, 2, 2, 3, 4, "pending", "")])
    sums.add([(2, 3, 2, 3, 4, "void_pending", 2)])
    assert not sums.failed and sums.totals() == {1: (0, 5, 0, 0), 2: (0, 0, 0, 5),
                                                 3: (0, 0, 0, 0)}
    sums.add([(3, 4, 1, 2, "5", "normal", "")])
    assert sums.failed
