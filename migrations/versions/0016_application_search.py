"""search and paging indexes: applications found by their voucher, vouchers paged per programme

Revision ID: 0016_application_search
Revises: 0015_programme_month_totals
Create Date: 2026-11-29 22:45:00

`q` on applications finds an approved one by its voucher's serial (`voucher_id`, indexed
here) besides the firm's name or credit code (`firm_id`, indexed already). A programme's
voucher list pages its ids from (programme_id, id): on PostgreSQL the index on programme_id
alone holds them in no useful order (SQLite's index carries the rowid and needs no change).
The serial index gains the id for the same reason: a serial search's ids, sorted, from the
index alone.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0016_application_search"
down_revision: str | Sequence[str] | None = "0015_programme_month_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PATTERN = {"serial": "text_pattern_ops"}


def upgrade() -> None:
    """Plain indexes (no table rebuild on either engine)."""
    op.create_index("ix_voucher_applications_voucher_id", "voucher_applications",
                    ["voucher_id"])
    op.create_index("ix_vouchers_programme_order", "vouchers", ["programme_id", "id"])
    op.drop_index("ix_vouchers_serial", table_name="vouchers")
    op.create_index("ix_vouchers_serial", "vouchers", ["serial", "id"], postgresql_ops=PATTERN)


def downgrade() -> None:
    """Drop them; the serial index as 0012 made it."""
    op.drop_index("ix_vouchers_serial", table_name="vouchers")
    op.create_index("ix_vouchers_serial", "vouchers", ["serial"], postgresql_ops=PATTERN)
    op.drop_index("ix_vouchers_programme_order", table_name="vouchers")
    op.drop_index("ix_voucher_applications_voucher_id", table_name="voucher_applications")
