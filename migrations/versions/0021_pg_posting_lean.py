"""ledger_post() and ledger_seal() with less server work per posting (PostgreSQL)

Both functions keep their signatures, results, refusals and the chain (byte for byte); only
how much the server does per call changes (docs/performance.md, pg_bench):

- ledger_post() writes the entry, its transfers, the history rows, the totals, the seal queue
  row and the idempotency key in one statement (data-modifying CTEs; the foreign keys are
  checked at its end, as before at each statement's end), draws ids as plain expressions,
  locks a plain move's accounts by code alone (the hold lookup and the lock by id only when
  the entry posts or voids a hold), and asks which account is missing only when one is.
- ledger_seal() writes the seals, dequeues and moves the head in one statement, skips the
  last look at the queue when the batch held all the caller's entries, and a poster that
  finds the head taken with its entries still queued waits for the holder *without* taking
  the head (`FOR KEY SHARE` in a subtransaction that is rolled back): all such posters wake
  together when the holder commits and leave at once if it sealed their entries, instead of
  taking the head one after another to find nothing to do. One whose entries are still queued
  then takes the head (`SKIP LOCKED`) or waits again.

SQLite: nothing.

Revision ID: 0021_pg_posting_lean
Revises: 0020_batch_cancel
Create Date: 2026-11-30 05:15:00

"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0021_pg_posting_lean"
down_revision: str | Sequence[str] | None = "0020_batch_cancel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POST_SIGNATURE = (
    "ledger_post(text[], text[], text[], bigint[], bigint[], text, text, text, text, "
    "timestamptz, bigint, text, text, text)"
)
SEAL_SIGNATURE = "ledger_seal(integer, boolean, bigint[])"

FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_post(
    p_kinds text[],          -- per transfer: normal, pending, post_pending, void_pending
    p_debits text[],         -- account codes of moves (NULL for post/void)
    p_credits text[],
    p_amounts bigint[],      -- NULL: post the whole hold (and always for a void)
    p_pending_ids bigint[],  -- the hold a post/void resolves (NULL for moves)
    p_flow text, p_ref text, p_actor text, p_memo text,
    p_posted_at timestamptz, -- NULL: the time of posting
    p_reverses bigint,       -- the entry this one reverses (checked under the locks)
    p_key text, p_key_hash text, p_scope text,
    OUT o_error text, OUT o_args jsonb,
    OUT o_entry_id bigint, OUT o_posted_at timestamptz, OUT o_replayed boolean,
    OUT o_ids bigint[], OUT o_debits text[], OUT o_credits text[], OUT o_amounts bigint[],
    OUT o_kinds text[], OUT o_pending_ids bigint[])
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    n int := cardinality(p_kinds);
    now_ timestamptz := clock_timestamp();
    stored record;
    codes text[] := array_remove(p_debits || p_credits, NULL);
    -- the locked accounts, in id order, and their totals as the entry changes them
    a_id bigint[]; a_code text[]; a_ledger text[]; a_lc boolean[]; a_ld boolean[];
    a_dp bigint[]; a_dpo bigint[]; a_cp bigint[]; a_cpo bigint[]; a_last timestamptz[];
    a_touched boolean[];
    -- the holds named by posts and voids
    h_id bigint[] := '{}'; h_debit bigint[] := '{}'; h_credit bigint[] := '{}';
    h_amount bigint[] := '{}'; h_resolved boolean[] := '{}';
    resolved_ids bigint[];
    missing text;
    reversed_by bigint;
    t_d int[] := '{}'; t_c int[] := '{}';
    t_debit_ids bigint[] := '{}'; t_credit_ids bigint[] := '{}';
    i int; d int; c int; h int; k int; amt bigint;
    latest int; last_at timestamptz; posted timestamptz;
BEGIN
    o_replayed := false;
    IF p_key IS NOT NULL THEN
        -- Concurrent postings with one key run one after the other; the second replays.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_scope || chr(31) || p_key, 0));
        SELECT request_hash, result INTO stored
            FROM idempotency_keys WHERE scope = p_scope AND key = p_key;
        IF FOUND THEN
            IF stored.request_hash <> p_key_hash THEN
                o_error := 'key_conflict';
                RETURN;
            END IF;
            o_replayed := true;
            o_entry_id := stored.result::bigint;
            RETURN;
        END IF;
    END IF;

    -- Lock every account the entry touches, in ascending id order (never a deadlock).
    IF p_kinds && ARRAY['post_pending', 'void_pending'] THEN
        -- A hold's accounts and amount never change: read before locking.
        SELECT coalesce(array_agg(id ORDER BY id), '{}'),
               coalesce(array_agg(debit_account_id ORDER BY id), '{}'),
               coalesce(array_agg(credit_account_id ORDER BY id), '{}'),
               coalesce(array_agg(amount ORDER BY id), '{}')
            INTO h_id, h_debit, h_credit, h_amount
            FROM transfers WHERE id = ANY(p_pending_ids) AND kind = 'pending';
        SELECT array_agg(id), array_agg(code), array_agg(ledger),
               array_agg(credits_must_not_exceed_debits),
               array_agg(debits_must_not_exceed_credits),
               array_agg(debits_pending), array_agg(debits_posted),
               array_agg(credits_pending), array_agg(credits_posted), array_agg(last_posted_at)
            INTO a_id, a_code, a_ledger, a_lc, a_ld, a_dp, a_dpo, a_cp, a_cpo, a_last
            FROM (SELECT * FROM accounts
                  WHERE code = ANY(codes) OR id = ANY(h_debit || h_credit)
                  ORDER BY id FOR UPDATE) AS locked;
    ELSE
        -- Plain moves: by code alone (one index scan, no hold to look up).
        SELECT array_agg(id), array_agg(code), array_agg(ledger),
               array_agg(credits_must_not_exceed_debits),
               array_agg(debits_must_not_exceed_credits),
               array_agg(debits_pending), array_agg(debits_posted),
               array_agg(credits_pending), array_agg(credits_posted), array_agg(last_posted_at)
            INTO a_id, a_code, a_ledger, a_lc, a_ld, a_dp, a_dpo, a_cp, a_cpo, a_last
            FROM (SELECT * FROM accounts WHERE code = ANY(codes)
                  ORDER BY id FOR UPDATE) AS locked;
    END IF;
    a_id := coalesce(a_id, '{}'); a_code := coalesce(a_code, '{}');
    IF NOT codes <@ a_code THEN
        SELECT min(x COLLATE "C") INTO missing
            FROM unnest(codes) AS x
            WHERE NOT x = ANY(a_code);
        o_error := 'no_account';
        o_args := jsonb_build_object('code', missing);
        RETURN;
    END IF;
    a_touched := array_fill(false, ARRAY[cardinality(a_id)]);

    -- Whether a hold is still open is read under the locks: resolving it locks its accounts.
    IF cardinality(h_id) > 0 THEN
        SELECT array_agg(pending_id) INTO resolved_ids
            FROM transfers WHERE pending_id = ANY(h_id);
        h_resolved := array_fill(false, ARRAY[cardinality(h_id)]);
        FOR k IN 1 .. cardinality(h_id) LOOP
            h_resolved[k] := coalesce(h_id[k] = ANY(resolved_ids), false);
        END LOOP;
    END IF;

    IF p_reverses IS NOT NULL THEN
        SELECT id INTO reversed_by FROM journal_entries WHERE reverses_entry_id = p_reverses;
        IF FOUND THEN
            o_error := 'reversed';
            o_args := jsonb_build_object('entry', p_reverses, 'reversed_by', reversed_by);
            RETURN;
        END IF;
    END IF;

    -- Each transfer's two accounts (a hold not found yet is refused below), and the entry's
    -- time: never before the last posting on any account it touches.
    FOR i IN 1 .. n LOOP
        IF p_kinds[i] IN ('normal', 'pending') THEN
            d := array_position(a_code, p_debits[i]);
            c := array_position(a_code, p_credits[i]);
        ELSE
            d := NULL;
            c := NULL;
            h := array_position(h_id, p_pending_ids[i]);
            IF h IS NOT NULL THEN
                d := array_position(a_id, h_debit[h]);
                c := array_position(a_id, h_credit[h]);
            END IF;
        END IF;
        t_d[i] := d;
        t_c[i] := c;
        IF d IS NOT NULL AND a_last[d] IS NOT NULL AND (last_at IS NULL OR a_last[d] > last_at)
        THEN
            latest := d;
            last_at := a_last[d];
        END IF;
        IF c IS NOT NULL AND a_last[c] IS NOT NULL AND (last_at IS NULL OR a_last[c] > last_at)
        THEN
            latest := c;
            last_at := a_last[c];
        END IF;
    END LOOP;
    IF p_posted_at IS NULL THEN
        posted := CASE WHEN last_at IS NULL OR now_ > last_at THEN now_ ELSE last_at END;
    ELSIF p_posted_at > now_ THEN
        o_error := 'future';
        RETURN;
    ELSIF last_at IS NOT NULL AND p_posted_at < last_at THEN
        o_error := 'precedes';
        o_args := jsonb_build_object('code', a_code[latest], 'last_at', last_at);
        RETURN;
    ELSE
        posted := p_posted_at;
    END IF;

    o_debits := '{}'; o_credits := '{}'; o_amounts := '{}'; o_kinds := '{}';
    o_pending_ids := '{}';
    FOR i IN 1 .. n LOOP
        d := t_d[i];
        c := t_c[i];
        IF p_kinds[i] IN ('normal', 'pending') THEN
            amt := p_amounts[i];
            IF a_ledger[d] <> a_ledger[c] THEN
                o_error := 'ledgers';
                o_args := jsonb_build_object('debit', a_code[d], 'credit', a_code[c],
                                             'debit_ledger', a_ledger[d],
                                             'credit_ledger', a_ledger[c]);
                RETURN;
            END IF;
            IF p_kinds[i] = 'pending' THEN
                a_dp[d] := a_dp[d] + amt;
                a_cp[c] := a_cp[c] + amt;
            ELSE
                a_dpo[d] := a_dpo[d] + amt;
                a_cpo[c] := a_cpo[c] + amt;
            END IF;
            a_touched[d] := true;
            a_touched[c] := true;
            -- The debit account's limits, then the credit account's.
            IF a_lc[d] AND a_cp[d] + a_cpo[d] > a_dpo[d] THEN
                o_error := 'limit_credits';
                o_args := jsonb_build_object('code', a_code[d], 'amount', amt,
                    'available', a_dpo[d] - a_cpo[d] - a_cp[d] + amt);
                RETURN;
            END IF;
            IF a_ld[d] AND a_dp[d] + a_dpo[d] > a_cpo[d] THEN
                o_error := 'limit_debits';
                o_args := jsonb_build_object('code', a_code[d], 'amount', amt,
                    'available', a_cpo[d] - a_dpo[d] - a_dp[d] + amt);
                RETURN;
            END IF;
            IF a_lc[c] AND a_cp[c] + a_cpo[c] > a_dpo[c] THEN
                o_error := 'limit_credits';
                o_args := jsonb_build_object('code', a_code[c], 'amount', amt,
                    'available', a_dpo[c] - a_cpo[c] - a_cp[c] + amt);
                RETURN;
            END IF;
            IF a_ld[c] AND a_dp[c] + a_dpo[c] > a_cpo[c] THEN
                o_error := 'limit_debits';
                o_args := jsonb_build_object('code', a_code[c], 'amount', amt,
                    'available', a_cpo[c] - a_dpo[c] - a_dp[c] + amt);
                RETURN;
            END IF;
            o_pending_ids[i] := NULL;
        ELSE
            h := array_position(h_id, p_pending_ids[i]);
            IF h IS NULL THEN
                o_error := 'no_hold';
                o_args := jsonb_build_object('id', p_pending_ids[i]);
                RETURN;
            END IF;
            IF h_resolved[h] THEN
                o_error := 'hold_resolved';
                o_args := jsonb_build_object('id', p_pending_ids[i]);
                RETURN;
            END IF;
            a_dp[d] := a_dp[d] - h_amount[h];
            a_cp[c] := a_cp[c] - h_amount[h];
            h_resolved[h] := true;
            a_touched[d] := true;
            a_touched[c] := true;
            IF p_kinds[i] = 'void_pending' THEN
                amt := h_amount[h];
            ELSE
                amt := coalesce(p_amounts[i], h_amount[h]);
                IF amt > h_amount[h] THEN
                    o_error := 'over_hold';
                    o_args := jsonb_build_object('amount', amt, 'id', h_id[h],
                                                 'holds', h_amount[h]);
                    RETURN;
                END IF;
                a_dpo[d] := a_dpo[d] + amt;
                a_cpo[c] := a_cpo[c] + amt;
            END IF;
            o_pending_ids[i] := h_id[h];
        END IF;
        o_debits[i] := a_code[d];
        o_credits[i] := a_code[c];
        o_amounts[i] := amt;
        o_kinds[i] := p_kinds[i];
        t_debit_ids[i] := a_id[d];
        t_credit_ids[i] := a_id[c];
    END LOOP;

    -- Every check passed: draw ids (a refused posting uses up none) and write, all in one
    -- statement (the foreign keys are checked at its end, once every row is in).
    o_entry_id := nextval('journal_entry_ids');
    IF n = 1 THEN
        o_ids := ARRAY[nextval('transfer_ids')];
    ELSE
        o_ids := ARRAY(SELECT nextval('transfer_ids') FROM generate_series(1, n));
    END IF;
    o_posted_at := posted;
    WITH entry AS (
        INSERT INTO journal_entries (id, posted_at, flow, ref, actor, memo, reverses_entry_id)
            VALUES (o_entry_id, posted, p_flow, p_ref, p_actor, p_memo, p_reverses)
    ), moves AS (
        INSERT INTO transfers (id, entry_id, debit_account_id, credit_account_id, amount,
                               kind, pending_id)
            SELECT t.id, o_entry_id, t.debit, t.credit, t.amount, t.kind, t.pending_id
            FROM unnest(o_ids, t_debit_ids, t_credit_ids, o_amounts, o_kinds, o_pending_ids)
                 AS t(id, debit, credit, amount, kind, pending_id)
            ORDER BY t.id
    ), history AS (
        INSERT INTO account_history (account_id, entry_id, posted_at, debits_pending,
                                     debits_posted, credits_pending, credits_posted)
            SELECT x.id, o_entry_id, posted, x.dp, x.dpo, x.cp, x.cpo
            FROM unnest(a_id, a_dp, a_dpo, a_cp, a_cpo, a_touched)
                 AS x(id, dp, dpo, cp, cpo, touched)
            WHERE x.touched
    ), queued AS (
        INSERT INTO journal_unsealed (entry_id, queued_at) VALUES (o_entry_id, now_)
    ), keyed AS (
        INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at)
            SELECT p_scope, p_key, p_key_hash, o_entry_id::text, now_
            WHERE p_key IS NOT NULL
    )
    UPDATE accounts SET debits_pending = x.dp, debits_posted = x.dpo,
                        credits_pending = x.cp, credits_posted = x.cpo,
                        last_posted_at = posted
        FROM unnest(a_id, a_dp, a_dpo, a_cp, a_cpo, a_touched)
             AS x(id, dp, dpo, cp, cpo, touched)
        WHERE accounts.id = x.id AND x.touched;
END
$fn$;
"""

# The canonical encoding is 0018's (ledger.core.chain's, byte for byte), unchanged here.
SEAL_FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_seal(
    p_limit integer,   -- at most this many queued entries
    p_wait boolean,    -- wait for the head (else: see p_mine)
    p_mine bigint[],   -- the caller's entries: if the head is taken and any of these is
                       -- still queued, wait for the holder, then leave if they were sealed
    OUT o_sealed integer, OUT o_mine_queued boolean)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    head record;
    e record;
    n int := 0;
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
            -- Wait until the holder ends without taking the head: a share lock that
            -- conflicts only with the holder's, taken in a subtransaction that is then
            -- rolled back (so no lock stays). Every poster waiting so wakes at once.
            BEGIN
                PERFORM 1 FROM ledger_head WHERE id = 1 FOR KEY SHARE;
                RAISE SQLSTATE 'VLW01';
            EXCEPTION WHEN SQLSTATE 'VLW01' THEN
                NULL;
            END;
            -- A new statement, a new snapshot: it sees what the holder committed.
            IF NOT EXISTS (SELECT 1 FROM journal_unsealed WHERE entry_id = ANY(p_mine)) THEN
                o_sealed := 0;
                RETURN;
            END IF;
            -- Still queued: someone must seal them; take the head, waiting for it (not
            -- SKIP LOCKED, which another waiter's brief share lock could make spin).
            SELECT sealed_entries, head_hash, last_posted_at INTO head
                FROM ledger_head WHERE id = 1 FOR UPDATE;
        END IF;
    END IF;
    -- Each statement below sees what the previous sealer committed before we had the head.
    SELECT array_agg(entry_id ORDER BY entry_id) INTO queued
        FROM (SELECT entry_id FROM journal_unsealed ORDER BY entry_id LIMIT p_limit) AS q;
    IF queued IS NULL THEN
        o_sealed := 0;
        RETURN;
    END IF;
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
        ORDER BY j.id
    LOOP
        -- An entry without transfers (body NULL) is not sealed, as before.
        CONTINUE WHEN e.body IS NULL;
        n := n + 1;
        seq_ := seq_ + 1;
        hash_ := encode(sha256(convert_to(prev || chr(10) || e.body, 'UTF8')), 'hex');
        seqs[n] := seq_;
        ids[n] := e.id;
        prevs[n] := prev;
        hashes[n] := hash_;
        prev := hash_;
        last_at := greatest(last_at, e.posted_at);
    END LOOP;
    o_sealed := n;
    IF n > 0 THEN
        WITH sealed AS (
            INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at)
                SELECT s.seq, s.entry_id, s.prev_hash, s.hash, now_
                FROM unnest(seqs, ids, prevs, hashes) AS s(seq, entry_id, prev_hash, hash)
                ORDER BY s.seq
        ), dequeued AS (
            DELETE FROM journal_unsealed WHERE entry_id = ANY(ids)
        )
        UPDATE ledger_head SET sealed_entries = seq_, head_hash = prev, last_posted_at = last_at
            WHERE id = 1;
        IF NOT p_mine <@ ids THEN
            o_mine_queued := EXISTS (SELECT 1 FROM journal_unsealed WHERE entry_id = ANY(p_mine));
        END IF;
    END IF;
END
$fn$;
"""


def _previous(name: str) -> ModuleType:
    """An earlier migration's module (its function text is what the downgrade restores)."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_migration_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    """Replace ledger_post() and ledger_seal() on PostgreSQL (same signatures)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)
        op.execute(SEAL_FUNCTION)


def downgrade() -> None:
    """Put back 0019's functions: 0018's ledger_post() planned once per session, 0019's
    ledger_seal()."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {POST_SIGNATURE}")
        op.execute(_previous("0018_pg_posting_function").FUNCTION)
        op.execute(f"ALTER FUNCTION {POST_SIGNATURE} SET plan_cache_mode = force_generic_plan")
        op.execute(f"DROP FUNCTION {SEAL_SIGNATURE}")
        op.execute(_previous("0019_pg_posting_fast").SEAL_FUNCTION)
