"""award payments: payment lines carry an award (paid to its firm) or a claim

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 17:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from ledger.core.immutability import append_only_ddl


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_STATUSES = "status IN ('applied', 'approved', 'rejected', 'paid', 'clawed_back')"
NEW_STATUSES = ("status IN ('applied', 'approved', 'rejected', 'in_payment', 'paid', "
                "'clawed_back')")
ONE_SUBJECT = ("(claim_id IS NOT NULL AND provider_id IS NOT NULL AND award_id IS NULL "
               "AND firm_id IS NULL) OR (claim_id IS NULL AND provider_id IS NULL "
               "AND award_id IS NOT NULL AND firm_id IS NOT NULL)")


def _append_only_again(dialect: str) -> None:
    # SQLite's batch mode copies payment_lines into a new table: its triggers go with the old
    # one and are created again. PostgreSQL alters the table in place and keeps them.
    if dialect == "sqlite":
        for statement in append_only_ddl(dialect, "payment_lines"):
            op.execute(statement)


def upgrade() -> None:
    """Upgrade schema."""
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(op.f('ck_awards_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_awards_status_known'), NEW_STATUSES)
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('award_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('firm_id', BigId, nullable=True))
        batch_op.alter_column('claim_id', existing_type=BigId, nullable=True)
        batch_op.alter_column('provider_id', existing_type=BigId, nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_payment_lines_award_id'), ['award_id'])
        batch_op.create_foreign_key(batch_op.f('fk_payment_lines_award_id_awards'), 'awards',
                                    ['award_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_payment_lines_firm_id_firms'), 'firms',
                                    ['firm_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_payment_lines_claim_or_award'), ONE_SUBJECT)
    _append_only_again(dialect)


def downgrade() -> None:
    """Downgrade schema (refused by the database once an award has been batched)."""
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('payment_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payment_lines_claim_or_award'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_payment_lines_firm_id_firms'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_payment_lines_award_id_awards'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_payment_lines_award_id'), type_='unique')
        batch_op.alter_column('provider_id', existing_type=BigId, nullable=False)
        batch_op.alter_column('claim_id', existing_type=BigId, nullable=False)
        batch_op.drop_column('firm_id')
        batch_op.drop_column('award_id')
    _append_only_again(dialect)
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_awards_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_awards_status_known'), OLD_STATUSES)
        batch_op.drop_column('batch_id')
