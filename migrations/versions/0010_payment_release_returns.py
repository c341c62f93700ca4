"""payments: batches released by an approver, paid with the bank's reference, bank returns

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from ledger.core.immutability import append_only_ddl, fixed_columns_ddl, pg_function_ddl


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_STATUSES = "status IN ('created', 'paid')"
NEW_STATUSES = "status IN ('created', 'released', 'paid')"
BATCH_FIXED = ["programme_id", "total_fen", "created_by", "created_at"]


def _triggers_again(dialect: str) -> None:
    # SQLite's batch mode copies a table into a new one: its triggers go with the old one and
    # are created again. PostgreSQL alters the tables in place and keeps them.
    if dialect == "sqlite":
        for statement in append_only_ddl(dialect, "payment_lines"):
            op.execute(statement)
        for statement in fixed_columns_ddl(dialect, "payment_batches", BATCH_FIXED):
            op.execute(statement)


def upgrade() -> None:
    """Upgrade schema."""
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('payment_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('released_by', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('created_by_user', sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(op.f('ck_payment_batches_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_batches_status_known'), NEW_STATUSES)
    # A claim or an award returned by the bank is paid again in a later batch: a line per
    # attempt. The claim's or award's own row (locked when batched) keeps it in one open batch.
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('bank_account', sa.String(length=32), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_payment_lines_claim_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_payment_lines_award_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_payment_lines_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_lines_award_id'), ['award_id'], unique=False)
    op.create_table(
        'payment_confirmations',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('line_id', BigId, nullable=False),
        sa.Column('batch_id', BigId, nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('value_date', sa.Date(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('entry_id', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('confirmed_by', sa.String(length=160), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['payment_batches.id'],
                                name=op.f('fk_payment_confirmations_batch_id_payment_batches')),
        sa.ForeignKeyConstraint(['line_id'], ['payment_lines.id'],
                                name=op.f('fk_payment_confirmations_line_id_payment_lines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_confirmations')),
        sa.UniqueConstraint('line_id', name=op.f('uq_payment_confirmations_line_id')),
    )
    op.create_index(op.f('ix_payment_confirmations_batch_id'), 'payment_confirmations',
                    ['batch_id'], unique=False)
    op.create_table(
        'payment_returns',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('line_id', BigId, nullable=False),
        sa.Column('batch_id', BigId, nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('entry_id', sa.BigInteger(), nullable=False),
        sa.Column('recorded_by', sa.String(length=160), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['payment_batches.id'],
                                name=op.f('fk_payment_returns_batch_id_payment_batches')),
        sa.ForeignKeyConstraint(['line_id'], ['payment_lines.id'],
                                name=op.f('fk_payment_returns_line_id_payment_lines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_returns')),
        sa.UniqueConstraint('line_id', name=op.f('uq_payment_returns_line_id')),
    )
    op.create_index(op.f('ix_payment_returns_batch_id'), 'payment_returns', ['batch_id'],
                    unique=False)
    if dialect == "postgresql":
        op.execute(pg_function_ddl())
    # What the bank confirmed and what it sent back are records: never changed.
    for table in ("payment_confirmations", "payment_returns"):
        for statement in append_only_ddl(dialect, table):
            op.execute(statement)
    _triggers_again(dialect)


def downgrade() -> None:
    """Downgrade schema (refused by the database once a line was paid again after a return)."""
    dialect = op.get_bind().dialect.name
    op.drop_index(op.f('ix_payment_returns_batch_id'), table_name='payment_returns')
    op.drop_table('payment_returns')
    op.drop_index(op.f('ix_payment_confirmations_batch_id'), table_name='payment_confirmations')
    op.drop_table('payment_confirmations')
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_lines_award_id'))
        batch_op.drop_index(batch_op.f('ix_payment_lines_claim_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_payment_lines_award_id'), ['award_id'])
        batch_op.create_unique_constraint(batch_op.f('uq_payment_lines_claim_id'), ['claim_id'])
        batch_op.drop_column('bank_account')
        batch_op.drop_column('bank_name')
    with op.batch_alter_table('payment_batches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_batches_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payment_batches_status_known'), OLD_STATUSES)
        batch_op.drop_column('created_by_user')
        batch_op.drop_column('released_at')
        batch_op.drop_column('released_by')
    _triggers_again(dialect)
