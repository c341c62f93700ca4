"""seal the hash chain after commit: journal_seals, journal_unsealed, per-account posting time

Postings no longer lock one head row: they lock only their accounts (in id order) and queue
the entry in journal_unsealed; a short seal step appends committed entries to the chain in
journal_seals. The chain built before this revision moves there unchanged (seq = entry id).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 20:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from ledger.core.immutability import append_only_ddl

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEQUENCES = (("journal_entry_ids", "journal_entries"), ("transfer_ids", "transfers"))


def upgrade() -> None:
    """Create the seal table and the queue, move the chain there, drop the head's counters."""
    dialect = op.get_bind().dialect.name
    op.create_table(
        "journal_seals",
        sa.Column("seq", ID, autoincrement=False, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_journal_seals_entry_id_journal_entries")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_journal_seals")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_journal_seals_entry_id")),
    )
    op.create_table(
        "journal_unsealed",
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["journal_entries.id"],
                                name=op.f("fk_journal_unsealed_entry_id_journal_entries")),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_journal_unsealed")),
    )
    op.execute(
        "INSERT INTO journal_seals (seq, entry_id, prev_hash, hash, sealed_at) "
        "SELECT id, id, prev_hash, hash, posted_at FROM journal_entries"
    )
    for statement in append_only_ddl(dialect, "journal_seals"):
        op.execute(statement)
    # SQLite (3.35+) and PostgreSQL drop a column in place; neither fires the row triggers.
    op.execute("ALTER TABLE journal_entries DROP COLUMN prev_hash")
    op.execute("ALTER TABLE journal_entries DROP COLUMN hash")
    op.execute("ALTER TABLE ledger_head DROP COLUMN last_transfer_id")
    op.execute("ALTER TABLE ledger_head RENAME COLUMN last_entry_id TO sealed_entries")
    op.add_column("accounts", sa.Column("last_posted_at", sa.DateTime(timezone=True),
                                        nullable=True))
    op.execute(
        "UPDATE accounts SET last_posted_at = (SELECT max(h.posted_at) FROM account_history h "
        "WHERE h.account_id = accounts.id)"
    )
    if dialect == "postgresql":
        # Entry and transfer ids come from sequences: no row is locked to number a posting.
        for name, table in SEQUENCES:
            op.execute(f"CREATE SEQUENCE {name} AS bigint OWNED BY {table}.id")
            op.execute(f"SELECT setval('{name}', coalesce((SELECT max(id) FROM {table}), 0) + 1,"
                       " false)")


def downgrade() -> None:
    """Put the hashes back on the entries (sealed entries only) and the counters on the head."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name, _table in SEQUENCES:
            op.execute(f"DROP SEQUENCE {name}")
    op.execute("ALTER TABLE accounts DROP COLUMN last_posted_at")
    op.execute("ALTER TABLE ledger_head RENAME COLUMN sealed_entries TO last_entry_id")
    op.add_column("ledger_head", sa.Column("last_transfer_id", sa.BigInteger(), nullable=False,
                                           server_default="0"))
    op.execute("UPDATE ledger_head SET last_transfer_id = "
               "(SELECT coalesce(max(id), 0) FROM transfers)")
    for column in ("prev_hash", "hash"):
        op.add_column("journal_entries", sa.Column(column, sa.String(length=64), nullable=False,
                                                   server_default=""))
    if dialect == "sqlite":
        op.execute("DROP TRIGGER journal_entries_no_update")
    else:
        op.execute("ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_no_change")
    sealed = "FROM journal_seals s WHERE s.entry_id = journal_entries.id"
    op.execute(
        f"UPDATE journal_entries SET prev_hash = (SELECT s.prev_hash {sealed}), "
        f"hash = (SELECT s.hash {sealed}) WHERE id IN (SELECT entry_id FROM journal_seals)"
    )
    if dialect == "sqlite":
        op.execute(append_only_ddl("sqlite", "journal_entries")[0])
    else:
        op.execute("ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_no_change")
    op.drop_table("journal_unsealed")
    op.drop_table("journal_seals")
