"""Per-client token reuse (store/reuse.py); off for every existing client.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant server default: existing rows read false, and PostgreSQL (11+) adds
    # the column without rewriting the table.
    op.add_column("clients", sa.Column("reuse_tokens", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("reuse_tokens")
