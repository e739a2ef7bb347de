"""Sender-constrained tokens: each client's token binding (none, dpop, mtls), its
profile (none, fapi2), and the certificate tls_client_auth matches (subject DN,
DNS and URI SANs). Every existing client keeps bearer tokens and no profile.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("token_binding", sa.String(16), nullable=False, server_default="none"))
    op.add_column("clients", sa.Column("profile", sa.String(16), nullable=False, server_default="none"))
    op.add_column("clients", sa.Column("tls_subject_dn", sa.String(1024), nullable=True))
    op.add_column("clients", sa.Column("tls_san_dns", sa.JSON, nullable=True))
    op.add_column("clients", sa.Column("tls_san_uri", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        for column in ("tls_san_uri", "tls_san_dns", "tls_subject_dn", "profile", "token_binding"):
            batch.drop_column(column)
