"""redemption disputes: the firm may dispute a completed service instead of confirming it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 19:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Three nullable columns: no rebuild on SQLite, no rewrite on PostgreSQL."""
    op.add_column('redemptions', sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('redemptions', sa.Column('disputed_by', sa.String(length=160), nullable=True))
    op.add_column('redemptions', sa.Column('dispute_reason', sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Drop the dispute columns (batch mode for SQLite)."""
    with op.batch_alter_table('redemptions') as batch:
        batch.drop_column('dispute_reason')
        batch.drop_column('disputed_by')
        batch.drop_column('disputed_at')
