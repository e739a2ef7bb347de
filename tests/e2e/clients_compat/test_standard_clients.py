"""Ordinary OAuth 2.0 clients and JWT libraries, written by others, work with
tokensmith unchanged: requests-oauthlib, Authlib (httpx, sync and async) and PyJWT."""

from __future__ import annotations

import time
import warnings

import httpx
import jwt
import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidClientError
from requests_oauthlib import OAuth2Session

from tests.support.server import Tokensmith

with warnings.catch_warnings():
    # Authlib announces a future move of its httpx integration; it still works.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]


@pytest.fixture(autouse=True)
def plain_http_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib insists on https; the test server listens on plain-http loopback.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith) -> dict:
    return tokensmith.create_client(
        "compat", "--scope", "read", "--default-scope", "read", "--claim", "firstVisionId=00000AUNAB", "--lifetime", "900",
        scopes=("edit",),
    )


@pytest.fixture(scope="module")
def token_url(tokensmith: Tokensmith) -> str:
    return f"{tokensmith.url}/oauth2/token"


def verify(tokensmith: Tokensmith, access_token: str, audience: str | None = None) -> dict:
    """What a resource server does: fetch the JWKS, pick the key by kid, check everything."""
    signing_key = jwt.PyJWKClient(f"{tokensmith.url}/.well-known/jwks.json").get_signing_key_from_jwt(access_token)
    return jwt.decode(
        access_token,
        signing_key.key,
        algorithms=["RS256"],
        audience=audience or tokensmith.issuer,
        issuer=tokensmith.issuer,
        options={"require": REQUIRED_CLAIMS},
    )


def test_requests_oauthlib_backend_client_gets_a_token(tokensmith: Tokensmith, client: dict, token_url: str) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=client["client_id"], scope=["edit"]))
    token = session.fetch_token(token_url=token_url, client_id=client["client_id"], client_secret=client["client_secret"])
    assert token["token_type"] == "Bearer"
    assert token["scope"] == ["edit"]  # oauthlib splits the scope string
    assert token["expires_in"] == 900
    assert verify(tokensmith, token["access_token"])["scope"] == "edit"


def test_requests_oauthlib_without_a_scope_gets_the_default_scopes(tokensmith: Tokensmith, client: dict, token_url: str) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=client["client_id"]))
    token = session.fetch_token(token_url=token_url, client_id=client["client_id"], client_secret=client["client_secret"])
    assert token["scope"] == ["read"]


def test_requests_oauthlib_wrong_secret_is_an_oauth_error(client: dict, token_url: str) -> None:
    session = OAuth2Session(client=BackendApplicationClient(client_id=client["client_id"]))
    with pytest.raises(InvalidClientError):
        session.fetch_token(token_url=token_url, client_id=client["client_id"], client_secret="tks_wrong")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_httpx_client_gets_a_token(tokensmith: Tokensmith, client: dict, token_url: str, method: str) -> None:
    with OAuth2Client(client["client_id"], client["client_secret"], scope="edit read", token_endpoint_auth_method=method) as oauth:
        token = oauth.fetch_token(token_url, grant_type="client_credentials")
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "edit read"
        assert token["expires_in"] == 900
        assert token["expires_at"] >= int(time.time()) + 890
        # The client then uses the token on a request of its own.
        response = oauth.get(f"{tokensmith.url}/healthz")
    assert response.request.headers["authorization"] == f"Bearer {token['access_token']}"
    assert verify(tokensmith, token["access_token"])["scope"] == "edit read"


def test_authlib_async_client_gets_a_token(tokensmith: Tokensmith, client: dict, token_url: str) -> None:
    import asyncio

    async def fetch() -> dict:
        async with AsyncOAuth2Client(client["client_id"], client["client_secret"], scope="edit") as oauth:
            return dict(await oauth.fetch_token(token_url, grant_type="client_credentials"))

    token = asyncio.run(fetch())
    assert token["scope"] == "edit" and token["expires_in"] == 900
    assert verify(tokensmith, token["access_token"])["client_id"] == client["client_id"]


def test_pyjwt_verifies_the_rfc_9068_token(tokensmith: Tokensmith, http: httpx.Client, client: dict) -> None:
    response = http.post("/oauth2/token", data={"grant_type": "client_credentials", "scope": "edit"}, auth=(client["client_id"], client["client_secret"]))
    access_token = response.json()["access_token"]
    header = jwt.get_unverified_header(access_token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    claims = verify(tokensmith, access_token)
    assert claims["iss"] == tokensmith.issuer
    assert claims["sub"] == claims["client_id"] == "compat"
    assert claims["aud"] == tokensmith.issuer
    assert claims["scope"] == "edit"
    assert claims["exp"] - claims["iat"] == 900
    assert abs(claims["iat"] - time.time()) < 300  # a sanity bound on the clock, not a timing check
    assert claims["firstVisionId"] == "00000AUNAB"


def test_pyjwt_rejects_the_token_for_another_audience(tokensmith: Tokensmith, http: httpx.Client, client: dict) -> None:
    response = http.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client["client_id"], client["client_secret"]))
    with pytest.raises(jwt.InvalidAudienceError):
        verify(tokensmith, response.json()["access_token"], audience="https://some-other-api.example")


def test_requested_resource_becomes_the_audience(tokensmith: Tokensmith, http: httpx.Client) -> None:
    target = tokensmith.create_client("targeted", "--audience", "https://api.example/payments")
    response = http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "resource": "https://api.example/payments"},
        auth=(target["client_id"], target["client_secret"]),
    )
    assert response.status_code == 200
    assert verify(tokensmith, response.json()["access_token"], audience="https://api.example/payments")["aud"] == "https://api.example/payments"


def test_seed_endpoint_token_verifies_the_same_way(tokensmith: Tokensmith, http: httpx.Client, client: dict) -> None:
    body = http.post("/v1/api/oauth/token?scope=edit", auth=(client["client_id"], client["client_secret"])).json()
    claims = verify(tokensmith, body["access_token"])
    assert body["expires_in"] == claims["exp"]


def test_metadata_names_the_issuer_and_a_working_jwks_uri(tokensmith: Tokensmith, http: httpx.Client) -> None:
    metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == tokensmith.issuer
    assert metadata["token_endpoint"] == f"{tokensmith.issuer}/oauth2/token"
    assert "client_credentials" in metadata["grant_types_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(metadata["token_endpoint_auth_methods_supported"])
    jwks = httpx.get(metadata["jwks_uri"], timeout=10)
    assert jwks.status_code == 200
    assert jwks.json()["keys"]


def test_jwks_keys_have_kid_alg_and_use_sig_and_no_private_parts(http: httpx.Client) -> None:
    keys = http.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) >= 2  # the active key and the next one
    assert len({key["kid"] for key in keys}) == len(keys)
    for key in keys:
        assert key["kid"] and key["alg"] == "RS256" and key["use"] == "sig" and key["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
        jwt.PyJWK(key)  # PyJWT accepts every published key
