"""payment batches: cancelled before release, with who, when, why and the voiding entry

Revision ID: 0020_batch_cancel
Revises: 0019_pg_posting_fast
Create Date: 2026-11-30 03:20:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ledger.core.immutability import fixed_columns_ddl

revision: str = "0020_batch_cancel"
down_revision: str | Sequence[str] | None = "0019_pg_posting_fast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('created', 'released', 'paid')"
NEW_STATUSES = "status IN ('created', 'released', 'paid', 'cancelled')"
BATCH_FIXED = ["programme_id", "total_fen", "created_by", "created_at"]


def _triggers_again(dialect: str) -> None:
    # SQLite's batch mode copies the table into a new one and loses its trigger; PostgreSQL
    # alters it in place and keeps it.
    if dialect == "sqlite":
        for statement in fixed_columns_ddl(dialect, "payment_batches", BATCH_FIXED):
            op.execute(statement)


def upgrade() -> None:
    """Add the cancellation columns and the `cancelled` status."""
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_by", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("cancel_entry_id", sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(op.f("ck_payment_batches_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_payment_batches_status_known"), NEW_STATUSES)
    _triggers_again(op.get_bind().dialect.name)


def downgrade() -> None:
    """Drop them (refused by the database while a batch is cancelled)."""
    with op.batch_alter_table("payment_batches", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payment_batches_status_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_payment_batches_status_known"), OLD_STATUSES)
        batch_op.drop_column("cancel_entry_id")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("cancelled_by")
    _triggers_again(op.get_bind().dialect.name)
