"""The SDK's DPoP (RFC 9449): ClientCredentialsAuth(dpop=DPoPKey()) against a real
`tokensmith serve` with nonces on gets a token bound to its key at both endpoints
(following use_dpop_nonce once, with a fresh assertion for a private_key_jwt client),
and presents it to an API, with httpx (sync and async) and requests, as
`Authorization: DPoP` with a fresh proof per request carrying the token's hash,
following the API's own nonce demand (401 use_dpop_nonce) once. The API here checks
each proof with the same rules the server uses (domain/dpop.py); the verifier's own
checks are in tests/verify/."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.e2e.wire import jwt_part
from tests.support.assertion_clients import create_key_client
from tests.support.dpop import NONCES_ON, serving
from tests.support.server import Tokensmith
from tests.support.stub_server import Recorded, Response, StubHTTPServer
from tokensmith.client import ClientCredentialsAuth, DPoPKey, PrivateKeyJWT, TokenResponseError
from tokensmith.domain.dpop import ProofRefused, ProofRules, check_proof, normalised_url


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    yield from serving(tmp_path_factory.mktemp("sdk-dpop"), **NONCES_ON)


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("sdk-dpop", "--token-binding", "dpop")


class DPoPApi(StubHTTPServer):
    """An API that takes DPoP-bound tokens only: each proof checked (htm, htu, ath,
    single use), and a nonce demanded on the first request (RFC 9449 §9)."""

    def __init__(self) -> None:
        self.nonce = secrets.token_urlsafe(8)
        self.jtis: set[str] = set()
        self.refusals: list[str] = []
        self.guard = threading.Lock()
        super().__init__()

    def respond(self, request: Recorded) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        proof = request.headers.get("dpop", "")
        url = normalised_url(self.url + request.path)
        assert url is not None
        try:
            checked = check_proof(proof, method=request.method, url=url, now=int(time.time()), rules=ProofRules(), access_token=token)
        except ProofRefused as refused:
            self.refusals.append(refused.reason)
            return 401, {"error": "invalid_dpop_proof"}, {"WWW-Authenticate": 'DPoP error="invalid_dpop_proof"'}
        with self.guard:
            replayed = checked.jti in self.jtis
            self.jtis.add(checked.jti)
        if scheme != "DPoP" or replayed:
            self.refusals.append("scheme" if scheme != "DPoP" else "replayed")
            return 401, {"error": "invalid_token"}, {"WWW-Authenticate": 'DPoP error="invalid_token"'}
        if checked.nonce != self.nonce:
            return 401, {"error": "use_dpop_nonce"}, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": self.nonce}
        return 200, {"jkt": checked.jkt, "cnf": jwt_part(token, 1)["cnf"]}, {}


@pytest.fixture
def api() -> Iterator[DPoPApi]:
    server = DPoPApi()
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/oauth2/token", "/v1/api/oauth/token"])
def test_the_sdk_gets_a_token_bound_to_its_key_following_the_servers_nonce(tokensmith: Tokensmith, client: dict[str, Any], path: str) -> None:
    key = DPoPKey()
    auth = ClientCredentialsAuth(tokensmith.url + path, client["client_id"], client["client_secret"], scope="edit", dpop=key)
    token = auth.get_token()
    assert jwt_part(token, 1)["cnf"] == {"jkt": key.jkt}


@pytest.mark.parametrize("key", [ec.generate_private_key(ec.SECP256R1()), rsa.generate_private_key(65537, 2048), ed25519.Ed25519PrivateKey.generate()])
def test_a_private_key_jwt_client_retries_with_a_fresh_assertion(tokensmith: Tokensmith, key: Any) -> None:
    """The nonce retry cannot resend the first assertion: its jti was spent."""
    signer = PrivateKeyJWT(key)
    client_id = f"sdk-dpop-pkj-{secrets.token_hex(3)}"
    create_key_client(tokensmith, client_id, signer.public_jwk())
    dpop = DPoPKey(key)
    auth = ClientCredentialsAuth(tokensmith.url + "/oauth2/token", client_id, assertion=signer, scope="edit", dpop=dpop)
    assert jwt_part(auth.get_token(), 1)["cnf"] == {"jkt": dpop.jkt}


def test_each_api_call_carries_a_fresh_proof_with_the_tokens_hash(tokensmith: Tokensmith, client: dict[str, Any], api: DPoPApi) -> None:
    key = DPoPKey()
    auth = ClientCredentialsAuth(tokensmith.url + "/oauth2/token", client["client_id"], client["client_secret"], dpop=key)
    with httpx.Client(auth=auth) as http:
        for _ in range(3):
            answer = http.get(api.url + "/orders?page=2")
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"jkt": key.jkt, "cnf": {"jkt": key.jkt}}
        assert http.post(api.url + "/orders", json={"n": 1}).status_code == 200
    assert api.refusals == []
    # The first call was asked for the API's nonce and retried; then every proof had it.
    assert api.count() == 5 and len(api.jtis) == 5


def test_async_httpx_and_requests_present_it_the_same_way(tokensmith: Tokensmith, client: dict[str, Any], api: DPoPApi) -> None:
    key = DPoPKey(alg="ES256")
    auth = ClientCredentialsAuth(tokensmith.url + "/oauth2/token", client["client_id"], client["client_secret"], dpop=key)

    async def calls() -> list[int]:
        async with httpx.AsyncClient(auth=auth) as http:
            return [(await http.get(api.url + "/orders")).status_code for _ in range(2)]

    import anyio

    assert anyio.run(calls) == [200, 200]
    session = requests.Session()
    session.auth = auth
    assert [session.get(api.url + "/orders").status_code for _ in range(2)] == [200, 200]
    assert api.refusals == []


def test_a_bearer_token_from_a_server_without_dpop_is_still_sent_as_bearer() -> None:
    """A server that ignores the proof answers Bearer: the SDK presents it as Bearer."""
    from tests.client.conftest import TokenServer

    stub = TokenServer()
    try:
        auth = ClientCredentialsAuth(stub.url + stub.standard_path, stub.client_id, stub.client_secret, dpop=DPoPKey())
        with httpx.Client(auth=auth) as http:
            assert http.get(stub.url + stub.api_path).status_code == 200
        assert stub.last(stub.api_path).headers["authorization"].startswith("Bearer ")
        assert "dpop" in stub.last(stub.standard_path).headers  # the proof was offered
    finally:
        stub.stop()


def test_a_dpop_token_is_refused_without_a_key() -> None:
    from tests.client.conftest import TokenServer

    stub = TokenServer()
    try:
        stub.token_body = {"token_type": "DPoP", "expires_in": 60}
        auth = ClientCredentialsAuth(stub.url + stub.standard_path, stub.client_id, stub.client_secret)
        with pytest.raises(TokenResponseError):
            auth.get_token()
    finally:
        stub.stop()


def test_the_key_never_shows() -> None:
    key = DPoPKey()
    assert repr(key) == f"DPoPKey(alg='ES256', jkt={key.jkt!r})"
