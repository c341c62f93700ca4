"""award publicity: 公示 lists of approved awards, their awards and objections

Revision ID: 0014_award_publicity
Revises: 0013
Create Date: 2026-11-29 23:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014_award_publicity'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    """Three tables: publications, the awards on each, objections to them."""
    op.create_table('award_publications',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('programme_id', ID, nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('working_days', sa.Boolean(), nullable=False),
    sa.Column('policy_version', sa.String(length=32), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('published_by_user', sa.BigInteger(), nullable=False),
    sa.Column('published_by', sa.String(length=160), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_award_publications_dates_ordered')),
    sa.CheckConstraint('days > 0', name=op.f('ck_award_publications_days_positive')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_award_publications_programme_id_programmes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_publications'))
    )
    with op.batch_alter_table('award_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_publications_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_publications_ends_on'), ['ends_on'], unique=False)

    op.create_table('award_publication_items',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('publication_id', ID, nullable=False),
    sa.Column('award_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_publication_items_award_id_awards')),
    sa.ForeignKeyConstraint(['publication_id'], ['award_publications.id'], name=op.f('fk_award_publication_items_publication_id_award_publications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_publication_items')),
    sa.UniqueConstraint('award_id', name=op.f('uq_award_publication_items_award_id'))
    )
    with op.batch_alter_table('award_publication_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_publication_items_publication_id'), ['publication_id'], unique=False)

    op.create_table('award_objections',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('publication_id', ID, nullable=False),
    sa.Column('award_id', ID, nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('recorded_by_user', sa.BigInteger(), nullable=False),
    sa.Column('recorded_by', sa.String(length=160), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_user', sa.BigInteger(), nullable=True),
    sa.Column('decided_by', sa.String(length=160), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=False),
    sa.Column('reversal_entry_id', ID, nullable=True),
    sa.CheckConstraint("status IN ('pending', 'upheld', 'dismissed')", name=op.f('ck_award_objections_status_known')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_objections_award_id_awards')),
    sa.ForeignKeyConstraint(['publication_id'], ['award_publications.id'], name=op.f('fk_award_objections_publication_id_award_publications')),
    sa.ForeignKeyConstraint(['reversal_entry_id'], ['journal_entries.id'], name=op.f('fk_award_objections_reversal_entry_id_journal_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_objections'))
    )
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_objections_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_objections_publication_id'), ['publication_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_objections_status'), ['status'], unique=False)


def downgrade() -> None:
    """Drop the objections, the publications' awards and the publications."""
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_objections_status'))
        batch_op.drop_index(batch_op.f('ix_award_objections_publication_id'))
        batch_op.drop_index(batch_op.f('ix_award_objections_award_id'))
    op.drop_table('award_objections')
    with op.batch_alter_table('award_publication_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_publication_items_publication_id'))
    op.drop_table('award_publication_items')
    with op.batch_alter_table('award_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_publications_ends_on'))
        batch_op.drop_index(batch_op.f('ix_award_publications_programme_id'))
    op.drop_table('award_publications')
