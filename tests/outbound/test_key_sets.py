"""Key sets at a jwks_uri, fetched from a real HTTPS server on 127.0.0.1 under a fake
clock: cached, refreshed on an unknown kid at most once per interval however many ask,
the last good keys kept while the server is down, registration-time parsing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.outbound.servers import TestServer, json_route, raw_route
from tests.support.clock import FakeClock
from tokensmith.jose.jwk import public_jwk
from tokensmith.outbound.key_sets import KeySets, KeySetTimes, KeysUnavailable, RemoteKeySet
from tokensmith.outbound.policy import OutboundPolicy

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

Serve = Callable[..., TestServer]
TIMES = KeySetTimes(min_refresh_seconds=60, max_age_seconds=300, max_stale_seconds=3600)


def ec_jwk(kid: str, **extra: Any) -> dict[str, Any]:
    return {**public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), "kid": kid, "alg": "ES256", **extra}


def jwks(*kids: str) -> dict[str, Any]:
    return {"keys": [ec_jwk(kid) for kid in kids]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def key_server(serve: Serve) -> TestServer:
    return serve({"/jwks": json_route(jwks("k1"))})


def remote(server: TestServer, policy: OutboundPolicy, clock: FakeClock, times: KeySetTimes = TIMES) -> RemoteKeySet:
    return RemoteKeySet(server.url("/jwks"), policy, times, clock=clock)


async def test_keys_are_fetched_once_then_served_without_waiting(key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    key_set = remote(key_server, loopback_policy, clock)
    assert key_set.keys_now("k1") is None  # never fetched: a fetch is due
    [key] = await key_set.keys("k1")
    assert (key.kid, key.alg) == ("k1", "ES256")
    assert key_set.keys_now("k1") == (key,)
    assert key_set.keys_now(None) == (key,)
    clock.advance(299)
    assert await key_set.keys("k1") == (key,)
    assert key_server.hits["/jwks"] == 1


async def test_a_flood_of_unknown_kids_costs_one_fetch_per_interval(key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    key_set = remote(key_server, loopback_policy, clock)
    await key_set.keys("k1")
    clock.advance(60)
    answers = await asyncio.gather(*(key_set.keys(f"made-up-{n}") for n in range(100)))
    assert answers == [()] * 100
    assert key_server.hits["/jwks"] == 2  # the first fetch and one refresh, shared by all 100
    answers = await asyncio.gather(*(key_set.keys(f"made-up-{n}") for n in range(100, 200)))
    assert answers == [()] * 100 and key_server.hits["/jwks"] == 2  # refreshed too recently
    assert key_set.keys_now("made-up-1") == ()  # answered without waiting: no such key
    clock.advance(60)
    await asyncio.gather(*(key_set.keys(f"made-up-{n}") for n in range(100)))
    assert key_server.hits["/jwks"] == 3


async def test_concurrent_first_lookups_share_one_fetch(key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    key_set = remote(key_server, loopback_policy, clock)
    answers = await asyncio.gather(*(key_set.keys("k1") for _ in range(50)))
    assert all(len(found) == 1 for found in answers)
    assert key_server.hits["/jwks"] == 1 and key_server.connections == 1


async def test_a_rotated_key_is_found_once_the_interval_has_passed(key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    key_set = remote(key_server, loopback_policy, clock)
    await key_set.keys("k1")
    key_server.routes["/jwks"] = json_route(jwks("k1", "k2"))
    assert await key_set.keys("k2") == ()  # fetched just now: not again yet
    clock.advance(60)
    assert key_set.keys_now("k2") is None  # unknown kid and the interval passed: fetch due
    [key] = await key_set.keys("k2")
    assert key.kid == "k2" and key_server.hits["/jwks"] == 2


async def test_keys_expire_after_max_age(key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    key_set = remote(key_server, loopback_policy, clock)
    await key_set.keys("k1")
    clock.advance(300)
    assert key_set.keys_now("k1") is None
    await key_set.keys("k1")
    assert key_server.hits["/jwks"] == 2


@pytest.mark.parametrize(("cache_control", "lifetime"), [("max-age=10", 60), ("public, max-age=120", 120), ("max-age=86400", 300), ("no-store", 60)])
async def test_cache_control_max_age_is_honoured_within_bounds(
    serve: Serve, loopback_policy: OutboundPolicy, clock: FakeClock, cache_control: str, lifetime: int
) -> None:
    server = serve({"/jwks": json_route(jwks("k1"), {"Cache-Control": cache_control})})
    key_set = remote(server, loopback_policy, clock)
    await key_set.keys("k1")
    clock.advance(lifetime - 1)
    assert key_set.keys_now("k1") is not None
    clock.advance(1)
    assert key_set.keys_now("k1") is None


async def test_stale_keys_are_served_while_the_server_is_down(
    key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    key_set = remote(key_server, loopback_policy, clock)
    [key] = await key_set.keys("k1")
    key_server.stop()
    clock.advance(301)
    with caplog.at_level(logging.WARNING, logger="tokensmith.outbound"):
        assert await key_set.keys("k1") == (key,)
    assert "the last good keys stay in use" in caplog.text
    assert key_set.keys_now("k1") == (key,)  # the failed refresh counts: no new attempt yet
    clock.advance(300 + 3600 - 301)  # past max_age + max_stale since the last good fetch
    with pytest.raises(KeysUnavailable, match=r"127\.0\.0\.1"):
        await key_set.keys("k1")


async def test_no_keys_at_all_is_keys_unavailable_and_retried_once_per_interval(
    serve: Serve, loopback_policy: OutboundPolicy, clock: FakeClock
) -> None:
    server = serve({"/jwks": raw_route(b"{}", status=503)})
    key_set = remote(server, loopback_policy, clock)
    results = await asyncio.gather(*(key_set.keys("k1") for _ in range(20)), return_exceptions=True)
    assert all(isinstance(result, KeysUnavailable) for result in results)
    assert server.hits["/jwks"] == 1
    with pytest.raises(KeysUnavailable):
        await key_set.keys("k1")
    assert server.hits["/jwks"] == 1
    server.routes["/jwks"] = json_route(jwks("k1"))
    clock.advance(60)
    assert len(await key_set.keys("k1")) == 1


async def test_a_never_reachable_server_is_keys_unavailable(key_server: TestServer, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    key_server.stop()
    with pytest.raises(KeysUnavailable):
        await remote(key_server, loopback_policy, clock).keys("k1")


async def test_a_jwks_uri_on_loopback_is_never_fetched_by_default(key_server: TestServer, strict_policy: OutboundPolicy, clock: FakeClock) -> None:
    with pytest.raises(KeysUnavailable):
        await remote(key_server, strict_policy, clock).keys("k1")
    assert key_server.connections == 0


async def test_symmetric_private_and_unusable_keys_in_a_fetched_set_are_skipped(serve: Serve, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    document = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "alg": "HS256"},
            {**public_jwk(rsa.generate_private_key(65537, 2048).public_key()), "kid": "rsa-hs", "alg": "HS256"},
            ec_jwk("leaked", d="bm90LWEtcmVhbC1wcml2YXRlLWtleQ"),
            ec_jwk("enc", use="enc"),
            {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
            "not an object",
            ec_jwk("good"),
            {**public_jwk(Ed25519PrivateKey.generate().public_key()), "kid": "ed"},
        ]
    }
    server = serve({"/jwks": json_route(document)})
    keys = await remote(server, loopback_policy, clock).keys(None)
    assert [(key.kid, key.alg) for key in keys] == [("good", "ES256"), ("ed", "EdDSA")]


async def test_a_fetched_set_of_more_than_64_keys_is_refused(serve: Serve, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    server = serve({"/jwks": json_route(jwks(*(f"k{n}" for n in range(65))))})
    with pytest.raises(KeysUnavailable):
        await remote(server, loopback_policy, clock).keys(None)


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch(serve: Serve, loopback_policy: OutboundPolicy, clock: FakeClock) -> None:
    server = serve()
    server.routes["/jwks"] = server.stall_route()
    key_set = remote(server, loopback_policy, clock)
    first = asyncio.ensure_future(key_set.keys("k1"))
    second = asyncio.ensure_future(key_set.keys("k1"))
    while server.hits["/jwks"] == 0:
        await asyncio.sleep(0.01)
    first.cancel()
    server.routes["/jwks"] = json_route(jwks("k1"))
    server.release.set()  # the stalled answer ends short: that fetch fails, and the second caller sees it
    with pytest.raises(asyncio.CancelledError):
        await first
    with pytest.raises(KeysUnavailable):
        await second
    assert server.hits["/jwks"] == 1  # one fetch, not one per caller


def test_the_registry_is_bounded_and_keeps_the_recently_used(loopback_policy: OutboundPolicy) -> None:
    registry = KeySets(loopback_policy, capacity=3)
    first = registry.get("https://keys.example.com/0")
    for n in range(1, 1000):
        registry.get(f"https://keys.example.com/{n}")
        registry.get("https://keys.example.com/0")  # used again: kept
    assert len(registry) == 3
    assert registry.get("https://keys.example.com/0") is first
    assert registry.get("https://keys.example.com/1") is not registry.get("https://keys.example.com/2")
    registry.get("https://keys.example.com/" + "a" * 5000)  # never fetchable: takes no slot
    assert registry.get("https://keys.example.com/0") is first


def test_the_registry_takes_its_times_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokensmith.config import Settings

    monkeypatch.setenv("TOKENSMITH_JWKS_MIN_REFRESH_SECONDS", "30")
    monkeypatch.setenv("TOKENSMITH_JWKS_MAX_AGE_SECONDS", "600")
    monkeypatch.setenv("TOKENSMITH_JWKS_MAX_STALE_SECONDS", "7200")
    assert KeySets.from_settings(Settings()).times == KeySetTimes(30, 600, 7200)
