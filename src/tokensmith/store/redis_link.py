"""One process's link to Redis: the client, whether Redis is answering, and one log
line per outage rather than one per request.

Every call is bounded by a short socket timeout and made once (no retries): Redis
only ever makes tokensmith better (shared counters, fan-out), so when it does not
answer the caller falls back at once to per-process behaviour, and the link is not
tried again for `retry_seconds`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tokensmith import metrics

if TYPE_CHECKING:
    import redis
    import redis.asyncio

log = logging.getLogger("tokensmith.redis")


@functools.cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when Redis is not there or too slow. (The redis
    package is imported only by processes that use it: the command line without
    Redis starts faster.)"""
    import redis

    return (redis.RedisError, OSError, TimeoutError)


class RedisLink:
    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        timeout: float = 0.25,
        retry_seconds: float = 5.0,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._log_interval = log_interval
        self._clock = clock
        self._client: redis.asyncio.Redis | None = None
        self._skip_until = float("-inf")
        self._down_since: float | None = None
        self._last_logged = float("-inf")
        self._suppressed = 0

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def channel(self) -> str:
        return self.prefix + "events"

    @property
    def client(self) -> redis.asyncio.Redis:
        """The asyncio client, made on first use (inside the event loop that uses it)."""
        if self._client is None:
            self._client = self.new_async_client(socket_timeout=self.timeout)
        return self._client

    def new_async_client(self, *, socket_timeout: float | None) -> redis.asyncio.Redis:
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff

        return redis.asyncio.Redis.from_url(
            self.url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=self.timeout,
            retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),
            client_name="tokensmith",
        )

    def new_sync_client(self) -> redis.Redis:
        """For the command line, which publishes a change and exits."""
        import redis
        import redis.backoff
        import redis.retry

        return redis.Redis.from_url(
            self.url,
            socket_timeout=max(self.timeout, 1.0),
            socket_connect_timeout=max(self.timeout, 1.0),
            retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0),
            client_name="tokensmith-cli",
        )

    @property
    def usable(self) -> bool:
        """False for a while after a failure: callers use their fallback directly."""
        return self._clock() >= self._skip_until

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def failed(self, operation: str, exc: BaseException) -> None:
        now = self._clock()
        metrics.redis_errors.labels(operation).inc()
        self._skip_until = now + self.retry_seconds
        if self._down_since is None:
            self._down_since = now
        if now - self._last_logged >= self._log_interval:
            log.warning(
                "redis unreachable; using per-process limits",
                extra={
                    "operation": operation,
                    "error": str(exc)[:300] or type(exc).__name__,
                    "down_seconds": round(now - self._down_since, 3),
                    "failures_not_logged": self._suppressed,
                },
            )
            self._last_logged = now
            self._suppressed = 0
        else:
            self._suppressed += 1

    def succeeded(self) -> None:
        if self._down_since is not None:
            log.warning("redis reachable again", extra={"outage_seconds": round(self._clock() - self._down_since, 3)})
            self._down_since = None
            self._last_logged = float("-inf")
            self._suppressed = 0
        self._skip_until = float("-inf")

    async def ping(self) -> bool:
        """An active check (for /readyz), which also updates the link's state."""
        try:
            await self.client.ping()
        except redis_errors() as exc:
            self.failed("ping", exc)
            return False
        self.succeeded()
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
