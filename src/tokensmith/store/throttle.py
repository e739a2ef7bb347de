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

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

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
        # key text → monotonic instant of this process's last failure for it: attempts
        # on such a key are counted before they are checked (`reserve`).
        self._failed: dict[str, float] = {}
        self._reserving: dict[str, tuple[asyncio.Lock, int]] = {}  # key text → (lock, users)
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

    # -- counting attempts ahead of their check ---------------------------------------
    #
    # Failures are counted after the check, so without more, N guesses sent together
    # are all checked before the first is counted. A key that failed recently in this
    # process is therefore "suspect": each attempt on it is counted as a failure before
    # its check (a reservation), refused at once if that passes the limit, and given
    # back if the check succeeds. Only the first failure of a key in a window goes
    # uncounted ahead, once per process: a burst gets at most limit + processes checks.

    def suspects_any(self) -> bool:
        """Whether any key failed recently in this process (else none need be worked out)."""
        return bool(self._failed)

    def suspects(self, keys: Sequence[ThrottleKey]) -> bool:
        if not self._failed:
            return False
        now = self._clock()
        window = self.policy.window_seconds
        return any(now - self._failed.get(key.text(), float("-inf")) < window for key in keys)

    def note_failure(self, keys: Sequence[ThrottleKey]) -> None:
        now = self._clock()
        for key in keys:
            self._failed[key.text()] = now
        if len(self._failed) > self._capacity:
            for name in [name for name, at in self._failed.items() if now - at >= self.policy.window_seconds]:
                del self._failed[name]
            while len(self._failed) > self._capacity:
                del self._failed[next(iter(self._failed))]

    def shared(self) -> bool:
        """Whether counting goes to Redis (so it waits) rather than this process."""
        return self._redis is not None and self._link is not None and self._link.usable

    def reserve_here(self, keys: Sequence[ThrottleKey], *, known: bool) -> float:
        """Count an attempt ahead in this process: seconds blocked (refused), or 0."""
        wait = self.blocked_for(keys)
        if wait > 0:
            return wait
        self._apply(((key, seconds, True) for key, seconds in self._memory.record(keys)), known)
        return 0.0

    async def reserve(self, keys: Sequence[ThrottleKey], *, known: bool) -> float:
        """reserve_here, counted in Redis when it answers (one script call). This
        process's attempts on one key go to Redis one at a time: a burst does not
        become a burst of Redis calls, and once one of them sets the block the rest
        are refused here without a call."""
        name = keys[-1].text()
        lock, users = self._reserving.get(name) or (asyncio.Lock(), 0)
        self._reserving[name] = (lock, users + 1)
        try:
            async with lock:
                wait = self.blocked_for(keys)
                if wait > 0:
                    return wait
                outcomes = await self._count(keys)
                if outcomes is None:
                    return self.reserve_here(keys, known=known)
                held = max((seconds for _, seconds, new in outcomes if not new), default=0.0)
                self._apply(outcomes, known)
                return held  # a block already in force (set by another attempt): refused
        finally:
            lock, users = self._reserving[name]
            if users == 1:
                del self._reserving[name]
            else:
                self._reserving[name] = (lock, users - 1)

    def release_here(self, keys: Sequence[ThrottleKey]) -> None:
        self._memory.take_back(keys)

    async def release(self, keys: Sequence[ThrottleKey]) -> None:
        if self.shared():
            assert self._redis is not None and self._link is not None
            try:
                await self._redis.take_back(keys)
                return
            except redis_errors() as exc:
                self._link.failed("release attempt", exc)
        self._memory.take_back(keys)

    # -- counting failures ------------------------------------------------------------

    def record_here(self, keys: Sequence[ThrottleKey], *, known: bool) -> None:
        if self.enabled:
            self._apply(((key, seconds, True) for key, seconds in self._memory.record(keys)), known)

    async def record_failure(self, keys: Sequence[ThrottleKey], *, known: bool = False) -> None:
        if not self.enabled:
            return
        outcomes = await self._count(keys)
        if outcomes is None:
            self.record_here(keys, known=known)
        else:
            self._apply(outcomes, known)

    async def _count(self, keys: Sequence[ThrottleKey]) -> list[tuple[ThrottleKey, float, bool]] | None:
        """One failure counted in Redis; None when Redis is not to be used now."""
        if not self.shared():
            return None
        assert self._redis is not None and self._link is not None
        try:
            outcomes = await self._redis.record(keys)
        except redis_errors() as exc:
            self._link.failed("count failure", exc)
            return None
        self._link.succeeded()
        await self._announce([(key, seconds) for key, seconds, new in outcomes if new])
        return outcomes

    def _apply(self, outcomes: Iterable[tuple[ThrottleKey, float, bool]], known: bool) -> None:
        for key, seconds, new in outcomes:
            self.apply_block(key, seconds)
            if new:
                metrics.bruteforce_blocks.labels(key.scope.value).inc()
                # The attempted id is named only when it is a registered client's: an
                # unknown one may be a secret sent in the wrong field.
                log.warning(
                    "source blocked after failed authentications",
                    extra={"scope": key.scope.value, "address": key.address, "client_id": (key.client_id or None) if known else None, "seconds": round(seconds, 3)},
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
