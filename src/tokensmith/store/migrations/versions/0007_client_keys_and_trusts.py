"""Clients without shared secrets: each client's authentication method and public
keys (inline JWKS or jwks_uri), trusted external issuers, federated credentials, and
when each credential was last used. Every existing client keeps client_secret_basic.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("auth_method", sa.String(32), nullable=False, server_default="client_secret_basic"))
    op.add_column("clients", sa.Column("jwks", sa.JSON, nullable=True))
    op.add_column("clients", sa.Column("jwks_uri", sa.String(2048), nullable=True))
    op.create_table(
        "trusts",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("issuer", sa.String(2048), nullable=False),
        sa.Column("jwks_uri", sa.String(2048), nullable=True),
        sa.Column("jwks", sa.JSON, nullable=True),
        sa.Column("audience", sa.String(512), nullable=True),
        sa.Column("replay", sa.String(16), nullable=False),
        sa.Column("max_token_age", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "client_federations",
        sa.Column("federation_id", sa.String(32), primary_key=True),
        sa.Column("client_id", sa.String(128), sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False),
        sa.Column("trust", sa.String(64), sa.ForeignKey("trusts.name"), nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("conditions", sa.JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_client_federations_client_id", "client_federations", ["client_id"])
    op.create_index("ix_client_federations_trust", "client_federations", ["trust"])
    op.create_table(
        "credential_uses",
        sa.Column("client_id", sa.String(128), primary_key=True),
        sa.Column("credential_id", sa.String(160), primary_key=True),
        sa.Column("last_used_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("credential_uses")
    op.drop_index("ix_client_federations_trust", "client_federations")
    op.drop_index("ix_client_federations_client_id", "client_federations")
    op.drop_table("client_federations")
    op.drop_table("trusts")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("jwks_uri")
        batch.drop_column("jwks")
        batch.drop_column("auth_method")
