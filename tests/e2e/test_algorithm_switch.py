"""Changing the signing algorithm (TOKENSMITH_SIGNING_ALGORITHM, `keys rotate
--algorithm`) through the key ring: a key of the new algorithm is published before
it signs, and tokens signed under the old one keep verifying, with an ordinary JWKS
client and with tokensmith.verify."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.server import Tokensmith
from tokensmith.verify import TokenVerifier

AUDIENCE = "https://api.switch.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    server = Tokensmith(tmp_path_factory.mktemp("algorithm-switch"))  # RS256, the default
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server: Tokensmith) -> dict[str, Any]:
    return server.create_client("switcher", "--audience", AUDIENCE)


def seed_token(server: Tokensmith, client: dict[str, Any]) -> str:
    response = httpx.post(
        f"{server.url}/v1/api/oauth/token", params={"scope": "edit"}, auth=(client["client_id"], client["client_secret"]), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def standard_token(server: Tokensmith, client: dict[str, Any]) -> str:
    response = httpx.post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "edit"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def alg(token: str) -> str:
    return jwt.get_unverified_header(token)["alg"]


def ring(server: Tokensmith) -> dict[str, str]:
    """state → algorithm (retired keys: the latest retired one)."""
    return {key["state"]: key["algorithm"] for key in json.loads(server.cli("keys", "list", "--json").stdout)}


def verify_with_pyjwkclient(server: Tokensmith, token: str) -> dict[str, Any]:
    jwks = jwt.PyJWKClient(f"{server.url}/.well-known/jwks.json", cache_keys=False)
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=[alg(token)], audience=AUDIENCE, issuer=server.issuer)


def test_moving_from_rs256_to_es256_keeps_tokens_in_flight_verifying(server: Tokensmith, client: dict[str, Any]) -> None:
    before = seed_token(server, client)
    assert alg(before) == "RS256"
    # A verifier that fetched the JWKS before the switch started, and keeps it.
    early_verifier = TokenVerifier(server.issuer, AUDIENCE)
    assert early_verifier.verify(before)["sub"] == "switcher"

    # Step 1: a next key of the new algorithm is published; the RS256 key still signs.
    first = server.cli("keys", "rotate", "--algorithm", "ES256")
    assert "published next key" in first.stdout
    assert ring(server) == {"active": "RS256", "next": "ES256"}
    jwks = httpx.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()
    assert {key["alg"] for key in jwks["keys"]} == {"RS256", "ES256"}
    assert alg(seed_token(server, client)) == "RS256"
    # The verifier learns the upcoming key with the JWKS it fetches now.
    warm_verifier = TokenVerifier(server.issuer, AUDIENCE)
    assert warm_verifier.verify(before)["sub"] == "switcher"

    # Step 2: after the verifiers' cache period, the ES256 key is promoted.
    second = server.cli("keys", "rotate", "--algorithm", "ES256")
    assert "active key is now" in second.stdout and "(ES256)" in second.stdout
    assert ring(server) == {"retired": "RS256", "active": "ES256", "next": "ES256"}

    after_seed, after_standard = seed_token(server, client), standard_token(server, client)
    assert alg(after_seed) == alg(after_standard) == "ES256"
    for token in (before, after_seed, after_standard):
        assert verify_with_pyjwkclient(server, token)["client_id"] == "switcher"
        assert TokenVerifier(server.issuer, AUDIENCE).verify(token, scopes="edit")["client_id"] == "switcher"
    # The verifier that held the JWKS from step 1 verifies the new tokens without refetching.
    assert warm_verifier.verify(after_seed)["sub"] == "switcher"
    # The token signed before the switch is still active for introspection too.
    introspector = server.create_client("switch-introspector", scopes=("introspect",))
    answer = httpx.post(
        f"{server.url}/oauth2/introspect",
        data={"token": before},
        auth=(introspector["client_id"], introspector["client_secret"]),
        timeout=10,
    ).json()
    assert answer["active"] is True


def test_configured_algorithm_takes_effect_through_the_next_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    """TOKENSMITH_SIGNING_ALGORITHM changed on a running deployment: the next rotation
    publishes a key of it as next, the one after that signs with it."""
    workdir = tmp_path_factory.mktemp("configured-switch")
    server = Tokensmith(workdir)
    server.start()
    try:
        client = server.create_client("configured", "--audience", AUDIENCE)
        before = seed_token(server, client)
        assert alg(before) == "RS256"
        server.stop()

        server.env_overrides["TOKENSMITH_SIGNING_ALGORITHM"] = "EdDSA"
        server.start()
        # Restarting with another algorithm never swaps the signing key under tokens in flight.
        assert alg(seed_token(server, client)) == "RS256"
        assert "keys rotate --algorithm EdDSA" in server.log_path.read_text()

        rotated = server.cli("keys", "rotate")
        assert "signs RS256 until the next `tokensmith keys rotate`" in rotated.stderr
        assert ring(server) == {"retired": "RS256", "active": "RS256", "next": "EdDSA"}
        assert alg(seed_token(server, client)) == "RS256"

        server.cli("keys", "rotate")
        assert ring(server)["active"] == "EdDSA"
        after = seed_token(server, client)
        assert alg(after) == "EdDSA"
        for token in (before, after):
            assert verify_with_pyjwkclient(server, token)["sub"] == "configured"
            assert TokenVerifier(server.issuer, AUDIENCE).verify(token)["sub"] == "configured"
    finally:
        server.stop()


@pytest.mark.parametrize("algorithm", ["PS256", "ES256", "EdDSA"])
def test_each_algorithm_signs_from_a_fresh_store(tmp_path_factory: pytest.TempPathFactory, algorithm: str) -> None:
    server = Tokensmith(tmp_path_factory.mktemp(f"fresh-{algorithm}"), env_overrides={"TOKENSMITH_SIGNING_ALGORITHM": algorithm})
    server.start()
    try:
        client = server.create_client("fresh", "--audience", AUDIENCE)
        for token in (seed_token(server, client), standard_token(server, client)):
            assert alg(token) == algorithm
            assert verify_with_pyjwkclient(server, token)["sub"] == "fresh"
            assert TokenVerifier(server.issuer, AUDIENCE).verify(token)["sub"] == "fresh"
    finally:
        server.stop()
