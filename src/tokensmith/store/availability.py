"""Bounded store calls on the request path.

Every store call a request makes goes through a StoreGate: it runs in a worker
thread and is abandoned after `timeout` seconds, whatever the network does (a
black-holed connection never returns on its own). After a failure the gate stays
shut for `retry_seconds`: cold paths answer 503 at once instead of each waiting out
the timeout, so a dead store cannot pile up requests. The first call after that
tries again, so a node recovers by itself when the store returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import sqlalchemy as sa

from tokensmith import metrics

log = logging.getLogger("tokensmith.store")
T = TypeVar("T")

# The errors that mean "the store cannot answer now", as opposed to a bug.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,  # no pooled connection within the pool timeout
    sa.exc.DisconnectionError,
    TimeoutError,
    ConnectionError,
)


class StoreUnavailable(Exception):
    """The store did not answer in time; the request gets a 503."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"store unavailable during {operation}")
        self.operation = operation


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


class StoreGate:
    def __init__(self, timeout: float, retry_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._shut_until = float("-inf")
        self.down_since: float | None = None

    @property
    def is_down(self) -> bool:
        return self.down_since is not None

    async def call(self, operation: str, function: Callable[..., T], *args: Any) -> T:
        if self._clock() < self._shut_until:
            raise StoreUnavailable(operation)
        try:
            with anyio.fail_after(self.timeout):
                result = await anyio.to_thread.run_sync(function, *args, abandon_on_cancel=True)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.failed(operation, exc)
            raise StoreUnavailable(operation) from exc
        self.succeeded()
        return result

    def failed(self, operation: str, exc: BaseException) -> None:
        now = self._clock()
        metrics.store_errors.labels(operation).inc()
        self._shut_until = now + self.retry_seconds
        if self.down_since is None:
            self.down_since = now
            log.warning("store unreachable", extra={"operation": operation, "error": _describe(exc)})

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning("store reachable again", extra={"outage_seconds": round(self._clock() - self.down_since, 3)})
            self.down_since = None
        self._shut_until = float("-inf")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return "timed out"
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
