"""The verified-token cache against a real `tokensmith serve`: what can change while a
token is cached (revocation, key removal) reaches the cached answer within the interval
the verifier was configured with. Intervals run on fake clocks, so nothing here sleeps."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.other_side.conftest import fetch_token
from tests.support.clock import FakeClock
from tests.support.jws import header_of
from tokensmith.verify import IntrospectionRevocationCheck, InvalidToken, JwksCache, RevokedToken, TokenVerifier

AUDIENCE = "https://cache.example.test"


@pytest.fixture(scope="module")
def caller(tokensmith):
    return tokensmith.create_client("cache-caller", "--audience", AUDIENCE, scopes=("read",))


@pytest.fixture(scope="module")
def introspector(tokensmith):
    return tokensmith.create_client("cache-api", scopes=("introspect",))


def test_a_revoked_cached_token_stops_working_within_the_revocation_check_interval(tokensmith, caller, introspector):
    clock = FakeClock(0)
    check = IntrospectionRevocationCheck(
        f"{tokensmith.url}/oauth2/introspect", introspector["client_id"], introspector["client_secret"], cache_ttl=30, clock=clock
    )
    verifier = TokenVerifier(tokensmith.issuer, AUDIENCE, revocation_check=check)
    token = fetch_token(tokensmith, caller, "read")
    assert verifier.verify(token)["client_id"] == "cache-caller"
    assert len(verifier.token_cache) == 1

    revoked = httpx.post(f"{tokensmith.url}/oauth2/revoke", data={"token": token}, auth=(caller["client_id"], caller["client_secret"]))
    assert revoked.status_code == 200

    clock.advance(29)  # the introspection answer may be reused for 30 s
    assert verifier.verify(token)["client_id"] == "cache-caller"
    clock.advance(1)
    with pytest.raises(RevokedToken):
        verifier.verify(token)
    assert len(verifier.token_cache) == 0


def test_a_cached_token_stops_working_once_its_key_is_removed_from_the_jwks(tokensmith, caller):
    clock = FakeClock(0)
    keys = JwksCache(tokensmith.issuer, cache_ttl=60, min_refresh_interval=0, clock=clock)
    verifier = TokenVerifier(tokensmith.issuer, AUDIENCE, jwks=keys)
    token = fetch_token(tokensmith, caller, "read")
    assert verifier.verify(token)["client_id"] == "cache-caller"

    tokensmith.cli("keys", "remove", header_of(token)["kid"], "--compromised")

    clock.advance(59)  # the fetched JWKS is used for 60 s
    assert verifier.verify(token)["client_id"] == "cache-caller"
    clock.advance(1)
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(token)
    assert len(verifier.token_cache) == 0
    # Tokens from the key that took over verify as before.
    assert verifier.verify(fetch_token(tokensmith, caller, "read"))["client_id"] == "cache-caller"
