"""ledger_post() and ledger_seal() cheaper under many posters and a long journal (PostgreSQL)

Both functions keep their signatures and results; the chain is the same, byte for byte.

- Both plan their statements once per session (`plan_cache_mode = force_generic_plan`):
  with parameters PL/pgSQL re-planned them on most calls, ≈ 0.2 ms a call of server CPU,
  more than an empty seal's whole work. The generic plans use the same indexes (the account
  lock a BitmapOr over the code and id indexes, the entries by primary key).
- The queue is read into an array first and the entries are then fetched by id. 0018 wrote
  `j.id IN (SELECT … FROM journal_unsealed … LIMIT n)`, which the planner ran as a merge join
  over the whole `journal_entries` index: ≈ 9 ms a seal at 50,000 entries, growing with the
  journal, under the head lock.
- A sealer that finds the head taken and its own entries still queued waits for the head in
  the same call (no second round trip) and, once it has the head, leaves at once if the
  holder sealed them meanwhile; only otherwise does it seal what is queued.
- The seal rows of a batch are written by one INSERT from arrays.

`verify` re-encodes in Python and compares, as before. SQLite: nothing.

Revision ID: 0019_pg_posting_fast
Revises: 0018_pg_posting_function
Create Date: 2026-11-30 02:20:00

"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0019_pg_posting_fast"
down_revision: str | Sequence[str] | None = "0018_pg_posting_function"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The canonical encoding is 0018's (ledger.core.chain's, byte for byte), unchanged here.
SEAL_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_seal(
    p_limit integer,   -- at most this many queued entries
    p_wait boolean,    -- wait for the head (else: see p_mine)
    p_mine bigint[],   -- the caller's entries: if the head is taken and any of these is
                       -- still queued, wait for the head, then seal unless they were sealed
    OUT o_sealed integer, OUT o_mine_queued boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    head record;
    e record;
    seq_ bigint;
    prev text;
    hash_ text;
    last_at timestamptz;
    now_ timestamptz := clock_timestamp();
    queued bigint[];
    ids bigint[] := '{}';
    seqs bigint[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
BEGIN
    o_mine_queued := false;
    IF p_wait THEN
        SELECT sealed_entries, head_hash, last_posted_at INTO head
            FROM ledger_head WHERE id = 1 FOR UPDATE;
    ELSE
        SELECT sealed_entries, head_hash, last_posted_at INTO head
            FROM ledger_head WHERE id = 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            -- Another sealer holds the head. If it read the queue before our commit, our
            -- entries are still queued: wait for it here, in this call.
            IF NOT EXISTS (SELECT 1 FROM journal_unsealed WHERE entry_id = ANY(p_mine)) THEN
                RETURN;
            END IF;
            SELECT sealed_entries, head_hash, last_posted_at INTO head
                FROM ledger_head WHERE id = 1 FOR UPDATE;
            -- A new statement, a new snapshot: it sees what the holder committed.
            IF NOT EXISTS (SELECT 1 FROM journal_unsealed WHERE entry_id = ANY(p_mine)) THEN
                o_sealed := 0;
                RETURN;
            END IF;
        END IF;
    END IF;
    -- Each statement below sees what the previous sealer committed before we had the head.
    SELECT array_agg(entry_id ORDER BY entry_id) INTO queued
        FROM (SELECT entry_id FROM journal_unsealed ORDER BY entry_id LIMIT p_limit) AS q;
    seq_ := head.sealed_entries;
    prev := head.head_hash;
    last_at := head.last_posted_at;
    FOR e IN
        SELECT j.id, j.posted_at,
               'E' || chr(31) || j.id::text || chr(31)
               || ((extract(epoch FROM date_trunc('second', j.posted_at)))::bigint * 1000000
                   + (extract(microseconds FROM j.posted_at))::bigint % 1000000)::text
               || chr(31) || j.flow || chr(31) || j.ref || chr(31) || j.actor || chr(31)
               || j.memo || chr(31) || coalesce(j.reverses_entry_id::text, '')
               || (SELECT string_agg(chr(10) || 'T' || chr(31) || t.id::text || chr(31)
                                     || d.code || chr(31) || c.code || chr(31)
                                     || t.amount::text || chr(31) || t.kind || chr(31)
                                     || coalesce(t.pending_id::text, ''), '' ORDER BY t.id)
                   FROM transfers t
                   JOIN accounts d ON d.id = t.debit_account_id
                   JOIN accounts c ON c.id = t.credit_account_id
                   WHERE t.entry_id = j.id) AS body
        FROM journal_entries j
        WHERE j.id = ANY(queued)
          AND EXISTS (SELECT 1 FROM transfers t WHERE t.entry_id = j.id)
        ORDER BY j.id
    LOOP
        seq_ := seq_ + 1;
        hash_ := encode(sha256(convert_to(prev || chr(10) || e.body, 'UTF8')), 'hex');
        seqs := seqs || seq_;
        ids := ids || e.id;
        prevs := prevs || prev;
        hashes := hashes || hash_;
        prev := hash_;
        last_at := greatest(last_at, e.posted_at);
    END LOOP;
    o_sealed := cardinality(ids);
    IF o_sealed > 0 THEN
        INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at)
            SELECT s.seq, s.entry_id, s.prev_hash, s.hash, now_
            FROM unnest(seqs, ids, prevs, hashes) AS s(seq, entry_id, prev_hash, hash)
            ORDER BY s.seq;
        DELETE FROM journal_unsealed WHERE entry_id = ANY(ids);
        UPDATE ledger_head SET sealed_entries = seq_, head_hash = prev, last_posted_at = last_at
            WHERE id = 1;
        o_mine_queued := EXISTS (SELECT 1 FROM journal_unsealed WHERE entry_id = ANY(p_mine));
    END IF;
END
$fn$;
"""


def _previous() -> ModuleType:
    """Migration 0018's module: its function text is the previous version."""
    path = Path(__file__).with_name("0018_pg_posting_function.py")
    spec = importlib.util.spec_from_file_location("_migration_0018", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


POST_SIGNATURE = (
    "ledger_post(text[], text[], text[], bigint[], bigint[], text, text, text, text, "
    "timestamptz, bigint, text, text, text)"
)


def upgrade() -> None:
    """Replace ledger_seal() and plan ledger_post() once per session on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SEAL_FUNCTION)
        op.execute(f"ALTER FUNCTION {POST_SIGNATURE} SET plan_cache_mode = force_generic_plan")


def downgrade() -> None:
    """Put back 0018's ledger_seal() and ledger_post() planning on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {POST_SIGNATURE} RESET plan_cache_mode")
        previous = _previous()
        op.execute(f"DROP FUNCTION {previous.SEAL_SIGNATURE}")
        op.execute(previous.SEAL_FUNCTION)
