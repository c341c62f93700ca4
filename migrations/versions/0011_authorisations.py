"""authorisations: a firm's one-time consent to a provider's booking

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 20:18:14.829845

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """One table: a firm's authorisation of a provider for one booking on one voucher."""
    op.create_table('authorisations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('voucher_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('firm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('granted_by', sa.String(length=160), nullable=False),
    sa.Column('redemption_id', sa.BigInteger(), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=160), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'used', 'withdrawn')", name=op.f('ck_authorisations_status_known')),
    sa.CheckConstraint('expires_on >= granted_on', name=op.f('ck_authorisations_dates_ordered')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_authorisations_firm_id_firms')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_authorisations_provider_id_providers')),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_authorisations_voucher_id_vouchers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorisations')),
    sa.UniqueConstraint('code', name=op.f('uq_authorisations_code'))
    )
    with op.batch_alter_table('authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authorisations_firm_id'), ['firm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_authorisations_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_authorisations_voucher_id'), ['voucher_id'], unique=False)



def downgrade() -> None:
    """Drop the authorisations."""
    with op.batch_alter_table('authorisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authorisations_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_authorisations_provider_id'))
        batch_op.drop_index(batch_op.f('ix_authorisations_firm_id'))

    op.drop_table('authorisations')
