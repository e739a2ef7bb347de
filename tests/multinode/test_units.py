"""The pure parts of the several-node features, without any service: throttling
arithmetic, per-process counters, source addresses, fan-out messages, the store
gate and the caches' behaviour while the store is down."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
import sqlalchemy as sa

from tokensmith.domain.clients import Client
from tokensmith.domain.throttling import (
    BruteForcePolicy,
    Scope,
    ThrottleKey,
    retry_after,
    sliding_window_decision,
)
from tokensmith.http.source_address import SourceAddresses
from tokensmith.store.availability import StoreGate, StoreUnavailable
from tokensmith.store.cache import ClientCache, RevokedTokens
from tokensmith.store.fanout import Event, EventKind
from tokensmith.store.throttle import BruteForceGuard
from tokensmith.store.throttle_memory import MemoryFailureCounter, MemoryIssuanceCounter


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- brute-force policy -------------------------------------------------------


def test_block_lengths_grow_by_the_factor_up_to_the_maximum() -> None:
    policy = BruteForcePolicy(block_seconds=30, backoff_factor=2, max_block_seconds=900)
    assert [policy.block_duration(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert policy.block_duration(10**9) == 900
    assert BruteForcePolicy(block_seconds=5, backoff_factor=1, max_block_seconds=60).block_duration(50) == 5


def test_defaults_cut_off_a_hundred_guesses_in_a_minute_well_before_the_hundredth() -> None:
    policy = BruteForcePolicy()
    counter = MemoryFailureCounter(policy, clock=Clock())
    guard_keys = policy.keys_for("198.51.100.1", "victim")
    blocked_at = next(attempt for attempt in range(1, 101) if counter.record(guard_keys))
    assert blocked_at <= 25


def test_keys_are_per_address_and_per_address_and_client_never_per_client_alone() -> None:
    address, pair = BruteForcePolicy().keys_for("192.0.2.7", "abc")
    assert address == ThrottleKey(Scope.ADDRESS, "192.0.2.7")
    assert pair == ThrottleKey(Scope.ADDRESS_CLIENT, "192.0.2.7", "abc")
    for key in (address, pair, ThrottleKey(Scope.ADDRESS_CLIENT, "2001:db8::/64", "a|b")):
        assert ThrottleKey.from_text(key.text()) == key
    assert ThrottleKey.from_text("nonsense") is None


def test_ipv6_sources_are_counted_by_prefix_and_mapped_ipv4_as_ipv4() -> None:
    policy = BruteForcePolicy(ipv6_prefix=64)
    assert policy.source_of("2001:db8:1:2:aaaa::1") == policy.source_of("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert policy.source_of("::ffff:192.0.2.1") == "192.0.2.1"
    assert policy.source_of("not an address") == "not an address"
    assert BruteForcePolicy(ipv6_prefix=128).source_of("2001:db8::1") == "2001:db8::1"


def test_the_memory_counter_blocks_past_the_limit_and_remembers_strikes() -> None:
    clock = Clock()
    policy = BruteForcePolicy(client_failures=3, address_failures=100, block_seconds=10, window_seconds=60)
    counter = MemoryFailureCounter(policy, clock=clock)
    keys = policy.keys_for("192.0.2.1", "c")
    assert [counter.record(keys) for _ in range(3)] == [[], [], []]
    assert counter.record(keys) == [(keys[1], 10)]
    clock.now += 11
    assert counter.record(keys) == [(keys[1], 20)]  # right after a block: the next failure blocks, twice as long
    clock.now += 20 + 59
    assert counter.record(keys) == [(keys[1], 40)]  # still within a window after the block
    clock.now += 40 + 60
    assert [counter.record(keys) for _ in range(3)] == [[], [], []]  # quiet for a window after the block: a new count


def test_the_guard_checks_blocks_locally_and_forgets_expired_ones() -> None:
    async def main() -> None:
        clock = Clock()
        policy = BruteForcePolicy(client_failures=1, address_failures=100, block_seconds=5)
        guard = BruteForceGuard(policy, clock=clock)
        keys = guard.keys_for("192.0.2.9", "c")
        assert guard.blocked_for(keys) == 0
        await guard.record_failure(keys)
        await guard.record_failure(keys)
        assert guard.blocked_for(keys) == pytest.approx(5)
        assert guard.blocked_for(guard.keys_for("192.0.2.10", "c")) == 0  # another address
        clock.now += 5.1
        assert guard.blocked_for(keys) == 0
        guard.apply_block(keys[0], 3)  # news from another node
        assert guard.blocked_for(keys) == pytest.approx(3)

    anyio.run(main)


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after(0.01) == 1 and retry_after(2.2) == 3 and retry_after(0) == 1


# --- issuance limits ------------------------------------------------------------


def test_sliding_window_allows_up_to_the_limit_then_says_when_to_retry() -> None:
    assert sliding_window_decision(10, previous=0, current=9, elapsed=30, window=60).allowed
    refused = sliding_window_decision(10, previous=0, current=10, elapsed=30, window=60)
    assert not refused.allowed and 30 < refused.retry_after_seconds <= 60 + 60
    # The previous window still weighs: half of 10 at mid-window, plus 5, is the limit.
    decision = sliding_window_decision(10, previous=10, current=5, elapsed=30, window=60)
    assert not decision.allowed and 0 < decision.retry_after_seconds <= 30
    later = sliding_window_decision(10, previous=10, current=5, elapsed=30 + decision.retry_after_seconds + 0.01, window=60)
    assert later.allowed


def test_the_memory_issuance_counter_refuses_past_the_limit() -> None:
    clock = Clock(6000.0)
    counter = MemoryIssuanceCounter(60, wall_clock=clock)
    assert [counter.take("c", 3).allowed for _ in range(4)] == [True, True, True, False]
    assert counter.take("other", 3).allowed
    clock.now += 120  # two windows later nothing weighs any more
    assert counter.take("c", 3).allowed


# --- source addresses -----------------------------------------------------------


def _scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return {"client": (peer, 50000), "headers": headers}


def test_the_source_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    untrusting = SourceAddresses([])
    assert untrusting.of(_scope("192.0.2.1", "203.0.113.5")) == "192.0.2.1"
    addresses = SourceAddresses(["10.0.0.0/8"])
    assert addresses.of(_scope("192.0.2.1", "203.0.113.5")) == "192.0.2.1"  # not a proxy: header ignored
    assert addresses.of(_scope("10.0.0.2", "203.0.113.5")) == "203.0.113.5"
    # Forged entries to the left of what the proxies recorded are ignored.
    assert addresses.of(_scope("10.0.0.2", "1.1.1.1, 203.0.113.5, 10.0.0.9")) == "203.0.113.5"
    assert addresses.of(_scope("10.0.0.2", "garbage")) == "10.0.0.2"
    assert addresses.of(_scope("10.0.0.2")) == "10.0.0.2"
    assert addresses.of(_scope("10.0.0.2", "[2001:db8::1]:443")) == "2001:db8::1"
    assert addresses.of({"client": None, "headers": []}) == "unknown"


# --- fan-out messages -------------------------------------------------------------


def test_fanout_events_round_trip_and_garbage_is_ignored() -> None:
    for event in (
        Event(EventKind.CLIENT, "abc"),
        Event(EventKind.KEYS),
        Event(EventKind.REVOKED, "jti-1", expires_at=2_000_000_000),
        Event(EventKind.BLOCK, "a|192.0.2.1", seconds=2.5),
    ):
        assert Event.decode(event.encode()) == event
    assert Event.decode(b"not json") is None
    assert Event.decode(b'{"kind": "unknown"}') is None


def test_revoked_tokens_are_remembered_until_they_expire() -> None:
    clock = Clock(1000.0)
    revoked = RevokedTokens(capacity=2, wall_clock=clock)
    revoked.add("a", 1010)
    revoked.add("old", 999)  # already expired: nothing to remember
    assert "a" in revoked and "old" not in revoked
    revoked.add("b", 1010)
    revoked.add("c", 1010)
    assert "a" not in revoked and len(revoked) == 2  # bounded
    clock.now = 1011
    assert "b" not in revoked


# --- the store gate and the client cache while the store is down -----------------


class FlakyRepository:
    def __init__(self) -> None:
        self.down = False
        self.hang = False
        self.calls = 0

    def get(self, client_id: str) -> Client | None:
        self.calls += 1
        if self.hang:
            time.sleep(2)
        if self.down:
            raise sa.exc.OperationalError("SELECT", {}, Exception("connection refused"))
        return Client(client_id, scopes=("edit",))


def test_a_cached_client_is_served_past_its_ttl_while_the_store_is_down() -> None:
    async def main() -> None:
        clock = Clock()
        repository = FlakyRepository()
        gate = StoreGate(timeout=0.3, retry_seconds=1.0, clock=clock)
        cache = ClientCache(repository, ttl=2, gate=gate, max_stale=60, clock=clock)  # type: ignore[arg-type]
        assert (await cache.get("warm")) is not None
        repository.down = True
        clock.now += 5
        assert (await cache.get("warm")) is not None  # stale, within max_stale
        with pytest.raises(StoreUnavailable):
            await cache.get("cold")
        calls = repository.calls
        with pytest.raises(StoreUnavailable):
            await cache.get("cold")  # the gate is shut: no new store call
        assert repository.calls == calls
        clock.now += 61 + 2
        with pytest.raises(StoreUnavailable):
            await cache.get("warm")  # past max_stale: refused
        repository.down = False
        clock.now += 1.1
        assert (await cache.get("cold")) is not None  # recovered by itself
        assert gate.down_since is None

    anyio.run(main)


def test_a_hanging_store_call_is_abandoned_after_the_timeout() -> None:
    async def main() -> None:
        repository = FlakyRepository()
        repository.hang = True
        gate = StoreGate(timeout=0.2, retry_seconds=0.0)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await gate.call("client lookup", repository.get, "x")
        assert time.monotonic() - started < 1.0

    anyio.run(main)


def test_a_forgotten_entry_read_during_the_change_is_not_kept() -> None:
    async def main() -> None:
        repository = FlakyRepository()
        cache = ClientCache(repository, ttl=60)  # type: ignore[arg-type]
        original = repository.get

        def get_and_forget(client_id: str) -> Client | None:
            result = original(client_id)
            cache.forget(client_id)  # an announcement arrives while we read
            return result

        repository.get = get_and_forget  # type: ignore[method-assign]
        await cache.get("c")
        repository.get = original  # type: ignore[method-assign]
        calls = repository.calls
        await cache.get("c")
        assert repository.calls == calls + 1  # not served from the cache

    anyio.run(main)
