"""The key ring in SQL; private keys go in and out through the key encryption."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tokensmith.domain.audit import AuditEvent
from tokensmith.domain.key_encryption import KeyEncryption
from tokensmith.domain.keys import KeyState, Rotation, SigningKey, load_private_key, private_key_bytes
from tokensmith.store import audit
from tokensmith.store.schema import signing_keys


class KeyRepository:
    def __init__(self, engine: sa.Engine, encryption: KeyEncryption) -> None:
        self._engine = engine
        self._encryption = encryption
        # Parsing and decrypting a private key costs milliseconds; a kid never changes
        # its key material, so each is parsed once per process.
        self._parsed: dict[str, Any] = {}

    def _to_key(self, row: Any) -> SigningKey:
        private = self._parsed.get(row.kid)
        if private is None:
            private = load_private_key(self._encryption.unwrap(row.private_key, row.kid))
            self._parsed[row.kid] = private
        return SigningKey(
            kid=row.kid,
            algorithm=row.algorithm,
            state=KeyState(row.state),
            private_key=private,
            created_at=row.created_at,
            activated_at=row.activated_at,
            retired_at=row.retired_at,
        )

    def all(self) -> list[SigningKey]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(signing_keys).order_by(signing_keys.c.created_at)).all()
        return [self._to_key(row) for row in rows]

    def apply(self, rotation: Rotation, audit_event: AuditEvent | None = None) -> None:
        """One transaction, so no node ever sees a ring with no active key."""
        with self._engine.begin() as connection:
            if audit_event is not None:
                audit.record(connection, audit_event)
            if rotation.deleted:
                connection.execute(signing_keys.delete().where(signing_keys.c.kid.in_(rotation.deleted)))
            for key in rotation.updated:
                connection.execute(
                    signing_keys.update()
                    .where(signing_keys.c.kid == key.kid)
                    .values(state=key.state.value, activated_at=key.activated_at, retired_at=key.retired_at)
                )
            for key in rotation.created:
                wrapped = self._encryption.wrap(private_key_bytes(key.private_key), key.kid)
                connection.execute(
                    signing_keys.insert().values(
                        kid=key.kid,
                        algorithm=key.algorithm,
                        state=key.state.value,
                        private_key=wrapped,
                        created_at=key.created_at,
                        activated_at=key.activated_at,
                        retired_at=key.retired_at,
                    )
                )
