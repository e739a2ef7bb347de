"""A clock under test control, for code that takes a `clock` argument."""

from __future__ import annotations


class FakeClock:
    """Call it like time.monotonic / time.time; it moves only when told to."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
