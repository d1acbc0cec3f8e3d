"""Tokens carry scopes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tokens", sa.Column("scopes", sa.String(100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("scopes")
