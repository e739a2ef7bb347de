"""DPoP (RFC 9449) at the token endpoints of a real `tokensmith serve`: a good proof
binds the token to its key (`cnf.jkt`, `token_type` DPoP) on both endpoints, and each
rule of §4.3 is proven by the forged proof it refuses (400 invalid_dpop_proof, the
seed's `240118`), with no token issued. Server nonces (§8): tests/e2e/test_dpop_nonces.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, auth_header, jwt_part, oauth_error, seed_error
from tests.support.dpop import ProofKey, serving
from tests.support.jws import b64url, hs256
from tests.support.server import Tokensmith


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    yield from serving(tmp_path_factory.mktemp("dpop"), TOKENSMITH_BRUTEFORCE_ENABLED="false")


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("dpop-optional", "--reuse-tokens")


@pytest.fixture(scope="module")
def bound_client(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("dpop-required", "--token-binding", "dpop")


@pytest.fixture(scope="module")
def key() -> ProofKey:
    return ProofKey.es256()


def token_url(tokensmith: Tokensmith, path: str = OAUTH_PATH) -> str:
    return tokensmith.issuer + path


def ask(http: httpx.Client, client: dict[str, Any], proof: str | None, *, seed: bool = False) -> httpx.Response:
    headers = auth_header(client)
    if proof is not None:
        headers["DPoP"] = proof
    if seed:
        return http.post(f"{SEED_PATH}?scope=edit", headers=headers)
    return http.post(OAUTH_PATH, headers=headers, data={"grant_type": "client_credentials", "scope": "edit"})


def refused(response: httpx.Response) -> dict[str, Any]:
    body = oauth_error(response, error="invalid_dpop_proof", status=400)
    assert "access_token" not in response.text
    return body


def test_a_proof_binds_the_token_to_its_key_on_both_endpoints(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any]) -> None:
    for key in (ProofKey.es256(), ProofKey.rs256(), ProofKey.ps256(), ProofKey.ed25519()):
        response = ask(http, client, key.proof(token_url(tokensmith)))
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "DPoP"
        assert jwt_part(response.json()["access_token"], 1)["cnf"] == {"jkt": key.jkt}
        seed = ask(http, client, key.proof(token_url(tokensmith, SEED_PATH)), seed=True)
        assert seed.status_code == 200, seed.text
        assert seed.json()["token_type"] == "DPoP"
        assert jwt_part(seed.json()["access_token"], 1)["cnf"] == {"jkt": key.jkt}


def test_without_a_proof_the_token_stays_bearer(http: httpx.Client, client: dict[str, Any]) -> None:
    response = ask(http, client, None)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert "cnf" not in jwt_part(response.json()["access_token"], 1)


def test_a_bound_token_is_never_reused_for_another_key(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any]) -> None:
    """The client has token reuse on: a bearer token would come back, a bound one is its key's only."""
    first, second = ProofKey.es256(), ProofKey.es256()
    one = ask(http, client, first.proof(token_url(tokensmith))).json()["access_token"]
    other = ask(http, client, second.proof(token_url(tokensmith))).json()["access_token"]
    assert one != other
    assert jwt_part(other, 1)["cnf"] == {"jkt": second.jkt}


def test_a_client_bound_to_dpop_gets_no_token_without_a_proof(http: httpx.Client, tokensmith: Tokensmith, bound_client: dict[str, Any], key: ProofKey) -> None:
    body = refused(ask(http, bound_client, None))
    assert "DPoP" in body["error_description"]
    seed_error(ask(http, bound_client, None, seed=True), code="240118", status=400)
    good = ask(http, bound_client, key.proof(token_url(tokensmith)))
    assert good.status_code == 200 and good.json()["token_type"] == "DPoP"


def test_the_htu_is_compared_as_a_url(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    """RFC 9449 §4.3 item 9: scheme and host in any case, the default port spelt or
    not, the query and fragment ignored."""
    port = tokensmith.port
    for htu in (f"HTTP://127.0.0.1:{port}/oauth2/token", f"http://127.0.0.1:{port}/oauth2/token?x=1#f"):
        assert ask(http, client, key.proof(htu)).status_code == 200, htu


def test_the_htu_is_this_endpoints_url_from_the_issuer_not_the_host_header(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    headers = {**auth_header(client), "Host": "evil.example", "DPoP": key.proof("http://evil.example/oauth2/token")}
    refused(http.post(OAUTH_PATH, headers=headers, data={"grant_type": "client_credentials"}))


HTU = "The DPoP proof's htu is not this endpoint's URL"
HTM = "The DPoP proof's htm must be POST"
ALG = "The DPoP proof's alg is not an accepted asymmetric algorithm"
TYP = "The DPoP proof's typ must be dpop+jwt"
NOT_A_JWT = "The DPoP proof is not a signed JWT"
NO_IAT = "The DPoP proof needs an iat"
NO_JWK = "The DPoP proof needs a jwk"


def _forgeries(tokensmith: Tokensmith, key: ProofKey) -> dict[str, tuple[str, str]]:
    """Each forgery, and the rule that must refuse it (the refusal's description)."""
    url = token_url(tokensmith)
    other = ProofKey.es256()
    now = int(time.time())
    private_jwk = {**key.jwk(), "d": b64url(key.private.private_numbers().private_value.to_bytes(32, "big"))}  # type: ignore[union-attr]
    return {
        "another endpoint's htu": (key.proof(token_url(tokensmith, SEED_PATH)), HTU),
        "another server's htu": (key.proof("https://other.example/oauth2/token"), HTU),
        "another port": (key.proof(url.replace(str(tokensmith.port), "1")), HTU),
        "no htu": (key.proof(url, drop=("htu",)), HTU),
        "htm GET": (key.proof(url, "GET"), HTM),
        "htm post in lower case": (key.proof(url, "post"), HTM),
        "iat ten minutes old": (key.proof(url, iat=now - 600), "The DPoP proof is too old"),
        "iat a minute ahead": (key.proof(url, iat=now + 60), "The DPoP proof is issued in the future"),
        "iat as a string": (key.proof(url, iat=str(now)), NO_IAT),
        "no iat": (key.proof(url, drop=("iat",)), NO_IAT),
        "no jti": (key.proof(url, drop=("jti",)), "The DPoP proof needs a jti"),
        "typ JWT": (key.proof(url, header={"typ": "JWT"}), TYP),
        "no typ": (key.proof(url, header={"typ": None}), TYP),
        "a private key in jwk": (key.proof(url, header={"jwk": private_jwk}), "The DPoP proof's jwk must be a public key"),
        "HS256 keyed with the jwk": (key.proof(url, header={"alg": "HS256"}, sign=hs256(json.dumps(key.jwk()).encode())), ALG),
        "HS256 with an oct jwk": (key.proof(url, header={"alg": "HS256", "jwk": {"kty": "oct", "k": b64url(b"k" * 32)}}, sign=hs256(b"k" * 32)), ALG),
        "alg none": (key.proof(url, header={"alg": "none"}, sign=lambda data: b"\x00"), ALG),
        "alg none, no signature": (key.proof(url, header={"alg": "none"}, sign=lambda data: b""), NOT_A_JWT),
        "alg RS256 on an EC key": (key.proof(url, header={"alg": "RS256"}), "The DPoP proof's alg does not match its jwk"),
        "signed by another key": (key.proof(url, sign=other.signer), "The DPoP proof's signature does not verify with its jwk"),
        "no jwk": (key.proof(url, header={"jwk": None}), NO_JWK),
        "jwk a string": (key.proof(url, header={"jwk": "key"}), NO_JWK),
        "not a JWT": ("not-a-proof", NOT_A_JWT),
    }


def test_every_forged_proof_is_refused_with_no_token(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    for name, (proof, rule) in _forgeries(tokensmith, key).items():
        response = ask(http, client, proof)
        assert response.status_code == 400, (name, response.text)
        assert refused(response)["error_description"] == rule, name
    # The seed endpoint answers the same rules in its own format.
    problem = seed_error(ask(http, client, key.proof(token_url(tokensmith)), seed=True), code="240118", status=400)
    assert problem["invalid-params"] == [HTU]


def test_the_refusal_names_the_rule_never_the_proof(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    proof = key.proof(token_url(tokensmith), "GET")
    response = ask(http, client, proof)
    assert refused(response)["error_description"] == "The DPoP proof's htm must be POST"
    assert proof not in response.text and proof.split(".")[1] not in tokensmith.log_path.read_text()


def test_a_proof_is_single_use(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    proof = key.proof(token_url(tokensmith))
    assert ask(http, client, proof).status_code == 200
    assert refused(ask(http, client, proof))["error_description"] == "The DPoP proof has been used before"


def test_one_proof_sent_ten_times_at_once_gets_one_token(tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    proof = key.proof(token_url(tokensmith))

    def send(_: int) -> int:
        with httpx.Client(base_url=tokensmith.url, timeout=10) as http:
            return ask(http, client, proof).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(send, range(10)))
    assert statuses.count(200) == 1 and statuses.count(400) == 9, statuses


def test_two_dpop_headers_are_refused(tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    url = token_url(tokensmith)
    headers = [*auth_header(client).items(), ("DPoP", key.proof(url)), ("DPoP", key.proof(url))]
    with httpx.Client(base_url=tokensmith.url, timeout=10) as http:
        response = http.post(OAUTH_PATH, headers=headers, data={"grant_type": "client_credentials"})
    oauth_error(response, error="invalid_request", status=400)


def test_without_nonces_no_nonce_is_sent(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    response = ask(http, client, key.proof(token_url(tokensmith)))
    assert response.status_code == 200 and "dpop-nonce" not in response.headers


def test_introspection_reports_the_binding(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> None:
    token = ask(http, client, key.proof(token_url(tokensmith))).json()["access_token"]
    answer = http.post("/oauth2/introspect", headers=auth_header(client), data={"token": token}).json()
    assert answer["active"] is True
    assert answer["cnf"] == {"jkt": key.jkt} and answer["token_type"] == "DPoP"  # RFC 9449 §6.2
    bearer = ask(http, client, None).json()["access_token"]
    plain = http.post("/oauth2/introspect", headers=auth_header(client), data={"token": bearer}).json()
    assert plain["token_type"] == "Bearer" and "cnf" not in plain


def test_metadata_lists_the_proof_algorithms(http: httpx.Client) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert set(metadata["dpop_signing_alg_values_supported"]) == {"RS256", "PS256", "ES256", "EdDSA", "Ed25519"}


def test_the_binding_is_changed_by_the_command_line(http: httpx.Client, tokensmith: Tokensmith, key: ProofKey) -> None:
    created = tokensmith.create_client("switches-binding")
    assert ask(http, created, None).status_code == 200
    shown = json.loads(tokensmith.cli("clients", "update", "switches-binding", "--token-binding", "dpop", "--json").stdout)
    assert shown["token_binding"] == "dpop"
    refused(ask(http, created, None))
    assert ask(http, created, key.proof(token_url(tokensmith))).json()["token_type"] == "DPoP"
    tokensmith.cli("clients", "update", "switches-binding", "--token-binding", "none")
    assert ask(http, created, None).json()["token_type"] == "Bearer"
    bad = tokensmith.cli("clients", "update", "switches-binding", "--token-binding", "sometimes", check=False)
    assert bad.returncode != 0 and "sometimes" in bad.stderr
