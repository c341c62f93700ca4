"""search and paging indexes: applications found by their voucher, vouchers paged per programme

Revision ID: 0016_application_search
Revises: 0013
Create Date: 2026-11-29 22:45:00

`q` on applications finds an approved one by its voucher's serial (`voucher_id`, indexed
here) besides the firm's name or credit code (`firm_id`, indexed already). A programme's
voucher list pages its ids from (programme_id, id): on PostgreSQL the index on programme_id
alone holds them in no useful order (SQLite's index carries the rowid and needs no change).
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0016_application_search"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two plain indexes (no table rebuild on either engine)."""
    op.create_index("ix_voucher_applications_voucher_id", "voucher_applications",
                    ["voucher_id"])
    op.create_index("ix_vouchers_programme_order", "vouchers", ["programme_id", "id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_vouchers_programme_order", table_name="vouchers")
    op.drop_index("ix_voucher_applications_voucher_id", table_name="voucher_applications")
