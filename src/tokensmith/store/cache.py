"""In-process caches in front of the store, so that the hot path (authenticate,
sign, respond) touches no store once warm. Each entry is trusted for a bounded time,
so a change made by another process (the command line, another node) takes effect
within that time."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import ClassVar, Generic, Protocol, TypeVar

import orjson

from tokensmith import metrics
from tokensmith.domain.clients import Client
from tokensmith.domain.introspection import verification_keys
from tokensmith.domain.keys import KeyRing
from tokensmith.domain.tokens import TokenSigner
from tokensmith.domain.trusts import Trust
from tokensmith.jose.jwk import VerificationKey
from tokensmith.store.availability import StoreGate, StoreUnavailable
from tokensmith.store.keys import KeyRepository

Clock = Callable[[], float]
Record = TypeVar("Record")
Covariant = TypeVar("Covariant", covariant=True)

# Counted on every token request: the value's own inc, made once (metrics.incrementer).
_KEYS_HIT = metrics.incrementer(metrics.cache_lookups, "key_ring", "hit")
_KEYS_MISS = metrics.cache_lookups.labels("key_ring", "miss")
_KEYS_STALE = metrics.cache_lookups.labels("key_ring", "stale")


class _Repository(Protocol[Covariant]):
    def get(self, name: str, /) -> Covariant | None: ...


class _RecordCache(Generic[Record]):
    """Records by name (clients by id, trusts by name), each trusted for `ttl`
    seconds; unknown names are cached too (as None), so guessing names cannot load
    the store. A subclass names its metric label and what it reads."""

    _what: ClassVar[str]  # the gate's name for a lookup (store/availability.py)
    _label: ClassVar[str]  # the `cache` label of tokensmith_cache_lookups

    def __init__(
        self,
        repository: _Repository[Record],
        ttl: float,
        *,
        capacity: int = 50_000,
        clock: Clock = time.monotonic,
        gate: StoreGate | None = None,
        max_stale: float = 0.0,
    ) -> None:
        self._repository = repository
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._gate = gate or StoreGate(timeout=30.0, retry_seconds=0.0, clock=clock)
        # While the store is unreachable, an entry is still used this long past its TTL.
        self._max_stale = max_stale
        # Bumped by forget/clear: a lookup that was in flight meanwhile is not cached.
        self._generation = 0
        self._entries: OrderedDict[str, tuple[float, Record | None]] = OrderedDict()
        # One store lookup per name at a time: when an entry expires under load, the
        # requests for it wait for the same lookup instead of each going to the store.
        self._lookups: dict[str, asyncio.Task[Record | None]] = {}
        self._hit = metrics.incrementer(metrics.cache_lookups, self._label, "hit")
        self._miss = metrics.cache_lookups.labels(self._label, "miss")
        self._stale = metrics.cache_lookups.labels(self._label, "stale")

    async def get(self, name: str) -> Record | None:
        now = self._clock()
        entry = self._entries.get(name)
        if entry is not None and now - entry[0] < self._ttl:
            self._hit()
            return entry[1]
        lookup = self._lookups.get(name)
        if lookup is None or lookup.done():
            lookup = self._start_lookup(name, now)
        try:
            # Shielded: a caller that is cancelled (its client went away) leaves the
            # lookup running for the others, and cancels nobody but itself.
            record = await asyncio.shield(lookup)
        except StoreUnavailable:
            if entry is not None and now - entry[0] < self._ttl + self._max_stale:
                self._stale.inc()
                return entry[1]
            raise
        self._miss.inc()
        return record

    def fresh(self, name: str) -> tuple[bool, Record | None]:
        """(True, the entry) when `name` is cached and fresh, else (False, None):
        what `get` would answer without a store call. Counts nothing (count_hit does,
        once the caller has used the entry)."""
        entry = self._entries.get(name)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            return True, entry[1]
        return False, None

    def count_hit(self) -> None:
        self._hit()

    def _start_lookup(self, name: str, now: float) -> asyncio.Task[Record | None]:
        lookup = asyncio.create_task(self._lookup(name, now), name=self._what)
        self._lookups[name] = lookup
        lookup.add_done_callback(partial(self._lookup_done, name))
        return lookup

    async def _lookup(self, name: str, now: float) -> Record | None:
        generation = self._generation
        record = await self._gate.call(self._what, self._repository.get, name)
        if generation != self._generation:
            return record  # changed while we read: answer, but do not keep it
        self._entries[name] = (now, record)
        self._entries.move_to_end(name)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return record

    def _lookup_done(self, name: str, lookup: asyncio.Task[Record | None]) -> None:
        # Only this lookup: forget/clear may have started a newer one for the same name.
        if self._lookups.get(name) is lookup:
            del self._lookups[name]
        if not lookup.cancelled():
            lookup.exception()  # retrieved, even when every caller was cancelled first

    def forget(self, name: str) -> None:
        self._generation += 1
        self._entries.pop(name, None)
        # A lookup already in flight may have read the row before the change: later
        # callers start their own (it still answers the callers waiting on it).
        self._lookups.pop(name, None)

    def clear(self) -> None:
        """Drop everything (after missing change announcements, say)."""
        self._generation += 1
        self._entries.clear()
        self._lookups.clear()


class ClientCache(_RecordCache[Client]):
    _what = "client lookup"
    _label = "client"


class TrustCache(_RecordCache[Trust]):
    """Trusted issuers by name, for the token path's federated authentication
    (exchange/). Dropped on a trust-changed announcement (store/fanout.py)."""

    _what = "trust lookup"
    _label = "trust"


class KeyRingCache:
    """The active signer and the encoded JWKS, rebuilt when the ring is re-read."""

    def __init__(
        self,
        repository: KeyRepository,
        ttl: float,
        retention: int,
        *,
        clock: Clock = time.monotonic,
        gate: StoreGate | None = None,
    ) -> None:
        self._repository = repository
        self._ttl = ttl
        self._gate = gate or StoreGate(timeout=30.0, retry_seconds=0.0, clock=clock)
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
        if self.is_fresh():
            _KEYS_HIT()
            return
        _KEYS_MISS.inc()
        try:
            await self._gate.call("key ring", self.reload)
        except StoreUnavailable:
            if self.signer is None and not self.verification_keys:
                raise
            # The ring we hold stays valid (keys are published before they sign and
            # after they retire); try the store again after a pause, not per request.
            _KEYS_STALE.inc()
            self._loaded_at = self._clock() - self._ttl + max(1.0, self._gate.retry_seconds)

    @staticmethod
    def count_hit() -> None:
        """refresh_if_stale's count when the ring was fresh (for a caller that checked
        is_fresh itself)."""
        _KEYS_HIT()

    def invalidate(self) -> None:
        """The next use re-reads the ring (another process rotated it)."""
        self._loaded_at = float("-inf")

    def reload(self) -> None:
        keys = self._repository.all()
        ring = KeyRing(keys, int(time.time()), self._retention)
        fingerprint = tuple((k.kid, k.state.value, k.activated_at) for k in ring.published)
        if fingerprint != self._fingerprint:
            self.signer = TokenSigner(ring.active) if ring.active else None
            self.jwks_body = orjson.dumps(ring.jwks())
            self.verification_keys = verification_keys(ring.published)
            self._fingerprint = fingerprint
            metrics.set_signing_key(ring.active.kid if ring.active else None, ring.active.algorithm if ring.active else None)
        self._loaded_at = self._clock()


class RevokedTokens:
    """Token ids this process knows were revoked: by its own revocation endpoint and,
    through Redis, by every other node's. Kept until the token's own expiry. A hit
    answers introspection without the store (and while the store is down); a miss
    still asks the store, which is the authority."""

    def __init__(self, capacity: int = 200_000, *, wall_clock: Clock = time.time) -> None:
        self._capacity = capacity
        self._clock = wall_clock
        self._expiry: OrderedDict[str, int] = OrderedDict()

    def add(self, jti: str, expires_at: int) -> None:
        if expires_at <= self._clock():
            return
        self._expiry[jti] = expires_at
        self._expiry.move_to_end(jti)
        while len(self._expiry) > self._capacity:
            self._expiry.popitem(last=False)

    def __contains__(self, jti: object) -> bool:
        expires_at = self._expiry.get(jti)  # type: ignore[call-overload]
        if expires_at is None:
            return False
        if expires_at <= self._clock():
            del self._expiry[jti]  # type: ignore[arg-type]
            return False
        return True

    def __len__(self) -> int:
        return len(self._expiry)
