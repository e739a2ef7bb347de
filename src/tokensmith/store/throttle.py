"""The throttles a node applies: brute-force blocks and per-client issuance limits,
counted in Redis when it answers (so every node counts together) and in this
process when it does not.

Checking a block is a dictionary lookup in this process: a node learns of blocks
from its own failure counting (the Redis script reports blocks already in force)
and from the fan-out, where the node that sets a block announces it. So a
successful request costs no Redis round trip; only failures do (one script call),
and a client with an issuance limit pays one pipelined round trip per token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from tokensmith import metrics
from tokensmith.domain.throttling import BruteForcePolicy, IssuanceDecision, ThrottleKey
from tokensmith.store.redis_link import RedisLink, redis_errors
from tokensmith.store.throttle_memory import MemoryFailureCounter, MemoryIssuanceCounter
from tokensmith.store.throttle_redis import RedisFailureCounter, RedisIssuanceCounter

log = logging.getLogger("tokensmith.throttle")
Announce = Callable[[ThrottleKey, float], Awaitable[None]]


class BruteForceGuard:
    def __init__(
        self,
        policy: BruteForcePolicy,
        link: RedisLink | None = None,
        *,
        enabled: bool = True,
        capacity: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.enabled = enabled
        self._link = link
        self._clock = clock
        self._capacity = capacity
        self._blocks: dict[str, float] = {}  # key text → monotonic instant the block ends
        self._memory = MemoryFailureCounter(policy, capacity=capacity, clock=clock)
        self._redis = RedisFailureCounter(policy, link) if link is not None else None
        self.announce: Announce | None = None

    def keys_for(self, address: str, client_id: str) -> tuple[ThrottleKey, ThrottleKey]:
        return self.policy.keys_for(address, client_id)

    def holds_blocks(self) -> bool:
        """Whether any block is held in this process: when none is, no key is blocked
        and a request need not even work out its keys."""
        return bool(self._blocks)

    def blocked_for(self, keys: Sequence[ThrottleKey]) -> float:
        """Seconds until every one of `keys` is unblocked; 0 when none is blocked."""
        if not self._blocks:
            return 0.0
        now = self._clock()
        longest = 0.0
        for key in keys:
            name = key.text()
            until = self._blocks.get(name)
            if until is None:
                continue
            if until <= now:
                del self._blocks[name]
            else:
                longest = max(longest, until - now)
        return longest

    def apply_block(self, key: ThrottleKey, seconds: float) -> None:
        """Holds a block locally (from this process's counting or another node's news)."""
        if seconds <= 0:
            return
        name = key.text()
        until = self._clock() + seconds
        if self._blocks.get(name, 0.0) < until:
            self._blocks[name] = until
        if len(self._blocks) > self._capacity:
            self._prune()

    def _prune(self) -> None:
        now = self._clock()
        for name in [name for name, until in self._blocks.items() if until <= now]:
            del self._blocks[name]
        while len(self._blocks) > self._capacity:
            del self._blocks[next(iter(self._blocks))]

    async def record_failure(self, keys: Sequence[ThrottleKey]) -> None:
        if not self.enabled:
            return
        outcomes: list[tuple[ThrottleKey, float, bool]]
        if self._redis is not None and self._link is not None and self._link.usable:
            try:
                outcomes = await self._redis.record(keys)
                self._link.succeeded()
            except redis_errors() as exc:
                self._link.failed("count failure", exc)
                outcomes = [(key, seconds, True) for key, seconds in self._memory.record(keys)]
            else:
                await self._announce([(key, seconds) for key, seconds, new in outcomes if new])
        else:
            outcomes = [(key, seconds, True) for key, seconds in self._memory.record(keys)]
        for key, seconds, new in outcomes:
            self.apply_block(key, seconds)
            if new:
                metrics.bruteforce_blocks.labels(key.scope.value).inc()
                log.warning(
                    "source blocked after failed authentications",
                    extra={"scope": key.scope.value, "address": key.address, "client_id": key.client_id or None, "seconds": round(seconds, 3)},
                )

    async def _announce(self, blocks: list[tuple[ThrottleKey, float]]) -> None:
        if self.announce is None:
            return
        for key, seconds in blocks:
            await self.announce(key, seconds)

    async def load_active_blocks(self) -> int:
        """Learns every block in force from Redis (when joining the fan-out)."""
        if self._redis is None or self._link is None:
            return 0
        blocks = await self._redis.active_blocks()
        for key, seconds in blocks:
            self.apply_block(key, seconds)
        return len(blocks)


class IssuanceLimiter:
    """Tokens per minute per client, for clients that have a limit (a sliding
    window of one minute: domain/throttling.py)."""

    WINDOW_SECONDS = 60.0

    def __init__(self, link: RedisLink | None = None) -> None:
        self._link = link
        self._memory = MemoryIssuanceCounter(self.WINDOW_SECONDS)
        self._redis = RedisIssuanceCounter(link, self.WINDOW_SECONDS) if link is not None else None

    async def take(self, client_id: str, per_minute: int) -> IssuanceDecision:
        if self._redis is not None and self._link is not None and self._link.usable:
            try:
                decision = await self._redis.take(client_id, per_minute)
            except redis_errors() as exc:
                self._link.failed("issuance limit", exc)
            else:
                self._link.succeeded()
                return decision
        return self._memory.take(client_id, per_minute)
