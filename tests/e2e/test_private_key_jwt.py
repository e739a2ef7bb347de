"""private_key_jwt (RFC 7523 §2.2, draft-ietf-oauth-rfc7523bis) against a real
server: a good assertion gets a token on both endpoints, and each rule is proven by
the forged or replayed assertion it forbids, refused exactly like a wrong secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.wire import INVALID_CREDENTIALS, OAUTH_PATH, SEED_PATH, jwt_part, oauth_error, seed_error
from tests.support.assertions import ASSERTION_TYPE, ClientKey, assertion, form, jwks_file
from tests.support.jws import b64url, compact, hs256, segment
from tests.support.server import Tokensmith

CLIENT = "signer"


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    server = Tokensmith(tmp_path_factory.mktemp("private-key-jwt"), env_overrides={"TOKENSMITH_BRUTEFORCE_ENABLED": "false"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key() -> ClientKey:
    return ClientKey.es256("signer-es")


@pytest.fixture(scope="module")
def rsa_key() -> ClientKey:
    return ClientKey.rs256("signer-rs")


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith, key: ClientKey, rsa_key: ClientKey, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = jwks_file(tmp_path_factory.mktemp("jwks"), key, rsa_key)
    return tokensmith.create_client(CLIENT, "--auth-method", "private_key_jwt", "--jwks-file", str(path), scopes=("edit", "read"))


@pytest.fixture(scope="module")
def secret_client(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("with-secret")


def token_request(http: httpx.Client, fields: dict[str, str], *, seed: bool = False) -> httpx.Response:
    if seed:
        return http.post(f"{SEED_PATH}?scope=edit", data=fields)
    return http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "scope": "edit", **fields})


def refused(response: httpx.Response) -> None:
    oauth_error(response, error="invalid_client", status=401)


def test_a_client_with_no_secret_gets_a_token_on_both_endpoints(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey, rsa_key: ClientKey) -> None:
    assert "client_secret" not in client
    for signer in (key, rsa_key):
        response = token_request(http, form(assertion(signer, CLIENT, tokensmith.issuer)))
        assert response.status_code == 200, response.text
        claims = jwt_part(response.json()["access_token"], 1)
        assert claims["client_id"] == CLIENT and claims["scope"] == "edit"
    seed = token_request(http, form(assertion(key, CLIENT, tokensmith.issuer), CLIENT), seed=True)
    assert seed.status_code == 200, seed.text
    assert set(seed.json()) == {"access_token", "expires_in", "token_type"}


def test_a_replayed_assertion_is_refused(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey) -> None:
    token = assertion(key, CLIENT, tokensmith.issuer)
    assert token_request(http, form(token)).status_code == 200
    refused(token_request(http, form(token)))
    seed_error(token_request(http, form(token), seed=True), code="240101", status=401)


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("aud of another server", {"audience": "https://other.example"}),
        ("aud as an array", {"audience": ["ISSUER"]}),
        ("aud the token endpoint (not allowed by default)", {"audience": "ISSUER/oauth2/token"}),
        ("no exp", {"drop": ("exp",)}),
        ("exp too far after iat", {"lifetime": 3600}),
        ("expired", {"lifetime": -120}),
        ("no jti", {"drop": ("jti",)}),
        ("empty jti", {"jti": ""}),
        ("iss is not sub", {"iss": "someone-else"}),
        ("sub is another client", {"sub": "with-secret"}),
        ("iat in the future", {"iat": 4_000_000_000}),
        ("nbf in the future", {"nbf": 4_000_000_000}),
        ("exp as a string", {"exp": "4000000000"}),
        ("unknown kid", {"header": {"kid": "nobody"}}),
        ("typ of an access token", {"header": {"typ": "at+jwt"}}),
    ],
)
def test_each_claim_rule_refuses_the_assertion_that_breaks_it(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey, case: str, overrides: dict[str, Any]) -> None:
    arguments = dict(overrides)
    audience = arguments.pop("audience", tokensmith.issuer)
    audience = [item.replace("ISSUER", tokensmith.issuer) for item in audience] if isinstance(audience, list) else audience.replace("ISSUER", tokensmith.issuer)
    token = assertion(key, CLIENT, audience, **arguments)
    refused(token_request(http, form(token, CLIENT)))
    seed_error(token_request(http, form(token, CLIENT), seed=True), code="240101", status=401)


def test_alg_none_and_hs256_keyed_with_the_public_key_are_refused(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], rsa_key: ClientKey) -> None:
    now_claims = jwt_part(assertion(rsa_key, CLIENT, tokensmith.issuer), 1)
    unsigned = compact({"alg": "none", "kid": rsa_key.kid}, now_claims, None)
    refused(token_request(http, form(unsigned)))
    # Key confusion: the RSA public key's JWK, and its PEM, as the HMAC secret.
    for secret in (json.dumps(rsa_key.jwk()).encode(), rsa_key.private.public_key().public_bytes(*_pem())):
        now_claims = jwt_part(assertion(rsa_key, CLIENT, tokensmith.issuer), 1)
        refused(token_request(http, form(compact({"alg": "HS256", "kid": rsa_key.kid}, now_claims, hs256(secret)))))


def _pem() -> tuple[Any, Any]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return Encoding.PEM, PublicFormat.SubjectPublicKeyInfo


def test_an_assertion_signed_by_another_key_or_with_another_keys_alg_is_refused(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey, rsa_key: ClientKey) -> None:
    stranger = ClientKey.es256(key.kid)  # same kid, another key
    refused(token_request(http, form(assertion(stranger, CLIENT, tokensmith.issuer))))
    # The EC key's kid with an RSA signature: the header's alg must be the key's own.
    refused(token_request(http, form(assertion(rsa_key, CLIENT, tokensmith.issuer, header={"kid": key.kid}))))


def test_a_tampered_payload_is_refused(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey) -> None:
    header, _, signature = assertion(key, CLIENT, tokensmith.issuer).split(".")
    claims = jwt_part(assertion(key, CLIENT, tokensmith.issuer), 1) | {"sub": CLIENT, "scope": "admin"}
    refused(token_request(http, form(f"{header}.{segment(claims)}.{signature}")))


def test_an_assertion_for_a_secret_client_and_a_secret_for_a_key_client_are_refused(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], secret_client: dict[str, Any], key: ClientKey) -> None:
    # A secret client has no keys: an assertion naming it proves nothing.
    refused(token_request(http, form(assertion(key, "with-secret", tokensmith.issuer))))
    # A key client has no secret: nothing a secret can match.
    response = http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": CLIENT, "client_secret": "tks_guess"})
    refused(response)


def test_malformed_assertions_and_wrong_assertion_types_are_invalid_client(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey) -> None:
    good = assertion(key, CLIENT, tokensmith.issuer)
    for fields in (
        {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "client_assertion": good},
        {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "not.a.jwt"},
        {"client_assertion_type": ASSERTION_TYPE, "client_assertion": ""},
        {"client_assertion_type": ASSERTION_TYPE},
        {"client_assertion": good},
        {"client_assertion_type": ASSERTION_TYPE, "client_assertion": b64url(b"{}") + "." + b64url(b"{}") + ".", "client_id": CLIENT},
        {"client_assertion_type": ASSERTION_TYPE, "client_assertion": "x." * 3900 + "x", "client_id": CLIENT},
    ):
        refused(token_request(http, fields))
    # The good one was never spent by any of that.
    assert token_request(http, form(good)).status_code == 200


def test_two_methods_at_once_are_a_malformed_request(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], secret_client: dict[str, Any], key: ClientKey) -> None:
    token = assertion(key, CLIENT, tokensmith.issuer)
    response = http.post(OAUTH_PATH, data={"grant_type": "client_credentials", **form(token), "client_secret": "x"})
    oauth_error(response, error="invalid_request", status=400)
    response = http.post(OAUTH_PATH, data={"grant_type": "client_credentials", **form(token)}, auth=("with-secret", secret_client["client_secret"]))
    oauth_error(response, error="invalid_request", status=400)


def test_a_refusal_says_no_more_than_a_wrong_secret(http: httpx.Client, tokensmith: Tokensmith, client: dict[str, Any], key: ClientKey) -> None:
    wrong_secret = http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": "with-secret", "client_secret": "tks_wrong"})
    replay = assertion(key, CLIENT, "https://elsewhere")
    bad = token_request(http, form(replay))
    assert bad.status_code == wrong_secret.status_code == 401
    assert bad.json() == wrong_secret.json()
    assert bad.headers.get("www-authenticate") == wrong_secret.headers.get("www-authenticate")
    seed_bad = seed_error(token_request(http, form(replay), seed=True), code="240101", status=401)
    seed_wrong = seed_error(http.post(f"{SEED_PATH}?scope=edit", auth=("with-secret", "tks_wrong")), code="240101", status=401)
    assert {**seed_bad, "instance": None} == {**seed_wrong, "instance": None}
    assert INVALID_CREDENTIALS in json.dumps(seed_bad)


def test_metadata_lists_the_method_and_its_algorithms(http: httpx.Client) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert set(metadata["token_endpoint_auth_signing_alg_values_supported"]) == {"RS256", "PS256", "ES256", "EdDSA", "Ed25519"}
    assert "none" not in metadata["token_endpoint_auth_signing_alg_values_supported"]


def test_the_assertion_never_reaches_the_log(tokensmith: Tokensmith, client: dict[str, Any], http: httpx.Client, key: ClientKey) -> None:
    token = assertion(key, CLIENT, "https://elsewhere")
    token_request(http, form(token))
    good = assertion(key, CLIENT, tokensmith.issuer)
    token_request(http, form(good))
    log = Path(tokensmith.log_path).read_text()
    assert token.split(".")[2] not in log and good.split(".")[2] not in log
    assert token.split(".")[1] not in log
