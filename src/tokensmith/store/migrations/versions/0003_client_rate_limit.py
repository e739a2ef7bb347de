"""Per-client issuance limit (tokens per minute); NULL means none.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: existing clients keep issuing unlimited, and
    # the column is added without rewriting the table on PostgreSQL.
    op.add_column("clients", sa.Column("rate_limit", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("rate_limit")
