"""Client authentication without a secret: what the SDK sends for private_key_jwt
(RFC 7523 §2.2, draft-ietf-oauth-rfc7523bis) and for a platform token read from a
file, checked by decoding the recorded requests of a real HTTP stub."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.client.test_client_errors import rendered
from tokensmith.client import (
    JWT_BEARER_ASSERTION_TYPE,
    JWT_BEARER_GRANT_TYPE,
    ClientAssertionError,
    ClientCredentialsAuth,
    DPoPKey,
    JWTBearerGrantAuth,
    PlatformToken,
    PrivateKeyJWT,
    TokenRequestError,
)
from tokensmith.client.assertions import MAX_PLATFORM_TOKEN_BYTES, issuer_of
from tokensmith.jose import jws
from tokensmith.jose.jwk import ALGORITHMS, parse_jwk

PLATFORM_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6b3JkZXJzOm9yZGVycy1zdmMifQ.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {"RS256": rsa_key, "PS256": rsa_key, "ES256": ec.generate_private_key(ec.SECP256R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate()}


def form_of(token_server, path: str | None = None) -> dict[str, str]:
    request = token_server.last(path or token_server.standard_path)
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


def verified_claims(assertion: str, signer: PrivateKeyJWT) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, after checking the signature the way tokensmith's server
    does: the registered JWK parsed into a key pinned to one algorithm."""
    (key,) = parse_jwk(signer.public_jwk(), ALGORITHMS)
    token = jws.parse(assertion)
    assert jws.verify_signature(key, token.header["alg"], token.signing_input, token.signature)
    return token.header, token.payload_object()


def key_auth(token_server, path: str | None = None, **options: Any) -> ClientCredentialsAuth:
    assertion = options.pop("assertion")
    options.setdefault("scope", "orders:read")
    return ClientCredentialsAuth(token_server.url + (path or token_server.standard_path), token_server.client_id, assertion=assertion, **options)


# -- private_key_jwt ------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_private_key_jwt_header_and_claims_follow_rfc7523bis(token_server, keys, clock, alg):
    signer = PrivateKeyJWT(keys[alg], alg="PS256" if alg == "PS256" else None)
    key_auth(token_server, assertion=signer, clock=clock).get_token()

    form = form_of(token_server)
    header, claims = verified_claims(form["client_assertion"], signer)
    assert header == {"alg": alg, "kid": signer.kid, "typ": "client-authentication+jwt"}
    assert claims["iss"] == claims["sub"] == token_server.client_id
    assert claims["aud"] == token_server.url  # the issuer identifier: one string, not an array
    assert claims["iat"] == int(clock())
    assert claims["exp"] == claims["iat"] + 60
    assert len(claims["jti"]) >= 22  # at least 128 random bits in base64url
    assert set(claims) == {"iss", "sub", "aud", "jti", "iat", "exp"}


def test_private_key_jwt_request_carries_the_assertion_fields_and_no_authorization_header(token_server, keys):
    key_auth(token_server, assertion=PrivateKeyJWT(keys["ES256"])).get_token()

    request = token_server.last(token_server.standard_path)
    assert "authorization" not in request.headers
    form = form_of(token_server)
    assert form.pop("client_assertion").count(".") == 2
    assert form == {
        "grant_type": "client_credentials",
        "scope": "orders:read",
        "client_id": token_server.client_id,
        "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
    }


def test_every_token_request_gets_a_fresh_assertion(token_server, keys, clock, api_url):
    token_server.expires_in = 120
    auth = key_auth(token_server, assertion=PrivateKeyJWT(keys["EdDSA"]), clock=clock)
    seen = []
    with httpx.Client(auth=auth) as api:
        for _ in range(3):
            assert api.get(api_url).status_code == 200
            seen.append(form_of(token_server)["client_assertion"])
            clock.advance(120)  # past the renewal point: the next call fetches a new token

    assert token_server.token_requests == 3
    jtis = [jws.parse(assertion).payload_object()["jti"] for assertion in seen]
    assert len(set(jtis)) == 3
    iats = [jws.parse(assertion).payload_object()["iat"] for assertion in seen]
    assert iats == [int(clock()) - 360, int(clock()) - 240, int(clock()) - 120]


def test_a_401_from_the_api_renews_with_a_new_assertion(token_server, keys, api_url):
    auth = key_auth(token_server, assertion=PrivateKeyJWT(keys["ES256"]))
    with httpx.Client(auth=auth) as api:
        api.get(api_url)
        first = form_of(token_server)["client_assertion"]
        token_server.revoke_all()
        assert api.get(api_url).status_code == 200

    assert token_server.token_requests == 2
    assert form_of(token_server)["client_assertion"] != first


def test_seed_endpoint_gets_the_assertion_as_its_form_body_and_the_scope_in_the_query(token_server, keys):
    signer = PrivateKeyJWT(keys["RS256"])
    key_auth(token_server, token_server.seed_path, assertion=signer).get_token()

    request = token_server.last(token_server.seed_path)
    assert request.query == {"scope": ["orders:read"]}
    assert "authorization" not in request.headers
    form = form_of(token_server, token_server.seed_path)
    assert set(form) == {"client_id", "client_assertion_type", "client_assertion"}  # no grant_type here
    _, claims = verified_claims(form["client_assertion"], signer)
    assert claims["aud"] == token_server.url  # the issuer, not the seed endpoint's URL


def test_audience_and_typ_and_lifetime_can_be_set(token_server, keys):
    signer = PrivateKeyJWT(keys["ES256"], kid="partner-2026", audience="https://auth.example.com/tenant-a", typ=None, lifetime=300)
    key_auth(token_server, assertion=signer).get_token()

    header, claims = verified_claims(form_of(token_server)["client_assertion"], signer)
    assert header == {"alg": "ES256", "kid": "partner-2026"}
    assert claims["aud"] == "https://auth.example.com/tenant-a"
    assert claims["exp"] - claims["iat"] == 300


def test_pyjwt_verifies_the_assertion_as_a_server_would(token_server, keys):
    signer = PrivateKeyJWT(keys["RS256"])
    key_auth(token_server, assertion=signer).get_token()

    claims = jwt.decode(
        form_of(token_server)["client_assertion"],
        keys["RS256"].public_key(),
        algorithms=["RS256"],
        audience=token_server.url,
        issuer=token_server.client_id,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
    )
    assert claims["sub"] == token_server.client_id


def test_pem_keys_are_accepted_with_or_without_a_password(token_server, keys):
    key = keys["ES256"]
    plain = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    locked = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))

    from_text = PrivateKeyJWT(plain.decode())
    from_locked = PrivateKeyJWT(locked, password=b"pw")

    assert from_text.public_jwk() == from_locked.public_jwk() == PrivateKeyJWT(key).public_jwk()
    key_auth(token_server, assertion=from_locked).get_token()
    verified_claims(form_of(token_server)["client_assertion"], from_text)


def test_public_jwk_is_what_the_server_registers_and_names_the_default_kid(keys):
    signer = PrivateKeyJWT(keys["RS256"], alg="PS256")
    jwk = signer.public_jwk()

    (key,) = parse_jwk(jwk, ALGORITHMS)
    assert (key.kid, key.alg) == (signer.kid, "PS256")
    assert jwk["use"] == "sig" and not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk)


@pytest.mark.anyio
async def test_async_httpx_client_authenticates_with_a_private_key(token_server, keys, api_url):
    signer = PrivateKeyJWT(keys["ES256"])
    async with httpx.AsyncClient(auth=key_auth(token_server, assertion=signer)) as api:
        response = await api.get(api_url)

    assert response.status_code == 200
    assert verified_claims(form_of(token_server)["client_assertion"], signer)[1]["sub"] == token_server.client_id


def test_requests_session_authenticates_with_a_private_key(token_server, keys, api_url):
    signer = PrivateKeyJWT(keys["EdDSA"])
    with requests.Session() as session:
        session.auth = key_auth(token_server, assertion=signer)
        assert session.get(api_url, timeout=10).status_code == 200

    assert verified_claims(form_of(token_server)["client_assertion"], signer)[1]["iss"] == token_server.client_id


def test_an_assertion_echoed_by_the_server_is_redacted_from_errors_and_logs(token_server, keys, caplog):
    token_server.echo_assertion = True
    auth = key_auth(token_server, assertion=PrivateKeyJWT(keys["ES256"]))

    with caplog.at_level(logging.DEBUG, logger="tokensmith.client"), pytest.raises(TokenRequestError) as caught:
        auth.get_token()

    assertion = form_of(token_server)["client_assertion"]
    assert caught.value.error == "invalid_client"
    assert "***" in str(caught.value)
    assert assertion not in rendered(caught.value)
    assert assertion not in caplog.text
    assert assertion.split(".")[2] not in caplog.text + rendered(caught.value)


def test_repr_shows_neither_key_nor_assertion(token_server, keys):
    signer = PrivateKeyJWT(keys["RS256"], kid="k1")
    auth = key_auth(token_server, assertion=signer)
    auth.get_token()

    text = repr(auth)
    assert "private_key_jwt" in text and "kid='k1'" in text
    assert form_of(token_server)["client_assertion"] not in text
    assert "PRIVATE KEY" not in text and str(keys["RS256"].private_numbers().d) not in text


# -- platform token (workload identity federation) ---------------------------------------


def test_platform_token_is_sent_as_the_client_assertion_with_the_client_id(token_server, tmp_path):
    path = tmp_path / "token"
    path.write_text(PLATFORM_JWT + "\n")  # kubelet's files need no newline, hand-made ones often have one
    auth = key_auth(token_server, token_server.seed_path, assertion=PlatformToken(path))

    auth.get_token()

    assert auth.auth_method == "federated"
    assert form_of(token_server, token_server.seed_path) == {
        "client_id": token_server.client_id,
        "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
        "client_assertion": PLATFORM_JWT,
    }
    assert "authorization" not in token_server.last(token_server.seed_path).headers


def test_platform_token_file_is_read_again_at_every_renewal(token_server, tmp_path, clock, api_url):
    path = tmp_path / "token"
    path.write_text(PLATFORM_JWT)
    token_server.expires_in = 600
    auth = key_auth(token_server, assertion=PlatformToken(str(path)), clock=clock)

    with httpx.Client(auth=auth) as api:
        api.get(api_url)
        rotated = PLATFORM_JWT.replace("c2lnbmF0dXJl", "cm90YXRlZA")
        path.write_text(rotated)  # the kubelet rotated the projected token on disk
        api.get(api_url)  # the access token is still fresh: no renewal, no read needed
        assert token_server.token_requests == 1
        clock.advance(600)
        api.get(api_url)

    assert token_server.token_requests == 2
    assert form_of(token_server)["client_assertion"] == rotated


@pytest.mark.anyio
async def test_async_client_reads_the_platform_token_too(token_server, tmp_path, api_url):
    path = tmp_path / "token"
    path.write_text(PLATFORM_JWT)
    async with httpx.AsyncClient(auth=key_auth(token_server, assertion=PlatformToken(path))) as api:
        assert (await api.get(api_url)).status_code == 200

    assert form_of(token_server)["client_assertion"] == PLATFORM_JWT


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"", "is empty"),
        (b" \n\t", "is empty"),
        (b"hunter2-not-a-jwt", "does not hold a compact JWT"),
        (b"aGVsbG8.d29y bGQ.c2ln", "does not hold a compact JWT"),
        (b"\xff\xfehunter2", "not ASCII"),
        (b"a" * (MAX_PLATFORM_TOKEN_BYTES + 1), "larger than"),
    ],
)
def test_unusable_platform_token_file_is_a_clear_error_without_its_contents(token_server, tmp_path, content, message):
    path = tmp_path / "token"
    if content is not None:
        path.write_bytes(content)
    auth = key_auth(token_server, assertion=PlatformToken(path))

    with pytest.raises(ClientAssertionError, match=message) as caught:
        auth.get_token()

    assert str(path) in str(caught.value)
    assert "hunter2" not in rendered(caught.value)
    assert token_server.token_requests == 0  # nothing is sent without an assertion


def test_a_directory_instead_of_a_token_file_is_a_clear_error(token_server, tmp_path):
    with pytest.raises(ClientAssertionError, match="is a directory"):
        key_auth(token_server, assertion=PlatformToken(tmp_path)).get_token()


def test_a_platform_token_echoed_by_the_server_is_redacted(token_server, tmp_path, caplog):
    path = tmp_path / "token"
    path.write_text(PLATFORM_JWT)
    token_server.echo_assertion = True

    with caplog.at_level(logging.DEBUG, logger="tokensmith.client"), pytest.raises(TokenRequestError) as caught:
        key_auth(token_server, assertion=PlatformToken(path)).get_token()

    assert PLATFORM_JWT not in rendered(caught.value) + caplog.text
    assert "PlatformToken(path=" in repr(key_auth(token_server, assertion=PlatformToken(path)))


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"client_secret": "s", "assertion": "use-key"}, "not both"),
        ({}, "client_secret or assertion"),
        ({"assertion": "use-key", "auth_method": "client_secret_post"}, "auth_method"),
        ({"assertion": "a-string-is-not-an-assertion"}, "PrivateKeyJWT or a PlatformToken"),
    ],
)
def test_secret_and_assertion_are_mutually_exclusive(keys, options, message):
    if options.get("assertion") == "use-key":
        options["assertion"] = PrivateKeyJWT(keys["ES256"])

    with pytest.raises(ValueError, match=message):
        ClientCredentialsAuth("https://auth.example.com/oauth2/token", "c", **options)


@pytest.mark.parametrize(
    ("make_key", "options", "message"),
    [
        (lambda keys: rsa.generate_private_key(public_exponent=65537, key_size=1024), {}, "2048"),
        (lambda keys: ec.generate_private_key(ec.SECP384R1()), {}, "P-256"),
        (lambda keys: keys["RS256"], {"alg": "ES256"}, "cannot be used with this key"),
        (lambda keys: keys["ES256"], {"alg": "HS256"}, "cannot be used with this key"),
        (lambda keys: keys["EdDSA"], {"alg": "none"}, "cannot be used with this key"),
        (lambda keys: keys["ES256"], {"lifetime": 0}, "lifetime"),
        (lambda keys: keys["ES256"], {"lifetime": 301}, "lifetime"),
        (lambda keys: keys["ES256"], {"kid": ""}, "kid"),
        (lambda keys: keys["ES256"], {"audience": ""}, "audience"),
        (lambda keys: keys["ES256"].public_key(), {}, "private key"),
        (lambda keys: b"-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n", {}, "PEM"),
    ],
)
def test_unusable_keys_and_options_are_refused_at_construction(keys, make_key, options, message):
    with pytest.raises(ValueError, match=message) as caught:
        PrivateKeyJWT(make_key(keys), **options)

    assert "hunter2" not in rendered(caught.value)


def test_encrypted_pem_with_a_wrong_password_is_refused(keys):
    locked = keys["ES256"].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"right"))

    with pytest.raises(ValueError, match="PEM"):
        PrivateKeyJWT(locked, password=b"wrong")


@pytest.mark.parametrize(
    ("token_url", "issuer"),
    [
        ("https://auth.example.com/oauth2/token", "https://auth.example.com"),
        ("https://Auth.Example.com:443/v1/api/oauth/token", "https://auth.example.com"),
        ("http://127.0.0.1:8080/oauth2/token", "http://127.0.0.1:8080"),
        ("http://[::1]:80/oauth2/token", "http://[::1]"),
        ("HTTPS://auth.example.com:8443/tenant/oauth2/token?x=1", "https://auth.example.com:8443"),
    ],
)
def test_default_audience_is_the_token_urls_origin(token_url, issuer):
    assert issuer_of(token_url) == issuer


@pytest.mark.parametrize("token_url", ["/oauth2/token", "ftp://auth.example.com/token"])
def test_default_audience_needs_an_absolute_http_url(keys, token_url):
    with pytest.raises(ValueError, match="absolute http"):
        ClientCredentialsAuth(token_url, "c", assertion=PrivateKeyJWT(keys["ES256"]))
    ClientCredentialsAuth(token_url, "c", assertion=PrivateKeyJWT(keys["ES256"], audience="https://auth.example.com"))


def test_a_missing_platform_token_path_is_not_checked_before_first_use(tmp_path: Path):
    # The kubelet may mount the projected volume after the process starts.
    ClientCredentialsAuth("https://auth.example.com/oauth2/token", "c", assertion=PlatformToken(tmp_path / "later"))


# -- the JWT-bearer grant -------------------------------------------------------------------


def test_jwt_bearer_grant_sends_the_platform_token_as_the_grant(token_server, tmp_path, clock):
    path = tmp_path / "token"
    path.write_text(PLATFORM_JWT)
    token_server.expires_in = 600
    auth = JWTBearerGrantAuth(token_server.url + token_server.standard_path, token_server.client_id, PlatformToken(path), "orders:read", clock=clock)

    auth.get_token()
    rotated = PLATFORM_JWT.replace("c2lnbmF0dXJl", "cm90YXRlZA")
    path.write_text(rotated)
    clock.advance(600)
    auth.get_token()

    assert "authorization" not in token_server.last(token_server.standard_path).headers
    assert form_of(token_server) == {"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": rotated, "client_id": token_server.client_id, "scope": "orders:read"}
    assert repr(auth).startswith("JWTBearerGrantAuth(") and rotated not in repr(auth)


def test_jwt_bearer_grant_carries_a_dpop_proof_when_asked(token_server, tmp_path):
    path = tmp_path / "token"
    path.write_text(PLATFORM_JWT)
    auth = JWTBearerGrantAuth(token_server.url + token_server.standard_path, token_server.client_id, PlatformToken(path), dpop=DPoPKey())

    auth.get_token()

    proof = token_server.last(token_server.standard_path).headers["dpop"]
    assert jws.parse(proof).payload_object()["htm"] == "POST"
    assert form_of(token_server)["grant_type"] == JWT_BEARER_GRANT_TYPE


@pytest.mark.parametrize(
    ("url", "assertion", "options", "message"),
    [
        ("https://auth.example.com/v1/api/oauth/token", "platform", {}, "seed endpoint"),
        ("https://auth.example.com/gateway/token", "platform", {"seed_endpoint": True}, "seed endpoint"),
        ("https://auth.example.com/oauth2/token", "key", {}, "PlatformToken"),
    ],
)
def test_jwt_bearer_grant_refuses_what_it_cannot_send(keys, tmp_path, url, assertion, options, message):
    given = PlatformToken(tmp_path / "token") if assertion == "platform" else PrivateKeyJWT(keys["ES256"])

    with pytest.raises(ValueError, match=message):
        JWTBearerGrantAuth(url, "orders-svc", given, **options)
