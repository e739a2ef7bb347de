"""In-process caches in front of the store, so that the hot path (authenticate,
sign, respond) touches no store once warm. Each entry is trusted for a bounded time,
so a change made by another process (the command line, another node) takes effect
within that time."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

import anyio.to_thread
import orjson

from tokensmith.domain.clients import Client
from tokensmith.domain.introspection import VerificationKey, verification_keys
from tokensmith.domain.keys import KeyRing
from tokensmith.domain.tokens import TokenSigner
from tokensmith.store.clients import ClientRepository
from tokensmith.store.keys import KeyRepository

Clock = Callable[[], float]


class ClientCache:
    def __init__(self, repository: ClientRepository, ttl: float, *, capacity: int = 50_000, clock: Clock = time.monotonic) -> None:
        self._repository = repository
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        # Unknown ids are cached too (as None), so guessing ids cannot load the store.
        self._entries: OrderedDict[str, tuple[float, Client | None]] = OrderedDict()

    async def get(self, client_id: str) -> Client | None:
        now = self._clock()
        entry = self._entries.get(client_id)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        client = await anyio.to_thread.run_sync(self._repository.get, client_id)
        self._entries[client_id] = (now, client)
        self._entries.move_to_end(client_id)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return client

    def forget(self, client_id: str) -> None:
        self._entries.pop(client_id, None)


class KeyRingCache:
    """The active signer and the encoded JWKS, rebuilt when the ring is re-read."""

    def __init__(self, repository: KeyRepository, ttl: float, retention: int, *, clock: Clock = time.monotonic) -> None:
        self._repository = repository
        self._ttl = ttl
        self._retention = retention
        self._clock = clock
        self._loaded_at = float("-inf")
        self._fingerprint: tuple[tuple[str, str, int | None], ...] = ()
        self.signer: TokenSigner | None = None
        self.jwks_body = b'{"keys":[]}'
        self.verification_keys: dict[str, VerificationKey] = {}

    def is_fresh(self) -> bool:
        return self._clock() - self._loaded_at < self._ttl

    async def refresh_if_stale(self) -> None:
        if not self.is_fresh():
            await anyio.to_thread.run_sync(self.reload)

    def reload(self) -> None:
        keys = self._repository.all()
        ring = KeyRing(keys, int(time.time()), self._retention)
        fingerprint = tuple((k.kid, k.state.value, k.activated_at) for k in ring.published)
        if fingerprint != self._fingerprint:
            self.signer = TokenSigner(ring.active) if ring.active else None
            self.jwks_body = orjson.dumps(ring.jwks())
            self.verification_keys = verification_keys(ring.published)
            self._fingerprint = fingerprint
        self._loaded_at = self._clock()
