"""voucher month totals: vouchers issued and expired per programme and month, by their dates
and by the month the ledger posted them, for the programme audit; an index for its edge days

Revision ID: 0015_programme_month_totals
Revises: 0014_award_publicity
Create Date: 2026-11-29 23:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from ledger.vouchers.voucher_totals import fill_from_vouchers


# revision identifiers, used by Alembic.
revision: str = '0015_programme_month_totals'
down_revision: Union[str, Sequence[str], None] = '0014_award_publicity'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    """Upgrade schema, then fill the totals from the vouchers and the journal."""
    op.create_table('voucher_month_totals',
    sa.Column('programme_id', BigId, nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('issued_count', sa.BigInteger(), nullable=False),
    sa.Column('issued_fen', sa.BigInteger(), nullable=False),
    sa.Column('expired_count', sa.BigInteger(), nullable=False),
    sa.Column('expired_fen', sa.BigInteger(), nullable=False),
    sa.Column('issue_posted_fen', sa.BigInteger(), nullable=False),
    sa.Column('expiry_posted_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_voucher_month_totals_programme_id_programmes')),
    sa.PrimaryKeyConstraint('programme_id', 'month', name=op.f('pk_voucher_month_totals'))
    )
    op.create_index('ix_vouchers_programme_issued', 'vouchers', ['programme_id', 'issued_on'], unique=False)
    fill_from_vouchers(op.get_bind())


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_vouchers_programme_issued', table_name='vouchers')
    op.drop_table('voucher_month_totals')
