"""ledger_post() and ledger_seal(): posting and sealing in one statement each on PostgreSQL

The single-entry posting path (post_entry, holds, reversals) calls this function on
PostgreSQL: it takes the idempotency key's advisory lock, locks the entry's accounts in id
order, checks limits (pending holds counted), hold state and posting time exactly as the Python
path in ledger.core.journal does, and only then draws ids and writes the entry, its transfers,
history rows, totals, the seal queue row and the key. A refusal writes nothing and is returned
as an error tag with its arguments (not raised), so the caller's transaction stays usable and
ledger.core.pg_posting raises the same domain error as the Python path.

ledger_seal() is the seal step (ledger.core.seal) as one statement, run outside a transaction:
the head is held only while the server chains the queued entries, never across a round trip
to a client. SQLite: nothing.

Revision ID: 0018_pg_posting_function
Revises: 0017_import_batches
Create Date: 2026-11-29 22:45:00

"""
from collections.abc import Sequence

from alembic import op

revision: str = "0018_pg_posting_function"
down_revision: str | Sequence[str] | None = "0017_import_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = (
    "ledger_post(text[], text[], text[], bigint[], bigint[], text, text, text, text, "
    "timestamptz, bigint, text, text, text)"
)

FUNCTION = r"""
CREATE FUNCTION ledger_post(
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
LANGUAGE plpgsql AS $fn$
DECLARE
    n int := cardinality(p_kinds);
    now_ timestamptz := clock_timestamp();
    stored record;
    -- the locked accounts, in id order, and their totals as the entry changes them
    a_id bigint[]; a_code text[]; a_ledger text[]; a_lc boolean[]; a_ld boolean[];
    a_dp bigint[]; a_dpo bigint[]; a_cp bigint[]; a_cpo bigint[]; a_last timestamptz[];
    a_touched boolean[];
    -- the holds named by posts and voids
    h_id bigint[]; h_debit bigint[]; h_credit bigint[]; h_amount bigint[];
    h_resolved boolean[];
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

    -- A hold's accounts and amount never change: read before locking (plain moves: none).
    IF p_kinds && ARRAY['post_pending', 'void_pending'] THEN
        SELECT array_agg(id ORDER BY id), array_agg(debit_account_id ORDER BY id),
               array_agg(credit_account_id ORDER BY id), array_agg(amount ORDER BY id)
            INTO h_id, h_debit, h_credit, h_amount
            FROM transfers WHERE id = ANY(p_pending_ids) AND kind = 'pending';
    END IF;
    h_id := coalesce(h_id, '{}'); h_debit := coalesce(h_debit, '{}');
    h_credit := coalesce(h_credit, '{}'); h_amount := coalesce(h_amount, '{}');

    -- Lock every account the entry touches, in ascending id order (never a deadlock).
    SELECT array_agg(id), array_agg(code), array_agg(ledger),
           array_agg(credits_must_not_exceed_debits), array_agg(debits_must_not_exceed_credits),
           array_agg(debits_pending), array_agg(debits_posted),
           array_agg(credits_pending), array_agg(credits_posted), array_agg(last_posted_at)
        INTO a_id, a_code, a_ledger, a_lc, a_ld, a_dp, a_dpo, a_cp, a_cpo, a_last
        FROM (SELECT * FROM accounts
              WHERE code = ANY(p_debits || p_credits) OR id = ANY(h_debit || h_credit)
              ORDER BY id FOR UPDATE) AS locked;
    a_id := coalesce(a_id, '{}'); a_code := coalesce(a_code, '{}');
    SELECT min(x COLLATE "C") INTO missing
        FROM unnest(p_debits || p_credits) AS x
        WHERE x IS NOT NULL AND NOT x = ANY(a_code);
    IF missing IS NOT NULL THEN
        o_error := 'no_account';
        o_args := jsonb_build_object('code', missing);
        RETURN;
    END IF;
    a_touched := array_fill(false, ARRAY[cardinality(a_id)]);

    -- Whether a hold is still open is read under the locks: resolving it locks its accounts.
    IF cardinality(h_id) > 0 THEN
        SELECT array_agg(pending_id) INTO resolved_ids
            FROM transfers WHERE pending_id = ANY(h_id);
    END IF;
    h_resolved := array_fill(false, ARRAY[cardinality(h_id)]);
    FOR k IN 1 .. cardinality(h_id) LOOP
        h_resolved[k] := coalesce(h_id[k] = ANY(resolved_ids), false);
    END LOOP;

    IF p_reverses IS NOT NULL THEN
        SELECT id INTO reversed_by FROM journal_entries WHERE reverses_entry_id = p_reverses;
        IF FOUND THEN
            o_error := 'reversed';
            o_args := jsonb_build_object('entry', p_reverses, 'reversed_by', reversed_by);
            RETURN;
        END IF;
    END IF;

    -- Each transfer's two accounts (a hold not found yet is refused below).
    FOR i IN 1 .. n LOOP
        IF p_kinds[i] IN ('normal', 'pending') THEN
            t_d[i] := array_position(a_code, p_debits[i]);
            t_c[i] := array_position(a_code, p_credits[i]);
        ELSE
            h := array_position(h_id, p_pending_ids[i]);
            IF h IS NOT NULL THEN
                t_d[i] := array_position(a_id, h_debit[h]);
                t_c[i] := array_position(a_id, h_credit[h]);
            END IF;
        END IF;
    END LOOP;

    -- The entry's time: never before the last posting on any account it touches.
    FOR i IN 1 .. n LOOP
        FOREACH k IN ARRAY ARRAY[t_d[i], t_c[i]] LOOP
            IF k IS NOT NULL AND a_last[k] IS NOT NULL
               AND (last_at IS NULL OR a_last[k] > last_at) THEN
                latest := k;
                last_at := a_last[k];
            END IF;
        END LOOP;
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
            FOREACH k IN ARRAY ARRAY[d, c] LOOP
                IF a_lc[k] AND a_cp[k] + a_cpo[k] > a_dpo[k] THEN
                    o_error := 'limit_credits';
                    o_args := jsonb_build_object('code', a_code[k], 'amount', amt,
                        'available', a_dpo[k] - a_cpo[k] - a_cp[k] + amt);
                    RETURN;
                END IF;
                IF a_ld[k] AND a_dp[k] + a_dpo[k] > a_cpo[k] THEN
                    o_error := 'limit_debits';
                    o_args := jsonb_build_object('code', a_code[k], 'amount', amt,
                        'available', a_cpo[k] - a_dpo[k] - a_dp[k] + amt);
                    RETURN;
                END IF;
            END LOOP;
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

    -- Every check passed: draw ids (a refused posting uses up none) and write.
    o_entry_id := nextval('journal_entry_ids');
    o_ids := ARRAY(SELECT nextval('transfer_ids') FROM generate_series(1, n));
    o_posted_at := posted;
    INSERT INTO journal_entries (id, posted_at, flow, ref, actor, memo, reverses_entry_id)
        VALUES (o_entry_id, posted, p_flow, p_ref, p_actor, p_memo, p_reverses);
    INSERT INTO transfers (id, entry_id, debit_account_id, credit_account_id, amount, kind,
                           pending_id)
        SELECT t.id, o_entry_id, t.debit, t.credit, t.amount, t.kind, t.pending_id
        FROM unnest(o_ids, t_debit_ids, t_credit_ids, o_amounts, o_kinds, o_pending_ids)
             AS t(id, debit, credit, amount, kind, pending_id)
        ORDER BY t.id;
    INSERT INTO account_history (account_id, entry_id, posted_at, debits_pending,
                                 debits_posted, credits_pending, credits_posted)
        SELECT x.id, o_entry_id, posted, x.dp, x.dpo, x.cp, x.cpo
        FROM unnest(a_id, a_dp, a_dpo, a_cp, a_cpo, a_touched)
             AS x(id, dp, dpo, cp, cpo, touched)
        WHERE x.touched;
    UPDATE accounts SET debits_pending = x.dp, debits_posted = x.dpo,
                        credits_pending = x.cp, credits_posted = x.cpo,
                        last_posted_at = posted
        FROM unnest(a_id, a_dp, a_dpo, a_cp, a_cpo, a_touched)
             AS x(id, dp, dpo, cp, cpo, touched)
        WHERE accounts.id = x.id AND x.touched;
    INSERT INTO journal_unsealed (entry_id, queued_at) VALUES (o_entry_id, now_);
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at)
            VALUES (p_scope, p_key, p_key_hash, o_entry_id::text, now_);
    END IF;
END
$fn$;
"""

SEAL_SIGNATURE = "ledger_seal(integer, boolean, bigint[])"

# The encoding is ledger.core.chain's, byte for byte (verify re-encodes in Python and compares):
# µs since the epoch from whole seconds plus the microseconds within them (exact on any
# PostgreSQL version), fields joined by U+001F, lines by LF, UTF-8.
SEAL_FUNCTION = r"""
CREATE FUNCTION ledger_seal(
    p_limit integer,   -- at most this many queued entries
    p_wait boolean,    -- wait for the head (else leave at once if another sealer holds it)
    p_mine bigint[],   -- when the head is taken: are any of these still queued?
    OUT o_sealed integer, OUT o_mine_queued boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    head record;
    e record;
    seq_ bigint;
    prev text;
    hash_ text;
    last_at timestamptz;
    now_ timestamptz := clock_timestamp();
    ids bigint[] := '{}';
BEGIN
    o_mine_queued := false;
    IF p_wait THEN
        SELECT sealed_entries, head_hash, last_posted_at INTO head
            FROM ledger_head WHERE id = 1 FOR UPDATE;
    ELSE
        SELECT sealed_entries, head_hash, last_posted_at INTO head
            FROM ledger_head WHERE id = 1 FOR UPDATE SKIP LOCKED;
    END IF;
    IF NOT FOUND THEN
        o_mine_queued := EXISTS (SELECT 1 FROM journal_unsealed WHERE entry_id = ANY(p_mine));
        RETURN;
    END IF;
    -- Each statement below sees what the previous sealer committed before we had the head.
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
        WHERE j.id IN (SELECT entry_id FROM journal_unsealed ORDER BY entry_id LIMIT p_limit)
          AND EXISTS (SELECT 1 FROM transfers t WHERE t.entry_id = j.id)
        ORDER BY j.id
    LOOP
        seq_ := seq_ + 1;
        hash_ := encode(sha256(convert_to(prev || chr(10) || e.body, 'UTF8')), 'hex');
        INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at)
            VALUES (seq_, e.id, prev, hash_, now_);
        prev := hash_;
        last_at := greatest(last_at, e.posted_at);
        ids := ids || e.id;
    END LOOP;
    o_sealed := cardinality(ids);
    IF o_sealed > 0 THEN
        DELETE FROM journal_unsealed WHERE entry_id = ANY(ids);
        UPDATE ledger_head SET sealed_entries = seq_, head_hash = prev, last_posted_at = last_at
            WHERE id = 1;
    END IF;
END
$fn$;
"""


def upgrade() -> None:
    """Create ledger_post() and ledger_seal() on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)
        op.execute(SEAL_FUNCTION)


def downgrade() -> None:
    """Drop ledger_post() and ledger_seal() on PostgreSQL."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {SEAL_SIGNATURE}")
        op.execute(f"DROP FUNCTION {SIGNATURE}")
