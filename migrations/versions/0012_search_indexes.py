"""search indexes: `q` finds parties by a prefix of their name or credit code, vouchers by serial

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:40:00.000000

PostgreSQL serves `LIKE 'abc%'` from a btree only under the C collation or with
`text_pattern_ops`; SQLite's search is a range, served by any index on the column.
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PATTERN = {'name': 'text_pattern_ops', 'credit_code': 'text_pattern_ops',
           'serial': 'text_pattern_ops'}


def upgrade() -> None:
    """Five plain indexes (no table rebuild on either engine)."""
    for table in ('firms', 'providers'):
        op.create_index(f'ix_{table}_name_prefix', table, ['name'], postgresql_ops=PATTERN)
        op.create_index(f'ix_{table}_credit_code_prefix', table, ['credit_code'],
                        postgresql_ops=PATTERN)
    op.create_index('ix_vouchers_serial', 'vouchers', ['serial'], postgresql_ops=PATTERN)


def downgrade() -> None:
    """Drop the search indexes."""
    op.drop_index('ix_vouchers_serial', table_name='vouchers')
    for table in ('providers', 'firms'):
        op.drop_index(f'ix_{table}_credit_code_prefix', table_name=table)
        op.drop_index(f'ix_{table}_name_prefix', table_name=table)
