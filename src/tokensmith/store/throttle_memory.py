"""Throttling counters held in this process: used when no Redis is configured, and
as the fallback while Redis does not answer. Bounded in size, so a flood of
distinct sources cannot grow them without limit (the oldest entries go first)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from tokensmith.domain.throttling import BruteForcePolicy, IssuanceDecision, ThrottleKey, sliding_window_decision

Clock = Callable[[], float]


class _Bounded(OrderedDict[str, tuple[float, int]]):
    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def put(self, key: str, value: tuple[float, int]) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.capacity:
            self.popitem(last=False)


class MemoryFailureCounter:
    """Failures per key in a fixed window, and strikes (earlier blocks) per key."""

    def __init__(self, policy: BruteForcePolicy, *, capacity: int = 100_000, clock: Clock = time.monotonic) -> None:
        self._policy = policy
        self._clock = clock
        self._failures = _Bounded(capacity)  # key → (window start, count)
        self._strikes = _Bounded(capacity)  # key → (last block at, strikes)

    def record(self, keys: Sequence[ThrottleKey]) -> list[tuple[ThrottleKey, float]]:
        """Counts one failure against each key; returns the keys that are now blocked
        and for how many seconds."""
        now = self._clock()
        blocks: list[tuple[ThrottleKey, float]] = []
        for key in keys:
            name = key.text()
            start, count = self._failures.get(name, (now, 0))
            if now - start >= self._policy.window_seconds:
                start, count = now, 0
            count += 1
            self._failures.put(name, (start, count))
            if self._policy.must_block(key, count):
                last, strikes = self._strikes.get(name, (now, 0))
                if now - last >= self._policy.strike_memory_seconds:
                    strikes = 0
                strikes += 1
                self._strikes.put(name, (now, strikes))
                duration = self._policy.block_duration(strikes)
                blocks.append((key, duration))
                # The failures keep counting until a whole window has passed after the block.
                self._failures.put(name, (now + duration, count))
        return blocks


    def take_back(self, keys: Sequence[ThrottleKey]) -> None:
        """Un-count one failure of each key (an attempt counted ahead that succeeded)."""
        for key in keys:
            name = key.text()
            entry = self._failures.get(name)
            if entry is not None and entry[1] > 0:
                self._failures[name] = (entry[0], entry[1] - 1)


class MemoryIssuanceCounter:
    """Tokens issued per client in the current and previous fixed windows."""

    def __init__(self, window: float, *, capacity: int = 100_000, wall_clock: Clock = time.time) -> None:
        self._window = window
        self._clock = wall_clock
        self._counts: OrderedDict[str, tuple[int, int, int]] = OrderedDict()  # id → (window index, previous, current)
        self._capacity = capacity

    def take(self, client_id: str, limit: int) -> IssuanceDecision:
        now = self._clock()
        index = math.floor(now / self._window)
        last_index, previous, current = self._counts.get(client_id, (index, 0, 0))
        if index == last_index + 1:
            previous, current = current, 0
        elif index != last_index:
            previous, current = 0, 0
        decision = sliding_window_decision(limit, previous, current, now - index * self._window, self._window)
        if decision.allowed:
            current += 1
        self._counts[client_id] = (index, previous, current)
        self._counts.move_to_end(client_id)
        while len(self._counts) > self._capacity:
            self._counts.popitem(last=False)
        return decision
