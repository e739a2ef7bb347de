"""The client cache asks the store once per id at a time (store/cache.py): the
requests that find an entry expired, or missing, while a lookup for it is in flight
wait for that lookup and get its answer or its error; a caller that gives up does not
stop the lookup for the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa

from tokensmith.domain.clients import Client
from tokensmith.store.availability import StoreGate, StoreUnavailable
from tokensmith.store.cache import ClientCache

TTL = 2.0
CALLERS = 50


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class SlowRepository:
    """A store whose lookups wait until the test opens them, counting each one."""

    def __init__(self) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.error: Exception | None = None

    def get(self, client_id: str) -> Client | None:
        self.calls += 1
        self.started.set()
        assert self.release.wait(10), "the test never released the lookup"
        if self.error is not None:
            raise self.error
        return None if client_id.startswith("unknown") else Client(client_id, scopes=("edit",))


def make_cache(repository: SlowRepository, clock: Clock, **options: float) -> ClientCache:
    gate = StoreGate(timeout=5.0, retry_seconds=1.0, clock=clock)
    return ClientCache(repository, ttl=TTL, clock=clock, gate=gate, **options)  # type: ignore[arg-type]


async def warm(cache: ClientCache, repository: SlowRepository, client_id: str) -> Client | None:
    repository.release.set()
    client = await cache.get(client_id)
    repository.release.clear()
    repository.started.clear()
    return client


async def started(repository: SlowRepository) -> None:
    """Until the lookup is running in its worker thread."""
    await asyncio.to_thread(repository.started.wait, 5)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_concurrent_gets_of_an_expired_id_share_one_store_call() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock)
        first = await warm(cache, repository, "busy")
        clock.now += TTL + 1
        gets = [asyncio.create_task(cache.get("busy")) for _ in range(CALLERS)]
        await started(repository)
        await asyncio.sleep(0.05)  # every caller has reached the lookup
        repository.release.set()
        answers = await asyncio.gather(*gets)
        assert repository.calls == 2  # the warm-up and one for all fifty
        assert all(answer == first for answer in answers)
        assert len({id(answer) for answer in answers}) == 1  # the one lookup's answer
        assert await cache.get("busy") is answers[0]  # and it is cached
        assert repository.calls == 2
        assert not cache._lookups

    run(main)


def test_concurrent_gets_of_an_unknown_id_share_one_store_call_too() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock)
        gets = [asyncio.create_task(cache.get("unknown-1")) for _ in range(CALLERS)]
        await started(repository)
        repository.release.set()
        assert await asyncio.gather(*gets) == [None] * CALLERS
        assert repository.calls == 1

    run(main)


def test_every_waiter_gets_the_lookups_error_and_the_next_get_asks_again() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock)
        repository.error = RuntimeError("a bug in the store layer")
        gets = [asyncio.create_task(cache.get("broken")) for _ in range(CALLERS)]
        await started(repository)
        repository.release.set()
        answers = await asyncio.gather(*gets, return_exceptions=True)
        assert repository.calls == 1
        assert all(answer is answers[0] for answer in answers)
        assert isinstance(answers[0], RuntimeError)
        assert not cache._lookups  # nothing left in flight
        repository.error = None
        assert await cache.get("broken") is not None
        assert repository.calls == 2

    run(main)


def test_a_store_outage_is_shared_and_each_waiter_still_gets_its_stale_entry() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock, max_stale=60)
        warmed = await warm(cache, repository, "warm")
        clock.now += TTL + 1
        repository.error = sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))
        warm_gets = [asyncio.create_task(cache.get("warm")) for _ in range(CALLERS)]
        cold_gets = [asyncio.create_task(cache.get("cold")) for _ in range(CALLERS)]
        await started(repository)
        await asyncio.sleep(0.05)
        repository.release.set()
        assert await asyncio.gather(*warm_gets) == [warmed] * CALLERS
        cold = await asyncio.gather(*cold_gets, return_exceptions=True)
        assert all(isinstance(answer, StoreUnavailable) for answer in cold)
        assert repository.calls == 3  # the warm-up, then one per id

    run(main)


def test_a_cancelled_first_caller_neither_stops_the_lookup_nor_cancels_the_others() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock)
        leader = asyncio.create_task(cache.get("shared"))
        await started(repository)
        waiters = [asyncio.create_task(cache.get("shared")) for _ in range(CALLERS - 1)]
        await asyncio.sleep(0.05)
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        repository.release.set()
        answers = await asyncio.wait_for(asyncio.gather(*waiters), 5)
        assert all(answer is not None and answer.client_id == "shared" for answer in answers)
        assert repository.calls == 1
        assert not cache._lookups
        assert await cache.get("shared") is answers[0]  # the lookup was kept
        assert repository.calls == 1

    run(main)


def test_when_every_caller_is_cancelled_the_lookup_still_finishes_and_is_kept() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock)
        callers = [asyncio.create_task(cache.get("abandoned")) for _ in range(3)]
        await started(repository)
        for caller in callers:
            caller.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
        lookup = cache._lookups["abandoned"]
        repository.release.set()
        await asyncio.wait_for(asyncio.shield(lookup), 5)
        await asyncio.sleep(0)  # its done callback
        assert not cache._lookups
        assert await cache.get("abandoned") is not None
        assert repository.calls == 1

    run(main)


def test_a_get_after_forget_does_not_join_a_lookup_that_started_before_it() -> None:
    async def main() -> None:
        clock, repository = Clock(), SlowRepository()
        cache = make_cache(repository, clock)
        before = asyncio.create_task(cache.get("changed"))
        await started(repository)
        cache.forget("changed")  # an announcement: the row may have changed meanwhile
        after = asyncio.create_task(cache.get("changed"))
        await asyncio.sleep(0.05)
        repository.release.set()
        await asyncio.gather(before, after)
        assert repository.calls == 2
        assert not cache._lookups

    run(main)
