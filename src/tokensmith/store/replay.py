"""Assertions seen: each jti accepted once until its assertion expires (RFC 7523
§3 item 7). Shared by every node through Redis when Redis is configured (SET NX with
the expiry, one round trip); held in this process otherwise.

With Redis configured but not answering, the check fails closed (ReplayUnchecked,
answered 503): falling back to this process would let an assertion be replayed at
every other node during the outage."""

from __future__ import annotations

import asyncio
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
        # Redis checks waiting for the batch in flight, and the batches in flight.
        self._waiting: list[tuple[str, int, asyncio.Future[bool]]] = []
        self._sending = False
        self._batches: set[asyncio.Future[None]] = set()
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
        """As first_use_here, across every node sharing the Redis. The checks asked
        for while one batch is in flight go together in the next (one pipeline of
        SET NX, one round trip): under load, a round trip per assertion would cost
        more than the assertion's own signature check."""
        link = self._redis
        if link is None:
            return self.first_use_here(key, expires_at)
        if not link.usable:
            metrics.replay_checks.labels("redis").inc()
            raise ReplayUnchecked("redis unavailable")
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((link.key("jti", _digest(key).hex()), expires_at, waiter))
        if not self._sending:
            self._sending = True
            asyncio.get_running_loop().call_soon(self._send_batch, link)
        return await waiter

    def _send_batch(self, link: RedisLink) -> None:
        batch, self._waiting = self._waiting, []
        self._batches.add(task := asyncio.ensure_future(self._set_all(link, batch)))
        task.add_done_callback(self._batches.discard)

    async def _set_all(self, link: RedisLink, batch: list[tuple[str, int, asyncio.Future[bool]]]) -> None:
        try:
            now = int(self._clock())
            pipeline = link.client.pipeline(transaction=False)
            for name, expires_at, _ in batch:
                # At least a second: Redis refuses an expiry in the past.
                pipeline.set(name, b"1", nx=True, ex=max(expires_at - now, 1))
            try:
                answers = await pipeline.execute()
            except redis_errors() as exc:
                link.failed("replay", exc)
                metrics.replay_checks.labels("redis").inc(len(batch))
                for _, _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(ReplayUnchecked("redis unavailable"))
                return
            link.succeeded()
            for (_, _, waiter), stored in zip(batch, answers, strict=True):
                if not waiter.done():
                    waiter.set_result(bool(stored))
        finally:
            if self._waiting:  # asked for meanwhile: the next batch goes now
                self._send_batch(link)
            else:
                self._sending = False

    def _sweep(self, now: int) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] < now:
            expires_at, digest = heapq.heappop(expiries)
            if self._seen.get(digest) == expires_at:
                del self._seen[digest]
