"""One tokensmith process: its settings, store, caches and secret checker, wired once
and shared by the HTTP layer and the command line."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from tokensmith.config import Settings
from tokensmith.domain.key_encryption import KeyEncryption
from tokensmith.domain.keys import KeyState, plan_rotation
from tokensmith.domain.secrets import SecretChecker
from tokensmith.store.cache import ClientCache, KeyRingCache
from tokensmith.store.clients import ClientRepository
from tokensmith.store.database import create_engine
from tokensmith.store.kek_source import load_kek
from tokensmith.store.keys import KeyRepository
from tokensmith.store.revocations import RevocationRepository


@dataclass
class Node:
    settings: Settings
    engine: sa.Engine
    clients: ClientRepository
    keys: KeyRepository
    revocations: RevocationRepository
    client_cache: ClientCache
    key_cache: KeyRingCache
    checker: SecretChecker

    @classmethod
    def from_settings(cls, settings: Settings) -> Node:
        engine = create_engine(settings.database_url)
        encryption = KeyEncryption(load_kek(settings))
        clients = ClientRepository(engine)
        keys = KeyRepository(engine, encryption)
        return cls(
            settings=settings,
            engine=engine,
            clients=clients,
            keys=keys,
            revocations=RevocationRepository(engine),
            client_cache=ClientCache(clients, settings.client_cache_seconds),
            key_cache=KeyRingCache(keys, settings.key_cache_seconds, settings.retired_key_retention_seconds),
            checker=SecretChecker(encryption.secret_hash_key),
        )

    def ensure_signing_key(self) -> bool:
        """Creates an active and a next key when the ring has no active key.
        True when it made them."""
        keys = self.keys.all()
        if any(key.state is KeyState.ACTIVE for key in keys):
            return False
        self.rotate_keys()
        return True

    def rotate_keys(self) -> None:
        rotation = plan_rotation(
            self.keys.all(), self.settings.signing_algorithm, int(time.time()), self.settings.retired_key_retention_seconds
        )
        self.keys.apply(rotation)

    def store_answers(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False
