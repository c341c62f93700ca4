"""operations service: sign-in throttling counters and the request id in the operation log

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 20:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A new table and one nullable column: no rebuild of the append-only operations table."""
    op.create_table('sign_in_throttles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttles')),
    sa.UniqueConstraint('scope', 'subject', name=op.f('uq_sign_in_throttles_scope'))
    )
    op.add_column('operations', sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop the request id and the throttling table.

    No batch mode: rebuilding `operations` on SQLite would drop its append-only triggers;
    both engines drop a column in place (SQLite 3.35+).
    """
    op.execute('ALTER TABLE operations DROP COLUMN request_id')
    op.drop_table('sign_in_throttles')
