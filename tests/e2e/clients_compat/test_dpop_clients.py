"""A DPoP client written by others gets a DPoP-bound token from tokensmith unchanged:
node openid-client 6's DPoP handle (its own key pair, its own proofs), against a
server with nonces on, which openid-client follows by itself (RFC 9449 §8: the first
proof has no nonce, is answered use_dpop_nonce, and the retry carries it)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.wire import jwt_part
from tests.support.assertion_clients import openid_client_dpop, require_openid_client
from tests.support.dpop import NONCES_ON, serving
from tests.support.server import Tokensmith
from tokensmith.jose.jwk import public_key_from_jwk, thumbprint


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    require_openid_client()
    yield from serving(tmp_path_factory.mktemp("dpop-clients"), **NONCES_ON)


@pytest.mark.parametrize("alg", ["ES256", "PS256", "Ed25519"])
def test_openid_client_gets_a_token_bound_to_its_own_key(tokensmith: Tokensmith, alg: str) -> None:
    created = tokensmith.create_client(f"openid-dpop-{alg.lower()}", "--token-binding", "dpop")
    results = openid_client_dpop(tokensmith.issuer, created["client_id"], created["client_secret"], alg=alg, requests=2)
    for result in results:
        assert "token" in result, result
        assert result["token"]["token_type"].lower() == "dpop"
        claims = jwt_part(result["token"]["access_token"], 1)
        assert claims["cnf"] == {"jkt": thumbprint(public_key_from_jwk(result["jwk"]))}
    # It was asked for the nonce once, and followed it: then no more challenges.
    assert token_answers(tokensmith, created["client_id"], 3) == [400, 200, 200]


def token_answers(server: Tokensmith, client_id: str, count: int) -> list[int]:
    """The statuses of the client's token requests in the access log, once `count`
    are there (the log is written by a background thread)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line["status"] for line in server.log_lines() if line.get("client_id") == client_id and line.get("path") == "/oauth2/token"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)
