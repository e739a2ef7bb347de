"""Assertions seen: each jti accepted once until its assertion expires (RFC 7523
§3 item 7). Shared by every node through Redis when Redis is configured (SET NX with
the expiry, one round trip); held in this process otherwise.

With Redis configured but not answering, the check fails closed (ReplayUnchecked,
answered 503): falling back to this process would let an assertion be replayed at
every other node during the outage."""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Callable

from tokensmith import metrics
from tokensmith.store.redis_link import RedisLink, redis_errors


class ReplayUnchecked(Exception):
    """Whether the jti was seen cannot be told (Redis down, or this process's
    memory of jtis full): the assertion is refused for now, not accepted."""


def _digest(key: str) -> bytes:
    # Fixed-size keys: what a client chooses as jti does not size our memory or Redis.
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class ReplayCache:
    def __init__(self, redis: RedisLink | None, *, capacity: int = 500_000, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._capacity = capacity
        self._clock = clock
        self._seen: dict[bytes, int] = {}  # digest → expiry (epoch seconds)
        self._expiries: list[tuple[int, bytes]] = []  # min-heap, for sweeping

    def shared(self) -> bool:
        return self._redis is not None

    def first_use_here(self, key: str, expires_at: int) -> bool:
        """True the first time `key` is offered before `expires_at`, False after."""
        now = int(self._clock())
        self._sweep(now)
        digest = _digest(key)
        if digest in self._seen:
            return False
        if len(self._seen) >= self._capacity:
            metrics.replay_checks.labels("full").inc()
            raise ReplayUnchecked("too many assertions in flight")
        self._seen[digest] = expires_at
        heapq.heappush(self._expiries, (expires_at, digest))
        return True

    async def first_use(self, key: str, expires_at: int) -> bool:
        """As first_use_here, across every node sharing the Redis."""
        link = self._redis
        if link is None:
            return self.first_use_here(key, expires_at)
        now = int(self._clock())
        if not link.usable:
            metrics.replay_checks.labels("redis").inc()
            raise ReplayUnchecked("redis unavailable")
        try:
            # At least a second: Redis refuses an expiry in the past.
            stored = await link.client.set(link.key("jti", _digest(key).hex()), b"1", nx=True, ex=max(expires_at - now, 1))
        except redis_errors() as exc:
            link.failed("replay", exc)
            metrics.replay_checks.labels("redis").inc()
            raise ReplayUnchecked("redis unavailable") from None
        link.succeeded()
        return bool(stored)

    def _sweep(self, now: int) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] < now:
            expires_at, digest = heapq.heappop(expiries)
            if self._seen.get(digest) == expires_at:
                del self._seen[digest]
