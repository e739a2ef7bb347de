"""Revoked token ids in SQL. Tokens are stateless, so this is the only per-token
state, and each row is dropped once its token has expired."""

from __future__ import annotations

import sqlalchemy as sa

from tokensmith.domain.audit import AuditEvent
from tokensmith.store import audit
from tokensmith.store.schema import revocations


class RevocationRepository:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def revoke(self, jti: str, client_id: str, expires_at: int, now: int, audit_event: AuditEvent | None = None) -> bool:
        """False when the token was revoked already (then `audit_event` is not stored)."""
        with self._engine.begin() as connection:
            connection.execute(revocations.delete().where(revocations.c.expires_at <= now))
            already = connection.execute(sa.select(revocations.c.jti).where(revocations.c.jti == jti)).first()
            if already is not None:
                return False
            try:
                # A savepoint, so that on PostgreSQL a duplicate does not abort the
                # whole transaction (and the expired rows' clean-up with it).
                with connection.begin_nested():
                    connection.execute(
                        revocations.insert().values(jti=jti, client_id=client_id, expires_at=expires_at, revoked_at=now)
                    )
            except sa.exc.IntegrityError:
                return False  # revoked by a concurrent request: the outcome is the same
            if audit_event is not None:
                audit.record(connection, audit_event)
            return True

    def is_revoked(self, jti: str) -> bool:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(revocations.c.jti).where(revocations.c.jti == jti)).first() is not None

    def count(self) -> int:
        with self._engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(revocations)).scalar_one()
