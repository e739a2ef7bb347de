"""The replay cache (store/replay.py): each assertion's jti is accepted once while
the assertion lives, in this process or across every node sharing Redis, and a
cache that cannot tell refuses rather than accepts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.support.services import REDIS_URL, fresh_redis_prefix, redis_problem, require
from tokensmith.store.redis_link import RedisLink
from tokensmith.store.replay import ReplayCache, ReplayUnchecked


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_jti_is_accepted_once_until_it_expires_here() -> None:
    clock = Clock(1000)
    cache = ReplayCache(None, clock=clock)
    assert cache.first_use_here("client:a\x00j1", 1060)
    assert not cache.first_use_here("client:a\x00j1", 1060)
    # Another client's jti of the same text is its own.
    assert cache.first_use_here("client:b\x00j1", 1060)
    clock.now = 1061  # expired: the assertion itself is refused by then, so it may go
    assert cache.first_use_here("client:a\x00j1", 1120)


def test_a_full_cache_refuses_rather_than_forgets_a_live_jti() -> None:
    clock = Clock(1000)
    cache = ReplayCache(None, capacity=1000, clock=clock)
    for number in range(1000):
        assert cache.first_use_here(f"k{number}", 1300)
    with pytest.raises(ReplayUnchecked):
        cache.first_use_here("one-more", 1300)
    assert not cache.first_use_here("k0", 1300)  # still remembered
    clock.now = 1301
    assert cache.first_use_here("one-more", 1400)  # expired entries made room


@pytest.fixture
def prefix() -> Iterator[str]:
    require("Redis", redis_problem())
    with fresh_redis_prefix() as prefix:
        yield prefix


def test_two_nodes_sharing_redis_accept_a_jti_once_even_at_once(prefix: str) -> None:
    async def race() -> list[bool]:
        nodes = [ReplayCache(RedisLink(REDIS_URL, prefix, timeout=2)) for _ in range(2)]
        import time

        expires = int(time.time()) + 60
        results = await asyncio.gather(*(nodes[n % 2].first_use("client:a\x00same", expires) for n in range(20)))
        for node in nodes:
            assert node._redis is not None
            await node._redis.close()
        return list(results)

    results = asyncio.run(race())
    assert results.count(True) == 1 and results.count(False) == 19


def test_with_redis_down_the_check_fails_closed() -> None:
    async def check() -> None:
        cache = ReplayCache(RedisLink("redis://127.0.0.1:1/0", "x:", timeout=0.2))
        with pytest.raises(ReplayUnchecked):
            await cache.first_use("client:a\x00j", 2_000_000_000)
        # And it does not fall back to remembering it here: still unanswerable.
        with pytest.raises(ReplayUnchecked):
            await cache.first_use("client:a\x00j", 2_000_000_000)

    asyncio.run(check())
