"""One refresh at a time, at most one started per interval: what keeps a flood of
lookups (made-up kids, an unreachable key host) at one outbound fetch per interval."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SingleFlight:
    """Runs a refresh for many waiting tasks of one event loop. A task that gives up
    (its request was cancelled) does not cancel the refresh the others wait for."""

    def __init__(self, interval_seconds: float, clock: Callable[[], float]) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._last_start: float | None = None
        self._task: asyncio.Task[None] | None = None

    def in_flight(self) -> bool:
        return self._task is not None and not self._task.done()

    def may_start(self) -> bool:
        """A refresh in flight may still bring what is missing; else one per interval."""
        return self.in_flight() or self._last_start is None or self._clock() - self._last_start >= self._interval

    async def run(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Waits for the refresh in flight, or starts one unless one started less than
        an interval ago (then returns at once)."""
        task = self._task
        loop = asyncio.get_running_loop()
        # A task of another loop (an earlier asyncio.run) can never be awaited here.
        if task is None or task.done() or task.get_loop() is not loop:
            now = self._clock()
            if self._last_start is not None and now - self._last_start < self._interval:
                return
            self._last_start = now

            async def call() -> None:
                await refresh()

            task = self._task = loop.create_task(call())
        await asyncio.shield(task)
