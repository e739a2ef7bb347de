"""When each credential last authenticated its client, noted in memory on the token
path (a dict write) and written to the store in batches, so that telemetry costs no
store write per token. Several processes write the same row: the store keeps the
latest instant."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from tokensmith.store.availability import StoreGate, StoreUnavailable, is_outage

_log = logging.getLogger("tokensmith.store")

# A credential used again within this many seconds is not noted again.
RESOLUTION_SECONDS = 60


class LastUsed:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._pending: dict[tuple[str, str], int] = {}
        self._noted: dict[tuple[str, str], int] = {}

    def note(self, client_id: str, credential_id: str) -> None:
        key = (client_id, credential_id)
        now = int(self._clock())
        if now - self._noted.get(key, -RESOLUTION_SECONDS) < RESOLUTION_SECONDS:
            return
        self._noted[key] = now
        self._pending[key] = now
        if len(self._noted) > 100_000:  # clients come and go; forget the old ones
            self._noted.clear()

    def take(self) -> dict[tuple[str, str], int]:
        """The uses noted since the last take, to write."""
        pending, self._pending = self._pending, {}
        return pending

    def put_back(self, batch: dict[tuple[str, str], int]) -> None:
        """A batch whose write failed, to try again with the next."""
        for key, instant in batch.items():
            self._pending[key] = max(instant, self._pending.get(key, 0))


class UsesWriter(Protocol):
    def record(self, batch: Mapping[tuple[str, str], int]) -> None: ...


async def write_periodically(tally: LastUsed, uses: UsesWriter, gate: StoreGate, interval: float = RESOLUTION_SECONDS) -> None:
    """Writes the tally's batch every `interval` seconds until cancelled, and once
    more then. A batch the store does not take is kept for the next write."""
    try:
        while True:
            await asyncio.sleep(interval)
            await write_once(tally, uses, gate)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(write_once(tally, uses, gate))


async def write_once(tally: LastUsed, uses: UsesWriter, gate: StoreGate) -> None:
    batch = tally.take()
    if not batch:
        return
    try:
        await gate.call("record credential use", uses.record, batch)
    except Exception as exc:
        if not is_outage(exc) and not isinstance(exc, StoreUnavailable):
            _log.warning("could not record credential use", extra={"error": str(exc)[:200]})
        tally.put_back(batch)
