"""redemption totals: monthly sums by category and provider, and by firm city, for the audit;
indexes for the audit's edge days and clawbacks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 18:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from ledger.vouchers.redemptions import fill_from_redemptions


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    """Upgrade schema, then fill the totals from the redemptions already completed."""
    op.create_table('redemption_totals',
    sa.Column('programme_id', BigId, nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('provider_id', BigId, nullable=False),
    sa.Column('completions', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('clawed_back_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_redemption_totals_programme_id_programmes')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_redemption_totals_provider_id_providers')),
    sa.PrimaryKeyConstraint('programme_id', 'month', 'category', 'provider_id', name=op.f('pk_redemption_totals'))
    )
    op.create_table('redemption_city_totals',
    sa.Column('programme_id', BigId, nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('city', sa.String(length=16), nullable=False),
    sa.Column('completions', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('clawed_back_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_redemption_city_totals_programme_id_programmes')),
    sa.PrimaryKeyConstraint('programme_id', 'month', 'city', name=op.f('pk_redemption_city_totals'))
    )
    op.create_index('ix_redemptions_programme_completed', 'redemptions', ['programme_id', 'completed_on'], unique=False)
    op.create_index('ix_redemptions_programme_status_updated', 'redemptions', ['programme_id', 'status', 'updated_at'], unique=False)
    fill_from_redemptions(op.get_bind())


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_redemptions_programme_status_updated', table_name='redemptions')
    op.drop_index('ix_redemptions_programme_completed', table_name='redemptions')
    op.drop_table('redemption_city_totals')
    op.drop_table('redemption_totals')
