"""The SDK without a secret, against a real `tokensmith serve`: private_key_jwt with
each key type at both token endpoints, and a workload's platform token (a stand-in
Kubernetes service-account token) read from its file at every renewal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.support.assertion_clients import PlatformIssuer, create_key_client, require_federation, require_private_key_jwt, write_jwks
from tests.support.server import Tokensmith
from tokensmith.client import ClientAssertionError, ClientCredentialsAuth, DPoPKey, TokenRequestError
from tokensmith.client.assertions import PlatformToken, PrivateKeyJWT
from tokensmith.client.jwt_bearer import JWTBearerGrantAuth


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"RS256": rsa_key, "PS256": rsa_key, "ES256": ec.generate_private_key(ec.SECP256R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate()}


@pytest.fixture
def key_support(tokensmith: Tokensmith) -> None:
    require_private_key_jwt(tokensmith)


@pytest.fixture
def federation_support(tokensmith: Tokensmith) -> None:
    require_federation(tokensmith)


def access_claims(tokensmith: Tokensmith, access_token: str) -> dict[str, Any]:
    """What a resource server checks: signature by the published key, issuer, audience."""
    key = jwt.PyJWKClient(f"{tokensmith.url}/.well-known/jwks.json").get_signing_key_from_jwt(access_token).key
    return jwt.decode(access_token, key, algorithms=["RS256"], audience=tokensmith.issuer, issuer=tokensmith.issuer)


def sdk(tokensmith: Tokensmith, client_id: str, assertion: PrivateKeyJWT | PlatformToken, path: str = "/oauth2/token", **options: Any) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(f"{tokensmith.url}{path}", client_id, assertion=assertion, **options)


# -- private_key_jwt ----------------------------------------------------------------------


@pytest.mark.usefixtures("key_support")
@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_private_key_jwt_client_gets_a_token_with_each_key_type(tokensmith: Tokensmith, keys: dict[str, Any], alg: str) -> None:
    signer = PrivateKeyJWT(keys[alg], alg=alg)
    create_key_client(tokensmith, f"keyed-{alg.lower()}", signer.public_jwk())
    auth = sdk(tokensmith, f"keyed-{alg.lower()}", signer, scope="edit")

    claims = access_claims(tokensmith, auth.get_token())

    assert claims["client_id"] == claims["sub"] == f"keyed-{alg.lower()}"
    assert claims["scope"] == "edit"


@pytest.mark.usefixtures("key_support")
def test_each_renewal_signs_a_new_assertion_the_server_accepts(tokensmith: Tokensmith, keys: dict[str, Any]) -> None:
    # The server refuses a jti it has seen: three accepted renewals prove three fresh assertions.
    signer = PrivateKeyJWT(keys["ES256"])
    create_key_client(tokensmith, "renewing", signer.public_jwk())
    auth = sdk(tokensmith, "renewing", signer)
    tokens = []
    for _ in range(3):
        auth.invalidate()
        tokens.append(auth.get_token())

    assert len(set(tokens)) == 3
    assert all(access_claims(tokensmith, token)["client_id"] == "renewing" for token in tokens)


@pytest.mark.usefixtures("key_support")
def test_seed_endpoint_takes_the_assertion_as_its_form_body(tokensmith: Tokensmith, keys: dict[str, Any]) -> None:
    signer = PrivateKeyJWT(keys["RS256"], kid="seed-key")
    create_key_client(tokensmith, "seed-keyed", signer.public_jwk())
    auth = sdk(tokensmith, "seed-keyed", signer, "/v1/api/oauth/token", scope="edit")

    token = auth.get_token()

    assert access_claims(tokensmith, token)["scope"] == "edit"


@pytest.mark.usefixtures("key_support")
def test_requests_and_async_httpx_callers_authenticate_with_a_key(tokensmith: Tokensmith, keys: dict[str, Any]) -> None:
    import asyncio

    signer = PrivateKeyJWT(keys["EdDSA"])
    create_key_client(tokensmith, "keyed-callers", signer.public_jwk())
    # The API here is tokensmith's own introspection-free health route: what matters is
    # that a token was fetched and attached.
    with requests.Session() as session:
        session.auth = sdk(tokensmith, "keyed-callers", signer)
        sent = session.get(f"{tokensmith.url}/healthz", timeout=10).request.headers["Authorization"]
    assert access_claims(tokensmith, sent.removeprefix("Bearer "))["client_id"] == "keyed-callers"

    async def fetch() -> str:
        async with httpx.AsyncClient(auth=sdk(tokensmith, "keyed-callers", signer)) as api:
            return (await api.get(f"{tokensmith.url}/healthz")).request.headers["Authorization"]

    assert access_claims(tokensmith, asyncio.run(fetch()).removeprefix("Bearer "))["client_id"] == "keyed-callers"


@pytest.mark.usefixtures("key_support")
@pytest.mark.parametrize("path", ["/oauth2/token", "/v1/api/oauth/token"])
def test_a_key_the_client_does_not_hold_is_refused_as_invalid_client(tokensmith: Tokensmith, keys: dict[str, Any], path: str) -> None:
    registered = PrivateKeyJWT(keys["ES256"], kid="the-key")
    impostor = PrivateKeyJWT(ec.generate_private_key(ec.SECP256R1()), kid="the-key")
    create_key_client(tokensmith, f"impersonated{path.count('/')}", registered.public_jwk())

    with pytest.raises(TokenRequestError) as caught:
        sdk(tokensmith, f"impersonated{path.count('/')}", impostor, path, scope="edit").get_token()

    assert caught.value.status_code == 401
    if path == "/oauth2/token":
        assert caught.value.error == "invalid_client"


@pytest.mark.usefixtures("key_support")
def test_an_audience_other_than_the_issuer_is_refused(tokensmith: Tokensmith, keys: dict[str, Any]) -> None:
    signer = PrivateKeyJWT(keys["ES256"], audience="https://some-other-server.example")
    create_key_client(tokensmith, "wrong-audience", signer.public_jwk())

    with pytest.raises(TokenRequestError) as caught:
        sdk(tokensmith, "wrong-audience", signer).get_token()

    assert (caught.value.status_code, caught.value.error) == (401, "invalid_client")


# -- workload identity federation -----------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> PlatformIssuer:
    return PlatformIssuer()


@pytest.fixture
def orders_svc(tokensmith: Tokensmith, cluster: PlatformIssuer, federation_support: None) -> Iterator[str]:
    """orders-svc, bound to the orders namespace's service account of the cluster."""
    if tokensmith.cli("trust", "show", "k8s", check=False).returncode != 0:
        jwks_file = write_jwks(tokensmith.workdir / "cluster.jwks.json", cluster.jwk())
        tokensmith.cli("trust", "add", "k8s", "--issuer", cluster.issuer, "--jwks-file", str(jwks_file))
    if tokensmith.cli("clients", "show", "orders-svc", check=False).returncode != 0:
        tokensmith.create_client("orders-svc", "--auth-method", "federated")
        tokensmith.cli(
            "clients", "federate", "orders-svc", "--trust", "k8s",
            "--subject", "system:serviceaccount:orders:orders-svc", "--condition", "kubernetes.io.namespace=orders",
        )
    yield "orders-svc"


def test_workload_gets_a_token_with_its_projected_service_account_token(
    tokensmith: Tokensmith, cluster: PlatformIssuer, orders_svc: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokensmith"
    token_file.write_text(cluster.service_account_token(audience=tokensmith.issuer))
    auth = sdk(tokensmith, orders_svc, PlatformToken(token_file), scope="edit")

    claims = access_claims(tokensmith, auth.get_token())

    assert claims["client_id"] == orders_svc


def test_the_rotated_token_file_is_what_the_next_renewal_sends(
    tokensmith: Tokensmith, cluster: PlatformIssuer, orders_svc: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokensmith"
    auth = sdk(tokensmith, orders_svc, PlatformToken(token_file), "/v1/api/oauth/token", scope="edit")
    token_file.write_text(cluster.service_account_token(audience=tokensmith.issuer))
    first = auth.get_token()

    # The kubelet rotates the file; a token from another namespace now sits there, so
    # only a re-read file explains the refusal that follows.
    token_file.write_text(cluster.service_account_token(audience=tokensmith.issuer, namespace="billing", name="orders-svc"))
    auth.invalidate()
    with pytest.raises(TokenRequestError) as caught:
        auth.get_token()
    assert caught.value.status_code == 401

    token_file.write_text(cluster.service_account_token(audience=tokensmith.issuer))
    second = auth.get_token()
    assert first != second
    assert access_claims(tokensmith, second)["client_id"] == orders_svc


def test_a_platform_token_for_another_audience_is_refused(
    tokensmith: Tokensmith, cluster: PlatformIssuer, orders_svc: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokensmith"
    token_file.write_text(cluster.service_account_token(audience="https://vault.example"))

    with pytest.raises(TokenRequestError) as caught:
        sdk(tokensmith, orders_svc, PlatformToken(token_file)).get_token()

    assert (caught.value.status_code, caught.value.error) == (401, "invalid_client")


def test_the_jwt_bearer_grant_takes_the_same_platform_token(
    tokensmith: Tokensmith, cluster: PlatformIssuer, orders_svc: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokensmith"
    token_file.write_text(cluster.service_account_token(audience=tokensmith.issuer))
    auth = JWTBearerGrantAuth(f"{tokensmith.url}/oauth2/token", orders_svc, PlatformToken(token_file), "edit")

    claims = access_claims(tokensmith, auth.get_token())

    assert (claims["client_id"], claims["scope"]) == (orders_svc, "edit")


def test_the_jwt_bearer_grant_with_dpop_gets_a_token_bound_to_the_key(
    tokensmith: Tokensmith, cluster: PlatformIssuer, orders_svc: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "tokensmith"
    token_file.write_text(cluster.service_account_token(audience=tokensmith.issuer))
    key = DPoPKey()
    auth = JWTBearerGrantAuth(f"{tokensmith.url}/oauth2/token", orders_svc, PlatformToken(token_file), "edit", dpop=key)

    claims = access_claims(tokensmith, auth.get_token())

    assert claims["client_id"] == orders_svc
    assert claims["cnf"]["jkt"] == key.jkt


def test_a_missing_token_file_fails_before_any_request(tokensmith: Tokensmith, tmp_path: Path) -> None:
    with pytest.raises(ClientAssertionError, match="does not exist"):
        sdk(tokensmith, "orders-svc", PlatformToken(tmp_path / "not-mounted-yet")).get_token()
