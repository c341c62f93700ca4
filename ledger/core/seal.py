"""The seal step: append committed journal entries to the hash chain, in batches.

Postings lock only their own accounts and queue their entry in `journal_unsealed`. Sealing
takes the one `ledger_head` row (so one sealer at a time), reads queued entries in entry-id
order, and writes one `journal_seals` row per entry: its place `seq` in the chain, the previous
seal's hash and the SHA-256 over that hash and the entry's canonical bytes (ledger.core.chain).

`seal_committed` runs after every unit of work that posted (ledger.core.db.after_commit) and
whenever anything finds entries unsealed. A sealer that finds the head locked leaves at once:
the sealer holding it looks at the queue again after it commits, so every committed entry is
sealed by someone. A process killed between commit and seal loses nothing: the entry stays
queued for the next seal. See docs/ledger.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from ledger.core.chain import chain_hash, encode_entry, timestamp_us
from ledger.core.db import transaction
from ledger.core.models import (
    Account,
    JournalEntry,
    JournalSeal,
    LedgerHead,
    Transfer,
    UnsealedEntry,
)

SEAL_BATCH = 2000
# `verify` fails when an entry has waited longer than this for its seal: sealing follows each
# commit within milliseconds, so an entry this old means the seal step is not running.
SEAL_BOUND = timedelta(minutes=5)


def seal_batch(session: Session, limit: int = SEAL_BATCH) -> int | None:
    """Seal up to `limit` queued entries in the caller's transaction; None if another sealer
    holds the head (it will seal them), else how many were sealed."""
    head = session.execute(
        select(LedgerHead.sealed_entries, LedgerHead.head_hash, LedgerHead.last_posted_at)
        .where(LedgerHead.id == 1)
        .with_for_update(skip_locked=True)
    ).first()
    if head is None:
        return None
    ids = list(
        session.scalars(
            select(UnsealedEntry.entry_id).order_by(UnsealedEntry.entry_id).limit(limit)
        )
    )
    if not ids:
        return 0
    seq, prev_hash, last_at = head
    now = datetime.now(UTC)
    seals: list[dict[str, object]] = []
    for entry_id, posted_at, body in canonical_entries(session, ids):
        seq += 1
        entry_hash = chain_hash(prev_hash, body)
        seals.append(
            {"seq": seq, "entry_id": entry_id, "prev_hash": prev_hash, "hash": entry_hash,
             "sealed_at": now}
        )
        prev_hash = entry_hash
        last_at = posted_at if last_at is None else max(last_at, posted_at)
    session.execute(JournalSeal.__table__.insert(), seals)
    session.execute(delete(UnsealedEntry).where(UnsealedEntry.entry_id.in_(ids)))
    session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == 1)
        .values(sealed_entries=seq, head_hash=prev_hash, last_posted_at=last_at)
    )
    return len(ids)


def seal_committed(factory: sessionmaker[Session]) -> int:
    """Seal every queued entry, batch by batch, each in a short transaction; how many."""
    total = 0
    while True:
        with transaction(factory) as session:
            sealed = seal_batch(session)
        if sealed is None:
            return total
        total += sealed
        # Look again after releasing the head: a poster that found it locked meanwhile
        # relies on this look to have its entry sealed.
        with transaction(factory) as session:
            if not session.scalar(select(exists().where(UnsealedEntry.entry_id.is_not(None)))):
                return total


def canonical_entries(
    session: Session, ids: list[int]
) -> list[tuple[int, datetime, bytes]]:
    """(entry id, posted_at, canonical bytes) of the given entries, in entry-id order: the
    reference encoding, read through the ORM's types (entries without transfers are left out)."""
    debit, credit = aliased(Account), aliased(Account)
    rows = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.posted_at,
            JournalEntry.flow,
            JournalEntry.ref,
            JournalEntry.actor,
            JournalEntry.memo,
            JournalEntry.reverses_entry_id,
            Transfer.id,
            debit.code,
            credit.code,
            Transfer.amount,
            Transfer.kind,
            Transfer.pending_id,
        )
        .join(Transfer, Transfer.entry_id == JournalEntry.id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .join(credit, credit.id == Transfer.credit_account_id)
        .where(JournalEntry.id.in_(ids))
        .order_by(JournalEntry.id, Transfer.id)
    ).all()
    out: list[tuple[int, datetime, bytes]] = []
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][0] != rows[start][0]:
            e = rows[start]
            body = encode_entry(
                e[0], timestamp_us(e[1]), e[2], e[3], e[4], e[5], e[6],
                (tuple(r[7:]) for r in rows[start:i]),
            )
            out.append((e[0], e[1], body))
            start = i
    return out
