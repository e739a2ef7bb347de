"""Per-client `tokens_not_before` (`tokensmith clients revoke-tokens`); null for
every existing client: none of their tokens is refused for it.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: PostgreSQL adds it without rewriting the table.
    op.add_column("clients", sa.Column("tokens_not_before", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("tokens_not_before")
