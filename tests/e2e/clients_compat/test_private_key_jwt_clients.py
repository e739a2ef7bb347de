"""private_key_jwt clients written by others get tokens from tokensmith unchanged:
Authlib's `PrivateKeyJWT` (sync and async httpx clients) and node openid-client 6's
`PrivateKeyJwt`, each making its assertions its own way.

What they send (read from their code and from the requests they make):
* openid-client 6: header {alg, kid}, no typ; aud = the issuer identifier (a string);
  exp = iat + 60; nbf; client_id in the body. An Ed25519 key signs as alg "Ed25519"
  (RFC 9864's fully-specified name), not "EdDSA".
* Authlib 1.9: header {typ: "JWT", alg} (kid only if given in headers=); aud = the
  token endpoint URL, so the server must be told to admit it
  (TOKENSMITH_ASSERTION_AUDIENCE_TOKEN_ENDPOINT=true); exp = iat + 3600, longer than
  tokensmith's default bound on an assertion's life; no client_id in the body.
* Both sign ES256 through an ECDSA that picks s from either half (WebCrypto, OpenSSL via
  joserfc): about half their ES256 assertions carry a high s.
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from tests.support.assertion_clients import create_key_client, openid_client_tokens, require_openid_client, require_private_key_jwt
from tests.support.jws import compact
from tests.support.server import Tokensmith
from tokensmith.client.assertions import JWT_BEARER_ASSERTION_TYPE
from tokensmith.jose.jwk import public_jwk
from tokensmith.jose.jws import P256_HALF_ORDER, P256_ORDER

with warnings.catch_warnings():
    # Authlib announces a future move of its httpx integration; it still works.
    from authlib.deprecate import AuthlibDeprecationWarning

    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT
    from joserfc.jwk import ECKey, RSAKey

# Where an operator admits what Authlib sends: the token endpoint URL as the audience
# and its hour-long assertions.
AUTHLIB_FRIENDLY = {"TOKENSMITH_ASSERTION_AUDIENCE_TOKEN_ENDPOINT": "true", "TOKENSMITH_ASSERTION_MAX_LIFETIME_SECONDS": "3600"}
ES256_TRIES = 16  # each ES256 assertion has a high s with probability 1/2: 16 leave 1/65536 unseen


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def lenient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    server = Tokensmith(tmp_path_factory.mktemp("tokensmith-lenient"), env_overrides=dict(AUTHLIB_FRIENDLY))
    server.start()
    yield server
    server.stop()


def registered_jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    return {**public_jwk(key.public_key()), "kid": kid, "alg": alg, "use": "sig"}


def private_jwk(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm if isinstance(key, ec.EllipticCurvePrivateKey) else OKPAlgorithm
    return {**json.loads(algorithm.to_jwk(key)), "kid": kid}


def access_claims(tokensmith: Tokensmith, access_token: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(f"{tokensmith.url}/.well-known/jwks.json").get_signing_key_from_jwt(access_token).key
    return jwt.decode(access_token, key, algorithms=["RS256"], audience=tokensmith.issuer, issuer=tokensmith.issuer)


def pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def authlib_key(key: Any) -> Any:
    return RSAKey.import_key(pem(key)) if isinstance(key, rsa.RSAPrivateKey) else ECKey.import_key(pem(key))


# -- Authlib ------------------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "tries"), [("RS256", 2), ("ES256", ES256_TRIES)])
def test_authlib_private_key_jwt_gets_tokens(lenient: Tokensmith, rsa_key, ec_key, alg: str, tries: int) -> None:
    require_private_key_jwt(lenient)
    key = rsa_key if alg == "RS256" else ec_key
    client_id = f"authlib-{alg.lower()}"
    create_key_client(lenient, client_id, registered_jwk(key, "authlib-1", alg))
    token_url = f"{lenient.url}/oauth2/token"

    # Authlib's documented set-up: the key as the "secret", the method registered by name.
    with OAuth2Client(client_id, authlib_key(key), scope="edit", token_endpoint_auth_method="private_key_jwt") as oauth:
        oauth.register_client_auth_method(PrivateKeyJWT(token_url, headers={"kid": "authlib-1"}, alg=alg))
        tokens = [oauth.fetch_token(token_url, grant_type="client_credentials") for _ in range(tries)]

    assert all(token["token_type"] == "Bearer" and token["scope"] == "edit" for token in tokens)
    assert {access_claims(lenient, token["access_token"])["client_id"] for token in tokens} == {client_id}


def test_authlib_async_client_gets_a_token(lenient: Tokensmith, rsa_key) -> None:
    require_private_key_jwt(lenient)
    create_key_client(lenient, "authlib-async", registered_jwk(rsa_key, "authlib-async-1", "RS256"))
    token_url = f"{lenient.url}/oauth2/token"

    async def fetch() -> dict[str, Any]:
        async with AsyncOAuth2Client("authlib-async", authlib_key(rsa_key), token_endpoint_auth_method="private_key_jwt") as oauth:
            oauth.register_client_auth_method(PrivateKeyJWT(token_url, headers={"kid": "authlib-async-1"}))
            return dict(await oauth.fetch_token(token_url, grant_type="client_credentials"))

    assert access_claims(lenient, asyncio.run(fetch())["access_token"])["client_id"] == "authlib-async"


def test_authlibs_token_endpoint_audience_is_refused_unless_the_operator_admits_it(tokensmith: Tokensmith, rsa_key) -> None:
    # rfc7523bis: the issuer identifier is the one audience; the token endpoint URL
    # (RFC 7523's older advice, Authlib's default) only where the operator allows it.
    require_private_key_jwt(tokensmith)
    create_key_client(tokensmith, "authlib-default", registered_jwk(rsa_key, "authlib-default-1", "RS256"))
    token_url = f"{tokensmith.url}/oauth2/token"

    with OAuth2Client("authlib-default", authlib_key(rsa_key), token_endpoint_auth_method="private_key_jwt") as oauth:
        oauth.register_client_auth_method(PrivateKeyJWT(token_url, headers={"kid": "authlib-default-1"}))
        with pytest.raises(OAuthError) as caught:
            oauth.fetch_token(token_url, grant_type="client_credentials")

    assert caught.value.error == "invalid_client"


# -- node openid-client ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "make_key", "tries"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), 2),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1()), ES256_TRIES),
        # openid-client names an Ed25519 signature "Ed25519" (RFC 9864), the key's JWK says EdDSA or nothing.
        ("Ed25519", ed25519.Ed25519PrivateKey.generate, 2),
    ],
)
def test_openid_client_private_key_jwt_gets_tokens(tokensmith: Tokensmith, alg: str, make_key, tries: int) -> None:
    require_private_key_jwt(tokensmith)
    require_openid_client()
    key = make_key()
    client_id = f"openid-client-{alg.lower()}"
    jwk = {**public_jwk(key.public_key()), "kid": "node-1", "use": "sig"}
    create_key_client(tokensmith, client_id, jwk)

    results = openid_client_tokens(tokensmith.issuer, client_id, private_jwk(key, "node-1"), alg, scope="edit", requests=tries)

    assert [result.get("error") for result in results] == [None] * tries
    tokens = [result["token"] for result in results]
    assert all(token["token_type"].lower() == "bearer" and token["scope"] == "edit" for token in tokens)
    assert {access_claims(tokensmith, token["access_token"])["client_id"] for token in tokens} == {client_id}


# -- what both send half the time --------------------------------------------------------------


def test_an_es256_assertion_with_a_high_s_is_accepted(tokensmith: Tokensmith, http: httpx.Client, ec_key) -> None:
    """An ECDSA signature (r, s) is as valid as (r, n - s); WebCrypto and OpenSSL return
    either. Replay of the twin is stopped by the jti inside the signed claims, not by
    refusing half of the signatures real clients make."""
    require_private_key_jwt(tokensmith)
    create_key_client(tokensmith, "high-s", registered_jwk(ec_key, "high-s-1", "ES256"))
    now = int(time.time())
    claims = {"iss": "high-s", "sub": "high-s", "aud": tokensmith.issuer, "jti": f"high-s-{now}", "iat": now, "exp": now + 60}

    def sign_high_s(data: bytes) -> bytes:
        r, s = decode_dss_signature(ec_key.sign(data, ec.ECDSA(hashes.SHA256())))
        if s <= P256_HALF_ORDER:
            s = P256_ORDER - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    assertion = compact({"alg": "ES256", "kid": "high-s-1"}, claims, sign_high_s)
    form = {"grant_type": "client_credentials", "client_id": "high-s", "client_assertion_type": JWT_BEARER_ASSERTION_TYPE, "client_assertion": assertion}
    response = http.post("/oauth2/token", data=form)

    assert response.status_code == 200, response.text
    assert access_claims(tokensmith, response.json()["access_token"])["client_id"] == "high-s"

