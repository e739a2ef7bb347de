"""The admin API and console: a revision counter per client (the ETag), idempotency
keys for creating clients, and the console's login links and sessions.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False, index=True),
    )
    op.create_table(
        "console_login_links",
        sa.Column("link_hash", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
        sa.Column("used_at", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("console_login_links")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("revision")
