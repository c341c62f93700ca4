"""users: token generations, so that a password change, a reset or disabling ends old tokens

A token names the generation it was signed in (`gen`) and its own id (`jti`). Changing the
password, having it reset or being disabled moves the user's generation on: tokens of an
earlier generation are refused (401), except the one that changed the password
(`kept_token`), so the session making the change stays signed in. Tokens signed before this
revision carry no `gen` and count as generation 0, every user's generation until then.

Revision ID: 0023_token_generations
Revises: 0022_redemptions_counting_index
Create Date: 2026-11-30 12:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0023_token_generations"
down_revision: str | Sequence[str] | None = "0022_redemptions_counting_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.token_generation (0) and users.kept_token."""
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("token_generation", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("kept_token", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Drop them (every token of the user's is accepted again until it expires)."""
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("kept_token")
        batch_op.drop_column("token_generation")
