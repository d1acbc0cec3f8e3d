"""SQLite tables never reuse a deleted row's id (AUTOINCREMENT).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Without AUTOINCREMENT, SQLite gives a new row the largest deleted rowid, so a deleted article's
URL and ETag would name the next article. PostgreSQL's sequences never reuse ids: nothing to do.
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("users", "articles", "messages", "tokens")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
