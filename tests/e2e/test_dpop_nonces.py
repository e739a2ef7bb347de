"""Server nonces for DPoP (RFC 9449 §8, TOKENSMITH_DPOP_NONCES=true) at two real
nodes sharing one store and key-encryption key: a proof without the nonce, or with a
stale or made-up one, is answered 400 use_dpop_nonce with a fresh `DPoP-Nonce`; the
nonce either node hands out is good at the other (no store write); and every token
comes with the nonce to use next (§8.2)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, auth_header, jwt_part, oauth_error, seed_error
from tests.support.dpop import ProofKey
from tests.support.server import Tokensmith
from tokensmith.domain.dpop_nonces import DpopNonces
from tokensmith.domain.key_encryption import KeyEncryption, decode_kek

PERIOD = 60
NONCES = {"TOKENSMITH_DPOP_NONCES": "true", "TOKENSMITH_DPOP_NONCE_SECONDS": str(PERIOD), "TOKENSMITH_BRUTEFORCE_ENABLED": "false"}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tokensmith, Tokensmith]]:
    first = Tokensmith(tmp_path_factory.mktemp("nonces-a"), env_overrides=dict(NONCES))
    first.start()
    # The second node: the first's store and key-encryption key, and its issuer.
    shared = {
        "TOKENSMITH_DATABASE_URL": first.env["TOKENSMITH_DATABASE_URL"],
        "TOKENSMITH_KEY_ENCRYPTION_KEY_FILE": str(first.workdir / "tokensmith.db.kek"),
        "TOKENSMITH_ISSUER": first.issuer,
    }
    second = Tokensmith(tmp_path_factory.mktemp("nonces-b"), env_overrides={**NONCES, **shared}, create_store=False)
    second.start()
    yield first, second
    second.stop()
    first.stop()


@pytest.fixture(scope="module")
def client(nodes: tuple[Tokensmith, Tokensmith]) -> dict[str, Any]:
    return nodes[0].create_client("nonce-client")


def ask(server: Tokensmith, client: dict[str, Any], proof: str, *, seed: bool = False) -> httpx.Response:
    headers = {**auth_header(client), "DPoP": proof}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        if seed:
            return http.post(f"{SEED_PATH}?scope=edit", headers=headers)
        return http.post(OAUTH_PATH, headers=headers, data={"grant_type": "client_credentials"})


def nonce_of(response: httpx.Response) -> str:
    nonce = response.headers.get("dpop-nonce")
    assert nonce, response.headers
    return nonce


def test_a_proof_without_the_nonce_is_answered_with_one_then_accepted(nodes: tuple[Tokensmith, Tokensmith], client: dict[str, Any]) -> None:
    server, _ = nodes
    key = ProofKey.es256()
    url = server.issuer + OAUTH_PATH
    challenge = ask(server, client, key.proof(url))
    oauth_error(challenge, error="use_dpop_nonce", status=400)
    assert "access_token" not in challenge.text
    answer = ask(server, client, key.proof(url, nonce=nonce_of(challenge)))
    assert answer.status_code == 200, answer.text
    assert jwt_part(answer.json()["access_token"], 1)["cnf"] == {"jkt": key.jkt}
    assert nonce_of(answer)  # §8.2: the next one to use comes with the token


def test_the_seed_endpoint_answers_in_its_format_with_the_nonce(nodes: tuple[Tokensmith, Tokensmith], client: dict[str, Any]) -> None:
    server, _ = nodes
    key = ProofKey.es256()
    challenge = ask(server, client, key.proof(server.issuer + SEED_PATH), seed=True)
    seed_error(challenge, code="240119", status=400)
    answer = ask(server, client, key.proof(server.issuer + SEED_PATH, nonce=nonce_of(challenge)), seed=True)
    assert answer.status_code == 200 and answer.json()["token_type"] == "DPoP"


def test_one_nodes_nonce_is_good_at_the_other(nodes: tuple[Tokensmith, Tokensmith], client: dict[str, Any]) -> None:
    first, second = nodes
    key = ProofKey.es256()
    url = first.issuer + OAUTH_PATH
    nonce = nonce_of(ask(first, client, key.proof(url)))
    assert ask(second, client, key.proof(url, nonce=nonce)).status_code == 200


def _kek_nonces(server: Tokensmith) -> DpopNonces:
    """The nonces as an insider with the key-encryption key would make them."""
    kek = decode_kek((server.workdir / "tokensmith.db.kek").read_text())
    return DpopNonces(KeyEncryption(kek).dpop_nonce_key, PERIOD)


def test_a_stale_or_made_up_nonce_is_answered_with_a_fresh_one(nodes: tuple[Tokensmith, Tokensmith], client: dict[str, Any]) -> None:
    server, _ = nodes
    key = ProofKey.es256()
    url = server.issuer + OAUTH_PATH
    nonces = _kek_nonces(server)
    now = time.time()
    assert ask(server, client, key.proof(url, nonce=nonces.current(now))).status_code == 200  # the insider's copy is right
    previous = nonces.current(now - PERIOD)
    assert ask(server, client, key.proof(url, nonce=previous)).status_code == 200  # the previous window's is still good
    for stale in (nonces.current(now - 3 * PERIOD), "made-up-nonce", ""):
        challenge = ask(server, client, key.proof(url, nonce=stale))
        oauth_error(challenge, error="use_dpop_nonce", status=400)
        assert nonce_of(challenge) != stale


def test_an_invalid_proof_also_gets_the_nonce_to_use(nodes: tuple[Tokensmith, Tokensmith], client: dict[str, Any]) -> None:
    server, _ = nodes
    response = ask(server, client, ProofKey.es256().proof(server.issuer + OAUTH_PATH, "GET"))
    oauth_error(response, error="invalid_dpop_proof", status=400)
    assert nonce_of(response)


def test_a_bearer_request_gets_no_nonce(nodes: tuple[Tokensmith, Tokensmith], client: dict[str, Any]) -> None:
    server, _ = nodes
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.post(OAUTH_PATH, headers=auth_header(client), data={"grant_type": "client_credentials"})
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"
    assert "dpop-nonce" not in response.headers
