"""import batches: a file imported into a programme is recorded by its SHA-256

`vouchers import` of a file already imported into the programme adds nothing: the batch key
is the file's hash (the voucher file carries no serials to match on).

Revision ID: 0017_import_batches
Revises: 0016_application_search
Create Date: 2026-11-29 23:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017_import_batches"
down_revision: str | Sequence[str] | None = "0016_application_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create import_batches."""
    op.create_table(
        "import_batches",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("programme_id", ID, nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("first_voucher_id", sa.BigInteger(), nullable=True),
        sa.Column("last_voucher_id", sa.BigInteger(), nullable=True),
        sa.Column("imported_by", sa.String(length=160), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["programme_id"], ["programmes.id"],
                                name=op.f("fk_import_batches_programme_id_programmes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
        sa.UniqueConstraint("kind", "programme_id", "file_sha256",
                            name="uq_import_batches_kind_programme_file"),
    )


def downgrade() -> None:
    """Drop import_batches."""
    op.drop_table("import_batches")
