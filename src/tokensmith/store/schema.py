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
    # One more on every write to the client or its secrets (migration 0010): the admin API's ETag.
    sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
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
