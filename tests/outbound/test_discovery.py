"""A trusted issuer's keys by discovery, from a real HTTPS issuer on 127.0.0.1 (the
stand-in for a cluster or a CI system)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.outbound.servers import TestServer, json_route, raw_route
from tests.support.clock import FakeClock
from tokensmith.jose.jwk import public_jwk
from tokensmith.outbound.discovery import DiscoveredKeySet, discovered_jwks_uri, discovery_urls
from tokensmith.outbound.key_sets import KeySets, KeySetTimes, KeysUnavailable
from tokensmith.outbound.policy import FetchFailed, FetchRefused, OutboundPolicy

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

Serve = Callable[..., TestServer]
OIDC = "/.well-known/openid-configuration"


def jwks(kid: str) -> dict[str, Any]:
    return {"keys": [{**public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), "kid": kid, "alg": "ES256"}]}


def issuer_server(serve: Serve, *, path: str = "", metadata: dict[str, Any] | None = None, at: str = OIDC) -> tuple[TestServer, str]:
    server = serve()
    issuer = server.url(path)
    server.routes[at] = json_route(metadata if metadata is not None else {"issuer": issuer, "jwks_uri": server.url("/keys")})
    server.routes["/keys"] = json_route(jwks("cluster-1"))
    return server, issuer


def test_discovery_urls_follow_oidc_and_rfc_8414() -> None:
    assert discovery_urls("https://issuer.example.com") == (
        "https://issuer.example.com/.well-known/openid-configuration",
        "https://issuer.example.com/.well-known/oauth-authorization-server",
    )
    assert discovery_urls("https://issuer.example.com/tenant/1/") == (
        "https://issuer.example.com/tenant/1/.well-known/openid-configuration",
        "https://issuer.example.com/.well-known/oauth-authorization-server/tenant/1",
    )


async def test_the_jwks_uri_comes_from_the_oidc_document(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server, issuer = issuer_server(serve)
    assert await discovered_jwks_uri(issuer, loopback_policy) == server.url("/keys")


async def test_without_an_oidc_document_rfc_8414_metadata_is_used(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve()
    issuer = server.url("/tenant")
    server.routes["/.well-known/oauth-authorization-server/tenant"] = json_route({"issuer": issuer, "jwks_uri": server.url("/keys")})
    assert await discovered_jwks_uri(issuer, loopback_policy) == server.url("/keys")
    assert server.hits["/tenant" + OIDC] == 1  # tried first, 404


async def test_an_oidc_document_failing_otherwise_than_404_is_not_passed_over(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve({OIDC: raw_route(b"{}", status=503)})
    with pytest.raises(FetchFailed, match="HTTP 503"):
        await discovered_jwks_uri(server.url(""), loopback_policy)
    assert server.hits["/.well-known/oauth-authorization-server"] == 0


async def test_metadata_naming_another_issuer_is_refused_and_its_keys_never_fetched(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve()
    server.routes[OIDC] = json_route({"issuer": "https://attacker.example", "jwks_uri": server.url("/keys")})
    server.routes["/keys"] = json_route(jwks("attacker"))
    with pytest.raises(FetchFailed, match="names a different issuer"):
        await discovered_jwks_uri(server.url(""), loopback_policy)
    key_set = DiscoveredKeySet(server.url(""), KeySets(loopback_policy))
    with pytest.raises(KeysUnavailable):
        await key_set.keys("attacker")
    assert server.hits["/keys"] == 0


@pytest.mark.parametrize("issuer_suffix", ["/", "/other"])
async def test_the_issuer_must_match_exactly(serve: Serve, loopback_policy: OutboundPolicy, issuer_suffix: str) -> None:
    server = serve()
    server.routes[OIDC] = json_route({"issuer": server.url(issuer_suffix), "jwks_uri": server.url("/keys")})
    with pytest.raises(FetchFailed, match="names a different issuer"):
        await discovered_jwks_uri(server.url(""), loopback_policy)


@pytest.mark.parametrize("jwks_uri", ["https://169.254.169.254/keys", "http://keys.example.com/keys", "https://[::1]/keys"])
async def test_a_jwks_uri_outside_the_policy_is_refused(serve: Serve, loopback_policy: OutboundPolicy, jwks_uri: str) -> None:
    server = serve()
    server.routes[OIDC] = json_route({"issuer": server.url(""), "jwks_uri": jwks_uri})
    policy = OutboundPolicy(allowed_networks=loopback_policy.allowed_networks[:1], ca_file=loopback_policy.ca_file)  # 127/8 only
    with pytest.raises(FetchRefused):
        await discovered_jwks_uri(server.url(""), policy)


async def test_metadata_without_a_jwks_uri_fails(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server = serve()
    server.routes[OIDC] = json_route({"issuer": server.url("")})
    with pytest.raises(FetchFailed, match="no jwks_uri"):
        await discovered_jwks_uri(server.url(""), loopback_policy)


async def test_an_issuer_on_loopback_is_not_discovered_by_default(serve: Serve, strict_policy: OutboundPolicy) -> None:
    server, issuer = issuer_server(serve)
    with pytest.raises(FetchRefused):
        await discovered_jwks_uri(issuer, strict_policy)
    assert server.connections == 0


async def test_an_issuer_with_a_query_is_refused(loopback_policy: OutboundPolicy) -> None:
    with pytest.raises(FetchRefused, match="query"):
        await discovered_jwks_uri("https://127.0.0.1:1/?tenant=a", loopback_policy)


async def test_a_discovered_key_set_discovers_once_and_caches(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server, issuer = issuer_server(serve)
    clock = FakeClock(0.0)
    registry = KeySets(loopback_policy, KeySetTimes(60, 300, 3600), clock=clock)
    key_set = registry.for_issuer(issuer)
    assert registry.for_issuer(issuer) is key_set
    assert key_set.keys_now("cluster-1") is None and key_set.jwks_uri is None
    [key] = await key_set.keys("cluster-1")
    assert key.kid == "cluster-1" and key_set.jwks_uri == server.url("/keys")
    assert key_set.keys_now("cluster-1") == (key,)
    for _ in range(20):
        assert await key_set.keys("cluster-1") == (key,)
    assert (server.hits[OIDC], server.hits["/keys"]) == (1, 1)
    clock.advance(300)
    await key_set.keys("cluster-1")
    assert (server.hits[OIDC], server.hits["/keys"]) == (2, 2)  # rediscovered, keys refreshed


async def test_the_last_discovered_jwks_uri_stays_in_use_while_discovery_fails(serve: Serve, loopback_policy: OutboundPolicy) -> None:
    server, issuer = issuer_server(serve)
    clock = FakeClock(0.0)
    key_set = KeySets(loopback_policy, KeySetTimes(60, 300, 3600), clock=clock).for_issuer(issuer)
    [key] = await key_set.keys("cluster-1")
    server.routes[OIDC] = raw_route(b"{}", status=500)
    clock.advance(300)
    assert await key_set.keys("cluster-1") == (key,)
    assert server.hits[OIDC] == 2 and key_set.jwks_uri == server.url("/keys")


def test_a_trust_uses_its_explicit_jwks_uri_else_discovery(loopback_policy: OutboundPolicy) -> None:
    registry = KeySets(loopback_policy)
    assert registry.for_trust("https://ci.example", "https://ci.example/keys") is registry.get("https://ci.example/keys")
    assert registry.for_trust("https://ci.example") is registry.for_issuer("https://ci.example")
