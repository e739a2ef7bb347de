"""Key discovery, caching, rate-limited refresh and resilience to issuer outages."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tokensmith.verify import InvalidToken, JwksCache, VerifierUnavailable
from tokensmith.verify.jwks import metadata_url

JWKS = "/.well-known/jwks.json"
METADATA = "/.well-known/oauth-authorization-server"


def cached_verifier(issuer, clock, **cache_options):
    cache = JwksCache(issuer.url, clock=clock, **cache_options)
    return issuer.verifier(jwks=cache)


def unknown_kid_token(issuer, kid):
    return issuer.sign_raw(issuer.header("rsa-1", kid=kid), issuer.claims(), issuer.keys["rsa-1"].private, "RS256")


def test_keys_are_fetched_once_for_many_verifications(issuer):
    verifier = issuer.verifier()

    for kid in ["rsa-1", "ec-1", "ed-1", "rsa-pss"] * 5:
        verifier.verify(issuer.mint(kid))

    assert issuer.server.count(METADATA) == 1
    assert issuer.server.count(JWKS) == 1


@pytest.mark.anyio
async def test_sync_and_async_verification_share_one_cache(issuer):
    verifier = issuer.verifier()

    verifier.verify(issuer.mint())
    await verifier.verify_async(issuer.mint("ec-1"))

    assert issuer.server.count(JWKS) == 1


def test_explicit_jwks_url_skips_metadata_discovery(issuer):
    issuer.verifier(jwks_url=issuer.jwks_url).verify(issuer.mint())

    assert issuer.server.count(METADATA) == 0
    assert issuer.server.count(JWKS) == 1


def test_unknown_kid_refresh_is_rate_limited(issuer, clock):
    verifier = cached_verifier(issuer, clock, min_refresh_interval=30)
    verifier.verify(issuer.mint())  # initial fetch

    for i in range(20):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(unknown_kid_token(issuer, f"random-{i}"))
    assert issuer.server.count(JWKS) == 1

    clock.advance(30)
    for i in range(20):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(unknown_kid_token(issuer, f"later-{i}"))
    assert issuer.server.count(JWKS) == 2


def test_rotated_in_key_is_found_by_the_unknown_kid_refresh(issuer, clock, other_rsa_private):
    verifier = cached_verifier(issuer, clock, min_refresh_interval=30)
    verifier.verify(issuer.mint())
    issuer.add_key("rsa-2", "RS256", other_rsa_private)
    new_token = issuer.mint("rsa-2")

    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(new_token)  # within the interval: no refetch yet
    clock.advance(30)

    assert verifier.verify(new_token)["sub"] == "client-1"
    assert issuer.server.count(JWKS) == 2


def test_keys_are_refetched_after_the_ttl_and_withdrawn_keys_stop_working(issuer, clock):
    verifier = cached_verifier(issuer, clock, cache_ttl=300)
    verifier.verify(issuer.mint("ec-1"))
    issuer.published[:] = [jwk for jwk in issuer.published if jwk["kid"] != "ec-1"]

    clock.advance(299)
    verifier.verify(issuer.mint("ec-1"))
    assert issuer.server.count(JWKS) == 1

    clock.advance(1)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(issuer.mint("ec-1"))
    assert issuer.server.count(JWKS) == 2


def test_cached_keys_keep_working_when_the_issuer_is_unreachable(issuer, clock):
    verifier = cached_verifier(issuer, clock, cache_ttl=300, min_refresh_interval=30)
    token = issuer.mint()
    verifier.verify(token)

    issuer.server.stop()
    clock.advance(3600)

    assert verifier.verify(token)["sub"] == "client-1"
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(unknown_kid_token(issuer, "new"))


@pytest.mark.parametrize("failure", [(500, {"error": "oops"}), (200, {"no": "keys"}), (200, ["not", "an", "object"])])
def test_cached_keys_survive_a_failing_or_malformed_jwks_response(issuer, clock, failure):
    verifier = cached_verifier(issuer, clock, cache_ttl=300)
    verifier.verify(issuer.mint())
    issuer.server.route("GET", JWKS, lambda _r: failure)

    clock.advance(301)

    assert verifier.verify(issuer.mint())["sub"] == "client-1"
    assert issuer.server.count(JWKS) == 2  # the refresh was attempted


def test_no_reachable_issuer_on_first_use_means_unavailable(issuer):
    token = issuer.mint()
    issuer.server.stop()

    with pytest.raises(VerifierUnavailable):
        issuer.verifier().verify(token)


def test_metadata_naming_another_issuer_is_not_trusted(issuer):
    issuer.server.route("GET", METADATA, lambda _r: (200, {"issuer": "https://evil.test", "jwks_uri": issuer.jwks_url}))

    with pytest.raises(VerifierUnavailable):
        issuer.verifier().verify(issuer.mint())
    assert issuer.server.count(JWKS) == 0


def test_metadata_url_follows_rfc8414_path_insertion():
    assert metadata_url("https://as.example") == "https://as.example/.well-known/oauth-authorization-server"
    assert metadata_url("https://as.example/tenant/1") == (
        "https://as.example/.well-known/oauth-authorization-server/tenant/1"
    )


def test_unusable_published_keys_are_ignored(issuer):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    issuer.add_key("weak", "RS256", weak)
    enc = issuer.add_key("enc", "RS256", issuer.keys["rsa-1"].private, publish=False)
    issuer.published.append(enc.jwk | {"use": "enc"})
    sign_only = issuer.add_key("sign-only", "RS256", issuer.keys["rsa-1"].private, publish=False)
    issuer.published.append(sign_only.jwk | {"key_ops": ["sign"]})
    issuer.published.append({"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"})
    verifier = issuer.verifier()

    for kid in ("weak", "enc", "sign-only"):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(issuer.mint(kid))
    assert verifier.verify(issuer.mint())["sub"] == "client-1"  # the good keys still load


def test_concurrent_cold_start_fetches_keys_once_across_threads(issuer):
    served = issuer.server.routes[("GET", JWKS)]
    issuer.server.route("GET", JWKS, lambda r: (time.sleep(0.2), served(r))[1])
    verifier = issuer.verifier(jwks_url=issuer.jwks_url)
    tokens = [issuer.mint() for _ in range(20)]
    barrier = threading.Barrier(20)

    def verify(token):
        barrier.wait()
        return verifier.verify(token)["sub"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(verify, tokens))

    assert results == ["client-1"] * 20
    assert issuer.server.count(JWKS) == 1


@pytest.mark.anyio
async def test_concurrent_cold_start_fetches_keys_once_across_tasks(issuer):
    served = issuer.server.routes[("GET", JWKS)]
    issuer.server.route("GET", JWKS, lambda r: (time.sleep(0.2), served(r))[1])
    verifier = issuer.verifier(jwks_url=issuer.jwks_url)
    results: list[str] = []

    async def verify(token):
        results.append((await verifier.verify_async(token))["sub"])

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(verify, issuer.mint())

    assert results == ["client-1"] * 20
    assert issuer.server.count(JWKS) == 1
