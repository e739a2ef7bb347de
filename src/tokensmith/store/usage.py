"""When each credential last authenticated its client (schema.credential_uses): a
secret's id, "key:" + a registered key's kid, or a federated credential's id. A
node tallies uses in memory and writes them here in batches, so a token costs no
store write; several nodes writing the same credential keep the latest instant."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tokensmith.domain.client_keys import KEY_PREFIX, key_credential_id
from tokensmith.store.schema import credential_uses

__all__ = ["KEY_PREFIX", "CredentialUses", "key_credential_id"]


def _upsert(dialect: str) -> sa.Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(credential_uses)
    stored, offered = credential_uses.c.last_used_at, statement.excluded.last_used_at
    # Only forward: a node flushing late must not move an instant back.
    return statement.on_conflict_do_update(
        index_elements=[credential_uses.c.client_id, credential_uses.c.credential_id],
        set_={"last_used_at": sa.case((offered > stored, offered), else_=stored)},
    )


def forget_credentials(connection: sa.Connection, client_id: str, credential_id: str | None = None) -> None:
    """Within a change's transaction: the uses of a removed credential (all of a
    deleted client's when `credential_id` is None), so that a credential made later
    with the same id does not inherit them."""
    condition = credential_uses.c.client_id == client_id
    if credential_id is not None:
        condition &= credential_uses.c.credential_id == credential_id
    connection.execute(credential_uses.delete().where(condition))


def forget_key_uses(connection: sa.Connection, client_id: str, keep: Collection[str]) -> None:
    """Within a change of the client's keys: the uses of its keys but those whose
    kids are in `keep` (the inline keys it still has)."""
    condition = (credential_uses.c.client_id == client_id) & credential_uses.c.credential_id.startswith(KEY_PREFIX, autoescape=True)
    kept = [key_credential_id(kid) for kid in keep]
    if kept:
        condition &= credential_uses.c.credential_id.not_in(kept)
    connection.execute(credential_uses.delete().where(condition))


class CredentialUses:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"credential uses are kept in SQLite or PostgreSQL, not {engine.dialect.name}")
        self._upsert = _upsert(engine.dialect.name)

    def record(self, batch: Mapping[tuple[str, str], int]) -> None:
        """Each (client id, credential id) was last used at that instant (epoch
        seconds). One transaction; rows in key order, so that two nodes flushing at
        once take their row locks in the same order (PostgreSQL)."""
        if not batch:
            return
        rows = [
            {"client_id": client_id, "credential_id": credential_id, "last_used_at": int(used_at)}
            for (client_id, credential_id), used_at in sorted(batch.items())
        ]
        with self._engine.begin() as connection:
            connection.execute(self._upsert, rows)

    def for_client(self, client_id: str) -> dict[str, int]:
        query = sa.select(credential_uses.c.credential_id, credential_uses.c.last_used_at).where(
            credential_uses.c.client_id == client_id
        )
        with self._engine.connect() as connection:
            return {row.credential_id: row.last_used_at for row in connection.execute(query)}
