"""The tables. Valid on SQLite and PostgreSQL alike; Alembic migrations
(store/migrations) create them, this module only describes them for queries."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("default_scopes", sa.JSON, nullable=False),
    sa.Column("audiences", sa.JSON, nullable=False),
    sa.Column("claims", sa.JSON, nullable=False),
    sa.Column("lifetime", sa.String(64), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("rate_limit", sa.Integer, nullable=True),  # tokens per minute (migration 0003)
    sa.Column("reuse_tokens", sa.Boolean, nullable=False, server_default=sa.false()),  # migration 0005
    # Tokens issued before this instant are inactive (migration 0006); null: none.
    sa.Column("tokens_not_before", sa.BigInteger, nullable=True),
    # One more on every write to the client, its secrets or its federated credentials (migration 0010): the admin API's ETag.
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
    # domain/client_keys.py (migration 0007)
    sa.Column("auth_method", sa.String(32), nullable=False, server_default="client_secret_basic"),
    sa.Column("jwks", sa.JSON, nullable=True),
    sa.Column("jwks_uri", sa.String(2048), nullable=True),
    # domain/sender_constraints.py (migration 0008)
    sa.Column("token_binding", sa.String(16), nullable=False, server_default="none"),
    sa.Column("profile", sa.String(16), nullable=False, server_default="none"),
    sa.Column("tls_subject_dn", sa.String(1024), nullable=True),
    sa.Column("tls_san_dns", sa.JSON, nullable=True),
    sa.Column("tls_san_uri", sa.JSON, nullable=True),
)

client_secrets = sa.Table(
    "client_secrets",
    metadata,
    sa.Column("secret_id", sa.String(32), primary_key=True),
    sa.Column("client_id", sa.String(128), sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=True),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("private_key", sa.LargeBinary, nullable=False),  # AES-GCM under the KEK
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("activated_at", sa.BigInteger, nullable=True),
    sa.Column("retired_at", sa.BigInteger, nullable=True),
)

# A revoked token's jti, kept only until the token would have expired anyway.
revocations = sa.Table(
    "revocations",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("revoked_at", sa.BigInteger, nullable=False),
)

# Administrative changes (domain/audit.py): append-only, newest has the highest id.
audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("occurred_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

# The admin API's `Idempotency-Key` on creating a client (migration 0010): the first
# request's fingerprint and the client it made, per acting client or person.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("actor", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(128), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False, index=True),
)

# The console's one-time login links and its sessions (domain/console.py): hashes only.
console_login_links = sa.Table(
    "console_login_links",
    metadata,
    sa.Column("link_hash", sa.String(64), primary_key=True),
    sa.Column("person", sa.String(128), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    sa.Column("used_at", sa.BigInteger, nullable=True),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("person", sa.String(128), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
)

# Workload identity federation (domain/trusts.py, migration 0007): trusted external
# issuers, and each client's federated credentials.
trusts = sa.Table(
    "trusts",
    metadata,
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

client_federations = sa.Table(
    "client_federations",
    metadata,
    sa.Column("federation_id", sa.String(32), primary_key=True),
    sa.Column("client_id", sa.String(128), sa.ForeignKey("clients.client_id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("trust", sa.String(64), sa.ForeignKey("trusts.name"), nullable=False, index=True),
    sa.Column("subject", sa.String(512), nullable=False),
    sa.Column("conditions", sa.JSON, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# When each credential (a secret's id, "key:" + a kid, a federation's id) last
# authenticated its client: written in batches by a node, not once per token.
credential_uses = sa.Table(
    "credential_uses",
    metadata,
    sa.Column("client_id", sa.String(128), primary_key=True),
    sa.Column("credential_id", sa.String(160), primary_key=True),
    sa.Column("last_used_at", sa.BigInteger, nullable=False),
)
