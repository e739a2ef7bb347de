"""Workload identity federation and keys by jwks_uri against a real server: a
stand-in cluster (a real HTTPS server on loopback serving OIDC discovery and a JWKS)
issues platform tokens; a federated client gets a token with one and no secret, and
each rule is proven by the token it refuses. Also: a jwks_uri into the internal
network is never fetched."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, jwt_part, oauth_error, seed_error
from tests.outbound.servers import Pki, TestServer, json_route
from tests.support.assertions import ClientKey, assertion, form, jwks
from tests.support.jws import compact
from tests.support.server import Tokensmith

SUBJECT = "system:serviceaccount:orders:api"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class Cluster:
    """A Kubernetes-like issuer: discovery and JWKS over HTTPS, and projected tokens."""

    def __init__(self, pki: Pki) -> None:
        self.key = ClientKey.es256("cluster-1")
        self.server = TestServer(pki.server_context(["127.0.0.1"]))
        self.issuer = self.server.url("")
        self.server.routes["/.well-known/openid-configuration"] = json_route({"issuer": self.issuer, "jwks_uri": self.server.url("/openid/v1/jwks")})
        self.server.routes["/openid/v1/jwks"] = json_route(jwks(self.key))

    def token(self, audience: Any, *, key: ClientKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.issuer, "sub": SUBJECT, "aud": audience, "iat": now, "nbf": now, "exp": now + 3600, "jti": secrets.token_hex(8),
            "kubernetes.io": {"namespace": "orders", "serviceaccount": {"name": "api", "uid": "d6a1"}},
        }  # fmt: skip
        body.update(claims)
        signer = key or self.key
        return compact({"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}, {k: v for k, v in body.items() if v is not None}, signer.sign)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def cluster(pki: Pki) -> Iterator[Cluster]:
    cluster = Cluster(pki)
    yield cluster
    cluster.server.stop()


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Tokensmith]:
    server = Tokensmith(
        tmp_path_factory.mktemp("federation"),
        env_overrides={
            "TOKENSMITH_BRUTEFORCE_ENABLED": "false",
            "TOKENSMITH_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "TOKENSMITH_OUTBOUND_CA_FILE": pki.ca_file,
            "TOKENSMITH_JWKS_MIN_REFRESH_SECONDS": "1",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def federated(tokensmith: Tokensmith, cluster: Cluster) -> str:
    tokensmith.cli("trust", "add", "k8s", "--issuer", cluster.issuer)
    tokensmith.cli("clients", "create", "--client-id", "orders-api", "--scope", "edit", "--auth-method", "federated")
    tokensmith.cli("clients", "federate", "orders-api", "--trust", "k8s", "--subject", SUBJECT, "--condition", "kubernetes.io.namespace=orders")
    tokensmith.cli("clients", "create", "--client-id", "payments-api", "--scope", "edit", "--auth-method", "federated")
    tokensmith.cli("clients", "federate", "payments-api", "--trust", "k8s", "--subject", "system:serviceaccount:payments:api")
    return "orders-api"


def standard(http: httpx.Client, token: str, client_id: str) -> httpx.Response:
    return http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "scope": "edit", **form(token, client_id)})


def test_a_workload_gets_a_token_with_its_platform_token_and_no_secret(http: httpx.Client, tokensmith: Tokensmith, cluster: Cluster, federated: str) -> None:
    token = cluster.token(["https://kubernetes.default.svc", tokensmith.issuer])
    response = standard(http, token, federated)
    assert response.status_code == 200, response.text
    claims = jwt_part(response.json()["access_token"], 1)
    assert claims["client_id"] == federated and claims["sub"] == federated
    # Platform tokens are reused for their lifetime (trust default: max-age from iat).
    assert standard(http, token, federated).status_code == 200
    seed = http.post(f"{SEED_PATH}?scope=edit", data=form(token, federated))
    assert seed.status_code == 200, seed.text
    # The JWT-bearer grant (RFC 7523 §2.1) with the same trust.
    grant = http.post(OAUTH_PATH, data={"grant_type": JWT_BEARER, "assertion": token, "client_id": federated, "scope": "edit"})
    assert grant.status_code == 200, grant.text
    assert jwt_part(grant.json()["access_token"], 1)["client_id"] == federated


def test_a_valid_workload_token_does_not_authenticate_another_client(http: httpx.Client, tokensmith: Tokensmith, cluster: Cluster, federated: str) -> None:
    token = cluster.token(tokensmith.issuer)
    oauth_error(standard(http, token, "payments-api"), error="invalid_client", status=401)
    seed_error(http.post(f"{SEED_PATH}?scope=edit", data=form(token, "payments-api")), code="240101", status=401)
    grant = http.post(OAUTH_PATH, data={"grant_type": JWT_BEARER, "assertion": token, "client_id": "payments-api"})
    oauth_error(grant, error="invalid_client", status=401)


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("unmet condition", {"kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "api"}}}),
        ("wrong subject", {"sub": "system:serviceaccount:orders:other"}),
        ("another audience only", {"aud": "https://kubernetes.default.svc"}),
        ("expired", {"exp": 1_000_000_000}),
        ("older than the trust's max age", {"iat": 1_000_000_000}),
        ("no iat", {"iat": None}),
        ("another issuer", {"iss": "https://evil.example"}),
    ],
)
def test_each_federation_rule_refuses_the_token_that_breaks_it(http: httpx.Client, tokensmith: Tokensmith, cluster: Cluster, federated: str, case: str, claims: dict[str, Any]) -> None:
    token = cluster.token(claims.pop("aud", tokensmith.issuer), **claims)
    oauth_error(standard(http, token, federated), error="invalid_client", status=401)


def test_a_token_signed_by_a_key_the_cluster_does_not_publish_is_refused(http: httpx.Client, tokensmith: Tokensmith, cluster: Cluster, federated: str) -> None:
    for key in (ClientKey.es256("cluster-1"), ClientKey.es256("cluster-2")):
        oauth_error(standard(http, cluster.token(tokensmith.issuer, key=key), federated), error="invalid_client", status=401)
    unsigned = compact({"alg": "none", "kid": "cluster-1"}, jwt_part(cluster.token(tokensmith.issuer), 1), None)
    oauth_error(standard(http, unsigned, federated), error="invalid_client", status=401)


def test_a_single_use_trust_refuses_a_replayed_token(http: httpx.Client, tokensmith: Tokensmith, cluster: Cluster, pki: Pki) -> None:
    tokensmith.cli("trust", "add", "ci", "--issuer", cluster.issuer, "--jwks-uri", cluster.server.url("/openid/v1/jwks"), "--replay", "single-use", "--audience", "tokensmith-ci")
    tokensmith.cli("clients", "create", "--client-id", "deployer", "--scope", "edit", "--auth-method", "federated")
    tokensmith.cli("clients", "federate", "deployer", "--trust", "ci", "--subject", SUBJECT)
    token = cluster.token("tokensmith-ci")
    assert standard(http, token, "deployer").status_code == 200
    oauth_error(standard(http, token, "deployer"), error="invalid_client", status=401)
    # The trust's own audience, not the issuer's, is what its tokens must name.
    oauth_error(standard(http, cluster.token(tokensmith.issuer), "deployer"), error="invalid_client", status=401)


def test_a_trust_whose_keys_are_unreachable_fails_cleanly(http: httpx.Client, tokensmith: Tokensmith, pki: Pki) -> None:
    gone = TestServer(pki.server_context(["127.0.0.1"]))
    issuer = gone.url("")
    gone.stop()
    tokensmith.cli("trust", "add", "gone", "--issuer", issuer)
    tokensmith.cli("clients", "create", "--client-id", "orphan", "--scope", "edit", "--auth-method", "federated")
    tokensmith.cli("clients", "federate", "orphan", "--trust", "gone", "--subject", SUBJECT)
    key = ClientKey.es256("gone-1")
    now = int(time.time())
    token = compact({"alg": "ES256", "kid": "gone-1"}, {"iss": issuer, "sub": SUBJECT, "aud": tokensmith.issuer, "iat": now, "exp": now + 600}, key.sign)
    oauth_error(standard(http, token, "orphan"), error="invalid_client", status=401)
    deadline = time.monotonic() + 10  # the log is written by its own thread
    while not (lines := [line for line in tokensmith.log_lines() if line.get("event") == "verification keys unavailable"]):
        assert time.monotonic() < deadline, "no log line for the unreachable keys"
        time.sleep(0.05)
    assert lines[0]["trust"] == "gone"
    assert token not in tokensmith.log_path.read_text()


def test_a_client_with_keys_at_a_jwks_uri_gets_a_token_and_a_new_key_is_picked_up(http: httpx.Client, tokensmith: Tokensmith, pki: Pki) -> None:
    first, second = ClientKey.es256("uri-1"), ClientKey.rs256("uri-2")
    keys = TestServer(pki.server_context(["127.0.0.1"]), {"/jwks": json_route(jwks(first))})
    try:
        tokensmith.cli("clients", "create", "--client-id", "remote-keys", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-uri", keys.url("/jwks"))
        assert standard(http, assertion(first, "remote-keys", tokensmith.issuer), "remote-keys").status_code == 200
        keys.routes["/jwks"] = json_route(jwks(first, second))
        # The client rotated: an unknown kid refreshes the set, at most once per
        # TOKENSMITH_JWKS_MIN_REFRESH_SECONDS (1 s here) since the last fetch.
        time.sleep(1.2)
        fetched = keys.hits["/jwks"]
        response = standard(http, assertion(second, "remote-keys", tokensmith.issuer), "remote-keys")
        assert response.status_code == 200, response.text
        assert keys.hits["/jwks"] == fetched + 1
        # Known kids are answered from the cached set: no fetch per token.
        for _ in range(3):
            assert standard(http, assertion(first, "remote-keys", tokensmith.issuer), "remote-keys").status_code == 200
        assert keys.hits["/jwks"] == fetched + 1
    finally:
        keys.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Tokensmith]:
    """A server with the default outbound policy: nothing internal may be fetched."""
    server = Tokensmith(tmp_path_factory.mktemp("strict"), env_overrides={"TOKENSMITH_BRUTEFORCE_ENABLED": "false", "TOKENSMITH_OUTBOUND_CA_FILE": pki.ca_file})
    server.start()
    yield server
    server.stop()


def test_a_jwks_uri_into_the_internal_network_is_never_fetched(strict: Tokensmith, pki: Pki, tmp_path: Path) -> None:
    key = ClientKey.es256("k")
    listener = TestServer(pki.server_context(["127.0.0.1", "localhost"]), {"/jwks": json_route(jwks(key))})
    try:
        targets = {"loopback": listener.url("/jwks"), "localhost": listener.url("/jwks", host="localhost"), "private": "https://10.0.0.1/jwks",
                   "metadata": "https://169.254.169.254/latest/jwks", "mapped": f"https://[::ffff:127.0.0.1]:{listener.port}/jwks"}  # fmt: skip
        with httpx.Client(base_url=strict.url) as http:
            for name, uri in targets.items():
                strict.cli("clients", "create", "--client-id", f"ssrf-{name}", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-uri", uri)
                response = standard(http, assertion(key, f"ssrf-{name}", strict.issuer), f"ssrf-{name}")
                oauth_error(response, error="invalid_client", status=401)
        assert listener.connections == 0
    finally:
        listener.stop()
