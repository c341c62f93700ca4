"""users: tokens signed out before they expire, so that signing out ends the session

Signing out (the console's 退出 button, or `POST /api/v1/auth/sign-out`) remembers the token's
id (`jti`) and expiry on its user, and the token is refused (401) from then on; entries are
dropped once expired, or when the user's token generation moves on (which ends them all).

Revision ID: 0024_ended_tokens
Revises: 0023_token_generations
Create Date: 2026-11-30 14:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0024_ended_tokens"
down_revision: str | Sequence[str] | None = "0023_token_generations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.ended_tokens (JSON: token id to expiry, or NULL)."""
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("ended_tokens", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop it (a signed-out token is accepted again until it expires)."""
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("ended_tokens")
