"""The seal step: postings lock only their accounts; committed entries are chained after commit.

A posting held open never blocks postings on other accounts (PostgreSQL); a process killed
between commit and seal loses nothing; every entry posted concurrently ends up sealed; a
tampered seal is named by verify; an entry left unsealed past the bound fails verify.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select, text
from sqlalchemy.exc import DatabaseError, InvalidRequestError
from typer.testing import CliRunner

from api.cli import app
from ledger.core.accounts import balance
from ledger.core.acting import business_clock
from ledger.core.db import before_commit, transaction
from ledger.core.errors import InsufficientBalance
from ledger.core.journal import EntryRequest, Move, get_entry, head, post_entry
from ledger.core.models import LedgerHead, UnsealedEntry
from ledger.core.seal import SEAL_BOUND, seal_batch, seal_committed, seal_visible
from ledger.core.verify import _account_mismatches, verify
from tests.core.scenario import fund_voucher, open_chart

ROOT = Path(__file__).resolve().parents[2]


def _move(debit: str, credit: str, amount: int) -> EntryRequest:
    return EntryRequest((Move(debit, credit, amount),), flow="manual")


def _tamper(engine, table: str, *statements: str) -> None:
    """Change rows behind the append-only triggers (they stay in place for later tests on
    PostgreSQL, whose test database is reused; SQLite's file is this test's own)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(f"DROP TRIGGER {table}_no_update"))
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            conn.execute(text(statement))


@pytest.fixture
def two_charts(sessions):
    """Programmes P and Q, each with 1,000 fen on its voucher V1 (four entries, sealed)."""
    with transaction(sessions) as s:
        for ledger in ("P", "Q"):
            open_chart(s, ledger=ledger)
            fund_voucher(s, 1_000, ledger=ledger)
    return sessions


def test_an_open_posting_does_not_hold_up_postings_on_other_accounts(two_charts, engine):
    held_open, release, other_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_posting() -> None:
        try:
            with transaction(two_charts) as s:
                post_entry(s, _move("P:provider:S1", "P:voucher:V1", 100))
                held_open.set()
                release.wait(30)
        except BaseException as exc:
            errors.append(exc)

    def other_posting() -> None:
        try:
            with transaction(two_charts) as s:
                post_entry(s, _move("Q:provider:S1", "Q:voucher:V1", 100))
            other_done.set()
        except BaseException as exc:
            errors.append(exc)

    slow = threading.Thread(target=slow_posting)
    slow.start()
    assert held_open.wait(30)
    other = threading.Thread(target=other_posting)
    other.start()
    if engine.dialect.name == "postgresql":
        # Row locks on P's accounts only: Q's posting commits while P's transaction is open.
        assert other_done.wait(10), "a posting on other accounts waited for an open posting"
    else:
        # SQLite has one writer: the other posting waits for the open one to commit.
        assert not other_done.wait(0.5)
    release.set()
    slow.join(30)
    other.join(30)
    assert not errors and other_done.is_set()
    with transaction(two_charts) as s:
        assert balance(s, "P:voucher:V1").credits_posted == 100
        assert balance(s, "Q:voucher:V1").credits_posted == 100
        report = verify(s)
        assert report.ok and report.entries == 6 and not report.unsealed


def test_a_posting_on_the_same_accounts_waits_for_the_open_one(two_charts):
    held_open, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def spend(amount: int, hold: bool) -> None:
        try:
            with transaction(two_charts) as s:
                post_entry(s, _move("P:provider:S1", "P:voucher:V1", amount))
                if hold:
                    held_open.set()
                    release.wait(30)
            outcomes.append(f"spent {amount}")
        except InsufficientBalance:
            outcomes.append(f"refused {amount}")

    first = threading.Thread(target=spend, args=(700, True))
    first.start()
    assert held_open.wait(30)
    second = threading.Thread(target=spend, args=(700, False))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting on the voucher's row lock, not reading a stale balance
    release.set()
    first.join(30)
    second.join(30)
    assert sorted(outcomes) == ["refused 700", "spent 700"]


def test_concurrent_postings_in_both_directions_never_deadlock_and_all_seal(two_charts):
    codes = ["P:budget", "P:voucher:V1", "P:provider:S1", "P:paid"]
    errors: list[BaseException] = []
    posted = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(8):
            debit, credit = rng.sample(codes, 2)
            try:
                with transaction(two_charts) as s:
                    entry = post_entry(
                        s,
                        EntryRequest(
                            (Move(debit, credit, 1), Move(credit, debit, 1)), flow="manual"
                        ),
                    )
                # Its own seal step returned only once the entry was sealed, by it or another.
                with transaction(two_charts) as s:
                    assert get_entry(s, entry.id).hash is not None, entry.id
                with lock:
                    posted.append(entry.id)
            except InsufficientBalance:
                pass
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    with transaction(two_charts) as s:
        report = verify(s)
        # Every committed entry was sealed by its own after-commit step or by another's.
        assert report.ok and not report.unsealed
        assert report.entries == head(s)[0] == 4 + len(posted)
        assert all(get_entry(s, i).hash is not None for i in posted)


@pytest.mark.parametrize("holder_seals", [False, True])
def test_a_poster_that_finds_the_head_taken_returns_once_its_entry_is_sealed(
    two_charts, engine, holder_seals
):
    """Another sealer holds the head: the poster's seal step waits for it (PostgreSQL: inside
    the same ledger_seal() call) and seals the entry unless that sealer sealed it meanwhile."""
    done, errors, posted, checkouts = threading.Event(), [], [], []

    def checkout(*_: object) -> None:
        checkouts.append(threading.get_ident())

    def poster() -> None:
        try:
            with transaction(two_charts) as s:
                posted.append(post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10)).id)
            done.set()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=poster)
    with two_charts() as holder, holder.begin():
        holder.execute(select(LedgerHead.id).where(LedgerHead.id == 1).with_for_update())
        event.listen(engine.pool, "checkout", checkout)
        thread.start()
        assert not done.wait(1.0)  # committed (PostgreSQL) but not sealed: not returned yet
        if holder_seals:
            # PostgreSQL: the holder's seal covers the poster's entry, which then leaves.
            seal_batch(holder)
    thread.join(30)
    event.remove(engine.pool, "checkout", checkout)
    assert not errors and done.is_set()
    if engine.dialect.name == "postgresql":
        # The seal rode the posting's commit and waited in that call: one connection, once.
        assert checkouts == [thread.ident]
    with transaction(two_charts) as s:
        assert get_entry(s, posted[0]).hash is not None
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == head(s)[0] == 5


KILLED_POSTER = """
import os, signal
from ledger.core.db import make_engine, make_sessionmaker
from ledger.core.journal import EntryRequest, Move, post_entry

session = make_sessionmaker(make_engine({url!r}))()
with session.begin():
    post_entry(session, EntryRequest((Move("P:provider:S1", "P:voucher:V1", 250),), flow="redeem"))
# Committed; killed before the seal step could run.
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_between_commit_and_seal_loses_nothing(two_charts, db_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = textwrap.dedent(KILLED_POSTER.format(url=db_url))
    run = subprocess.run([sys.executable, "-c", script], env=env, timeout=120, check=False)
    assert run.returncode == -signal.SIGKILL
    with transaction(two_charts) as s:
        report = verify(s)
        assert [u.entry_id for u in report.unsealed] == [5]
        assert report.ok and report.entries == 4  # young: reported, not yet a failure
        assert get_entry(s, 5).hash is None
        assert balance(s, "P:voucher:V1").credits_posted == 250
    assert seal_committed(two_charts) == 1
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and report.entries == 5 and not report.unsealed
        assert head(s) == (5, get_entry(s, 5).hash)


def test_an_entry_unsealed_past_the_bound_fails_verify(two_charts, engine, db_url):
    with two_charts() as s, s.begin():  # not through transaction(): nothing seals it
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
    with transaction(two_charts) as s:
        report = verify(s)
    assert report.ok
    later = replace(report, checked_at=report.checked_at + SEAL_BOUND + timedelta(seconds=1))
    assert not later.ok and [u.entry_id for u in later.stale] == [5]
    # Taken off the queue behind the seal step's back, it can never be sealed: a failure now.
    with engine.begin() as conn:
        conn.execute(delete(UnsealedEntry))
    result = CliRunner().invoke(app, ["verify", "--url", db_url])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "UNSEALED entry=5: never queued" in lines
    assert lines[-1].startswith("FAILED entries=4 ") and lines[-1].endswith(" unsealed=1")


def test_an_entry_queued_while_a_business_clock_replays_a_past_year_is_young(sessions):
    # The seal bound is real time: an entry posted a moment ago on a replayed past day
    # (the demo year) has waited a moment, not a year.
    a_year_ago = datetime.now(UTC) - timedelta(days=365)
    with business_clock(a_year_ago):
        with transaction(sessions) as s:
            open_chart(s, ledger="P")
            fund_voucher(s, 1_000, ledger="P")
        with sessions() as s, s.begin():
            post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))  # queued, not sealed
    with transaction(sessions) as s:
        report = verify(s)
        [queued] = report.unsealed
        assert get_entry(s, queued.entry_id).posted_at < a_year_ago + timedelta(minutes=1)
    assert queued.queued_at is not None
    assert report.checked_at - queued.queued_at < timedelta(minutes=1)
    assert report.ok and not report.stale


@pytest.mark.parametrize(
    "statement",
    ["UPDATE journal_seals SET hash = prev_hash WHERE seq = 2", "DELETE FROM journal_seals"],
)
def test_database_refuses_changes_to_seals(two_charts, engine, statement):
    with pytest.raises(DatabaseError, match="refused"), engine.begin() as conn:
        conn.execute(text(statement))


def test_verify_names_the_entry_whose_seal_was_rewritten(two_charts, engine, db_url):
    with transaction(two_charts) as s:
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
    _tamper(engine, "journal_seals", "UPDATE journal_seals SET hash = prev_hash WHERE entry_id = 3")
    result = CliRunner().invoke(app, ["verify", "--url", db_url])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("BROKEN entry=3: content hash")
    assert lines[-1].startswith("FAILED entries=5")


def test_verify_in_worker_processes_agrees_and_names_the_first_break(two_charts, engine):
    with transaction(two_charts) as s:
        for amount in (10, 20, 30, 40):
            post_entry(s, _move("P:provider:S1", "P:voucher:V1", amount))
    with transaction(two_charts) as s:
        alone, spread = verify(s), verify(s, workers=3, min_parallel=1)
    assert spread.ok and (spread.entries, spread.head_hash) == (alone.entries, alone.head_hash)
    _tamper(
        engine,
        "transfers",
        "UPDATE transfers SET amount = 21 WHERE entry_id = 6",
        "UPDATE transfers SET amount = 41 WHERE entry_id = 8",
    )
    with two_charts() as s, s.begin():  # not through transaction(): nothing seals it
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 5))
    with transaction(two_charts) as s:
        report = verify(s, workers=3, min_parallel=1)
        alone = verify(s)
        in_sql = _account_mismatches(s)
    assert not report.ok and report.first_break is not None
    assert report.first_break.entry_id == 6
    assert report.first_break.reason.startswith("content hash")
    assert report.entries == 8 and [u.entry_id for u in report.unsealed] == [9]
    # The totals, added up by share in each process (SQLite) or summed by the server, agree
    # with one process's and with the SQL aggregate's.
    assert report.mismatches == alone.mismatches == in_sql and len(in_sql) == 2


def test_a_worker_sums_only_the_transfers_of_the_snapshot_verify_started_from(
    two_charts, db_url
):
    # Workers read later snapshots than verify's own session; on SQLite they count transfer
    # ids up to the session's last one, so a posting committed meanwhile is not summed.
    from sqlalchemy import func, select

    from ledger.core.models import Transfer
    from ledger.core.verify import check_range_at

    with transaction(two_charts) as s:
        top = s.scalar(select(func.max(Transfer.id)))
    before = check_range_at(db_url, 1, 4, (None, None, top)).sums
    with transaction(two_charts) as s:
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
    after = check_range_at(db_url, 1, 4, (None, None, top))
    assert after.count == 4 and after.first_break is None and after.sums is not None
    assert before is not None and after.sums.totals() == before.totals()
    later = check_range_at(db_url, 1, 4, (None, None, top + 1)).sums
    assert later is not None and later.totals() != before.totals()


def test_seals_match_the_reference_encoding_for_any_text_and_time(sessions):
    """Whoever seals (Python, or ledger_seal() on PostgreSQL), verify's Python re-encoding
    agrees: non-ASCII text, a reversal, a hold's resolution, a time before 1970 with µs."""
    from datetime import UTC, datetime

    from ledger.core.journal import create_hold, post_hold, reverse_entry

    with transaction(sessions) as s:
        open_chart(s)
        before_1970 = datetime(1969, 12, 31, 23, 59, 58, 500_001, tzinfo=UTC)
        post_entry(s, EntryRequest((Move("P:budget", "P:funding", 900),), flow="appropriate",
                                   ref="批次:7", actor="审批人 ✓", memo="五块 — «ok»",
                                   posted_at=before_1970))
        spent = post_entry(s, _move("P:voucher:V1", "P:budget", 300))
        reverse_entry(s, spent.id, memo="撤销")
        hold = create_hold(s, "P:provider:S1", "P:budget", 200)
        post_hold(s, hold.transfers[0].id, 150)
    with transaction(sessions) as s:
        assert head(s)[0] == 5
        assert get_entry(s, 1).posted_at == before_1970
        report = verify(s)
        assert report.ok and not report.unsealed, report


def test_a_unit_of_work_commits_once_and_seals_what_was_queued_before_its_own(
    two_charts, engine
):
    """SQLite seals a unit's entries inside its own transaction (one writer: no window
    between commit and seal); an entry left queued by a plain session is chained first."""
    with two_charts() as s, s.begin():  # not through transaction(): stays queued
        older = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", count)
    with transaction(two_charts) as s:
        mine = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 20))
        inside = verify(s)
        assert [u.entry_id for u in inside.unsealed] == [older.id, mine.id]  # queued here
        assert inside.ok and all(u.queued_at is not None for u in inside.unsealed)
        # SQLite seals its own entries before commit: they need no queue row.
        queue = s.scalars(select(UnsealedEntry.entry_id).order_by(UnsealedEntry.entry_id)).all()
        assert queue == ([older.id] if engine.dialect.name == "sqlite" else [older.id, mine.id])
    event.remove(engine, "commit", count)
    if engine.dialect.name == "sqlite":
        assert len(commits) == 1  # the seal ran before the posting's commit, not after it
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == head(s)[0] == 6
        seqs = dict(s.execute(text("SELECT entry_id, seq FROM journal_seals")).all())
        assert seqs[older.id] == 5 and seqs[mine.id] == 6


def test_an_older_entry_that_cannot_be_sealed_does_not_hold_back_the_units_own(
    two_charts, engine
):
    """An entry written around the journal (no transfers) and queued cannot be chained by the
    seal step's reading; the unit's own entries are sealed all the same, and it stays
    reported."""
    new_id = "nextval('journal_entry_ids')" if engine.dialect.name == "postgresql" else "NULL"
    with engine.begin() as conn:
        stray = conn.execute(text(
            "INSERT INTO journal_entries (id, posted_at, flow, ref, actor, memo) "
            f"VALUES ({new_id}, CURRENT_TIMESTAMP, 'manual', '', 'test', '') RETURNING id"
        )).scalar_one()
        conn.execute(text(
            "INSERT INTO journal_unsealed (entry_id, queued_at) VALUES (:id, CURRENT_TIMESTAMP)"
        ), {"id": stray})
    with transaction(two_charts) as s:
        mine = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 20))
    with transaction(two_charts) as s:
        assert get_entry(s, mine.id).hash is not None
        assert balance(s, "P:voucher:V1").credits_posted == 20
        unsealed = [u.entry_id for u in verify(s).unsealed]
        assert mine.id not in unsealed
        if engine.dialect.name == "sqlite":
            assert unsealed == [stray]


def test_seal_visible_covers_the_units_own_entries_and_each_is_sealed_once(two_charts):
    """A unit that states the head (an award publication) seals what it posted first; what
    it posts afterwards is sealed at commit, and nothing twice."""
    with transaction(two_charts) as s:
        first = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
        assert seal_visible(s) == 1
        assert head(s)[0] == 5 and get_entry(s, first.id).hash == head(s)[1]
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 20))
        assert seal_visible(s) == 1 and head(s)[0] == 6
        last = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 30))
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == 7
        assert head(s) == (7, get_entry(s, last.id).hash)


def test_a_seal_rolled_back_with_a_savepoint_is_made_again_at_commit(two_charts):
    with transaction(two_charts) as s:
        entry = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
        nested = s.begin_nested()
        assert seal_visible(s) == 1
        nested.rollback()
        assert get_entry(s, entry.id).hash is None
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == 5
        assert get_entry(s, entry.id).hash == head(s)[1]


def test_an_entry_posted_by_a_later_before_commit_hook_is_sealed(two_charts):
    with transaction(two_charts) as s:
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
        before_commit(s, lambda late: post_entry(late, _move("P:provider:S1", "P:voucher:V1",
                                                              20)))
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == head(s)[0] == 6


def test_a_unit_committed_by_hand_seals_what_it_posted(two_charts):
    """Committing inside `transaction` is a misuse SQLAlchemy refuses at the end, but what was
    committed is sealed, not left unsealed with nothing to queue it."""
    with pytest.raises(InvalidRequestError), transaction(two_charts) as s:
        entry = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
        s.commit()
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 20))
    seal_committed(two_charts)
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == 5
        assert get_entry(s, entry.id).hash == head(s)[1]
        assert balance(s, "P:voucher:V1").credits_posted == 10


def test_entries_rolled_back_with_a_savepoint_are_not_sealed(two_charts):
    with transaction(two_charts) as s:
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 10))
        nested = s.begin_nested()
        dropped = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 20))
        nested.rollback()
        # SQLite numbers it from the largest id: the rolled-back entry's id again.
        again = post_entry(s, _move("P:provider:S1", "P:voucher:V1", 30))
        nested = s.begin_nested()
        post_entry(s, _move("P:provider:S1", "P:voucher:V1", 40))
        nested.rollback()
    with transaction(two_charts) as s:
        report = verify(s)
        assert report.ok and not report.unsealed and report.entries == head(s)[0] == 6
        entry = get_entry(s, again.id)
        assert entry.hash is not None and [t.amount for t in entry.transfers] == [30]
        assert balance(s, "P:voucher:V1").credits_posted == 40
        if again.id != dropped.id:  # PostgreSQL: sequences do not give ids back
            with pytest.raises(Exception, match="no journal entry"):
                get_entry(s, dropped.id)
