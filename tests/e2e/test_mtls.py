"""Mutual TLS (RFC 8705) against real servers with certificates made here: a
`tokensmith serve --tls-cert --tls-key --tls-client-ca` HTTPS listener, and a plain
HTTP one behind a "proxy" (loopback, TOKENSMITH_TRUSTED_PROXIES) that forwards the
client certificate in the RFC 9440 Client-Cert field.

tls_client_auth with the right certificate gets a token bound to it (cnf x5t#S256);
another certificate of the same CA, a certificate of another CA, none, or a
Client-Cert from a sender that is not a trusted proxy gets none."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, basic, jwt_part, oauth_error, seed_error
from tests.support.assertions import ClientKey, assertion, form, jwks_file
from tests.support.certificates import CA, Issued, self_signed
from tests.support.server import Tokensmith
from tokensmith.client import ClientCertificate, ClientCredentialsAuth, TokenRequestError
from tokensmith.verify import InvalidToken, TokenVerifier
from tokensmith.verify.asgi import BearerAuthMiddleware


@dataclass
class PKI:
    client_ca: CA
    other_ca: CA
    server_ca: CA
    server: Issued
    right: Issued  # CN=svc,O=Example, SAN dns svc.example, uri spiffe://example/svc
    wrong_dn: Issued  # same CA, CN=intruder,O=Example
    foreign: Issued  # another CA, the right DN
    self_signed: Issued
    stranger: Issued  # self-signed, a key no client registered


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    directory = tmp_path_factory.mktemp("pki")
    client_ca, other_ca, server_ca = CA.make(directory, "Client CA"), CA.make(directory, "Other CA"), CA.make(directory, "Server CA")
    return PKI(
        client_ca=client_ca,
        other_ca=other_ca,
        server_ca=server_ca,
        server=server_ca.issue("server", "CN=localhost", dns=("localhost",), server=True),
        right=client_ca.issue("right", "CN=svc,O=Example", dns=("svc.example",), uris=("spiffe://example/svc",)),
        wrong_dn=client_ca.issue("wrong", "CN=intruder,O=Example", dns=("intruder.example",)),
        foreign=other_ca.issue("foreign", "CN=svc,O=Example", dns=("svc.example",)),
        self_signed=self_signed(directory, "self", "CN=self"),
        stranger=self_signed(directory, "stranger", "CN=self"),
    )


def _jwks(directory: Path, *certificates: Issued) -> str:
    path = directory / "certificate-keys.json"
    path.write_text(json.dumps({"keys": [issued.jwk(f"k{number}") for number, issued in enumerate(certificates)]}))
    return str(path)


# The secrets of each server's secret clients, by (store directory, client id).
SECRETS: dict[tuple[Path, str], str] = {}


def _register(server: Tokensmith, pki: PKI, directory: Path) -> None:
    server.create_client("by-dn", "--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=svc,O=Example")
    server.create_client("by-dns", "--auth-method", "tls_client_auth", "--tls-san-dns", "SVC.example")
    server.create_client("by-uri", "--auth-method", "tls_client_auth", "--tls-san-uri", "spiffe://example/svc")
    server.create_client("self", "--auth-method", "self_signed_tls_client_auth", "--jwks-file", _jwks(directory, pki.self_signed))
    for client_id, extra in (("bearer", ()), ("bound", ("--token-binding", "mtls"))):
        SECRETS[server.workdir, client_id] = server.create_client(client_id, *extra)["client_secret"]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> Iterator[Tokensmith]:
    server = Tokensmith(tmp_path_factory.mktemp("mtls"), server_ca=pki.server_ca.path)
    _register(server, pki, server.workdir)
    server.start("--tls-cert", str(pki.server.cert_path), "--tls-key", str(pki.server.key_path), "--tls-client-ca", str(pki.client_ca.path))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> Iterator[Tokensmith]:
    """Plain HTTP behind a TLS-terminating proxy: loopback is the trusted proxy."""
    env = {
        "TOKENSMITH_TRUSTED_PROXIES": "127.0.0.1/32",
        "TOKENSMITH_TLS_CLIENT_CA": str(pki.client_ca.path),
        "TOKENSMITH_ASSERTION_AUDIENCE_TOKEN_ENDPOINT": "true",  # allowed, except to fapi2 clients
    }
    server = Tokensmith(tmp_path_factory.mktemp("mtls-proxied"), env_overrides=env)
    _register(server, pki, server.workdir)
    keys = str(jwks_file(server.workdir, SIGNER))
    for client_id, profile in (("fapi", "fapi2"), ("signer", "none")):
        server.create_client(
            client_id, "--auth-method", "private_key_jwt", "--jwks-file", keys, "--token-binding", "mtls", "--profile", profile, "--lifetime", "600"
        )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def untrusting(tmp_path_factory: pytest.TempPathFactory, pki: PKI) -> Iterator[Tokensmith]:
    """Plain HTTP with the client CA but no trusted proxy: every Client-Cert is a client's."""
    server = Tokensmith(tmp_path_factory.mktemp("mtls-untrusting"), env_overrides={"TOKENSMITH_TLS_CLIENT_CA": str(pki.client_ca.path)})
    _register(server, pki, server.workdir)
    server.start()
    yield server
    server.stop()


def tls_client(server: Tokensmith, certificate: Issued | None = None) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(server.server_ca))
    if certificate is not None:
        context.load_cert_chain(*certificate.pair)
    return httpx.Client(base_url=server.url, verify=context, timeout=10)


def token(http: httpx.Client, client_id: str | None, headers: dict[str, str] | None = None, **fields: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "scope": "edit", **fields}
    if client_id is not None:
        form["client_id"] = client_id
    return http.post(OAUTH_PATH, data=form, headers=headers or {})


def bound_to(response: httpx.Response, certificate: Issued) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"  # RFC 8705 §3: a bound token is still presented as Bearer
    claims = jwt_part(body["access_token"], 1)
    assert claims["cnf"] == {"x5t#S256": certificate.thumbprint}
    return claims


def refused(response: httpx.Response) -> None:
    oauth_error(response, error="invalid_client", status=401)


# -- over tokensmith's own TLS listener -------------------------------------------------


def test_the_registered_certificate_gets_a_token_bound_to_it(tls_server: Tokensmith, pki: PKI) -> None:
    with tls_client(tls_server, pki.right) as http:
        for client_id in ("by-dn", "by-dns", "by-uri"):
            claims = bound_to(token(http, client_id), pki.right)
            assert claims["client_id"] == client_id
        seed = http.post(f"{SEED_PATH}?scope=edit", data={"client_id": "by-dn"})
        assert seed.status_code == 200, seed.text
        assert jwt_part(seed.json()["access_token"], 1)["cnf"] == {"x5t#S256": pki.right.thumbprint}


def test_another_certificate_of_the_same_ca_is_refused(tls_server: Tokensmith, pki: PKI) -> None:
    with tls_client(tls_server, pki.wrong_dn) as http:
        for client_id in ("by-dn", "by-dns", "by-uri"):
            refused(token(http, client_id))
        seed_error(http.post(f"{SEED_PATH}?scope=edit", data={"client_id": "by-dn"}), code="240101", status=401)


def test_no_certificate_is_refused(tls_server: Tokensmith) -> None:
    with tls_client(tls_server) as http:
        refused(token(http, "by-dn"))
        refused(token(http, "self"))


def test_a_certificate_of_another_ca_fails_the_handshake(tls_server: Tokensmith, pki: PKI) -> None:
    # The listener verifies chains against --tls-client-ca (CERT_OPTIONAL): an
    # unknown CA's certificate, or a self-signed one, never reaches the application.
    for certificate in (pki.foreign, pki.self_signed):
        with tls_client(tls_server, certificate) as http, pytest.raises(httpx.TransportError):
            token(http, "by-dn")


def test_a_client_cert_field_from_a_client_counts_as_nothing(tls_server: Tokensmith, untrusting: Tokensmith, pki: PKI) -> None:
    forged = {"Client-Cert": pki.right.client_cert_field}
    with tls_client(tls_server) as http:
        refused(token(http, "by-dn", forged))
        assert token(http, "bearer", forged, client_secret=_secret(tls_server, "bearer")).status_code == 200
    with httpx.Client(base_url=untrusting.url, timeout=10) as http:
        refused(token(http, "by-dn", forged))
        # Nor does it bind: a client bound to mTLS that sends only the field gets no token.
        response = token(http, None, {**forged, "Authorization": basic("bound", _secret(untrusting, "bound"))})
        oauth_error(response, error="invalid_request", status=400)


def test_bearer_clients_keep_working_over_tls(tls_server: Tokensmith, pki: PKI) -> None:
    for certificate in (None, pki.right):
        with tls_client(tls_server, certificate) as http:
            response = token(http, None, {"Authorization": basic("bearer", _secret(tls_server, "bearer"))})
            assert response.status_code == 200, response.text
            assert "cnf" not in jwt_part(response.json()["access_token"], 1)  # a certificate alone does not bind


def test_a_client_bound_to_mtls_needs_a_certificate(tls_server: Tokensmith, pki: PKI) -> None:
    auth = {"Authorization": basic("bound", _secret(tls_server, "bound"))}
    with tls_client(tls_server, pki.right) as http:
        claims = bound_to(token(http, None, auth), pki.right)
        introspected = http.post(
            "/oauth2/introspect", data={"token": _token_of(http, auth)}, headers={"Authorization": basic("bearer", _secret(tls_server, "bearer"))}
        ).json()
        assert introspected["active"] is True and introspected["cnf"] == claims["cnf"]  # RFC 8705 §3.2
    with tls_client(tls_server) as http:
        error = oauth_error(token(http, None, auth), error="invalid_request", status=400)
        assert "certificate" in error["error_description"]


def test_introspection_and_revocation_take_the_certificate_too(tls_server: Tokensmith, pki: PKI) -> None:
    with tls_client(tls_server, pki.right) as http:
        issued = token(http, "by-dn").json()["access_token"]
        answer = http.post("/oauth2/introspect", data={"token": issued, "client_id": "by-dn"})
        assert answer.status_code == 200 and answer.json()["cnf"] == {"x5t#S256": pki.right.thumbprint}
        assert http.post("/oauth2/revoke", data={"token": issued, "client_id": "by-dn"}).status_code == 200
    with tls_client(tls_server, pki.wrong_dn) as http:
        refused(http.post("/oauth2/introspect", data={"token": issued, "client_id": "by-dn"}))


def test_metadata_announces_certificate_bound_tokens(tls_server: Tokensmith) -> None:
    with tls_client(tls_server) as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    for endpoint in ("token", "introspection", "revocation"):
        assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(metadata[f"{endpoint}_endpoint_auth_methods_supported"])
    assert "mtls_endpoint_aliases" not in metadata  # the same endpoints serve mTLS


# -- behind a trusted proxy (Client-Cert, RFC 9440) --------------------------------------


def test_a_trusted_proxys_client_cert_authenticates_and_binds(proxied: Tokensmith, pki: PKI) -> None:
    with httpx.Client(base_url=proxied.url, timeout=10) as http:
        bound_to(token(http, "by-dn", {"Client-Cert": pki.right.client_cert_field}), pki.right)
        bound_to(token(http, "self", {"Client-Cert": pki.self_signed.client_cert_field}), pki.self_signed)


def test_through_the_proxy_the_chain_and_the_key_are_still_checked(proxied: Tokensmith, pki: PKI) -> None:
    with httpx.Client(base_url=proxied.url, timeout=10) as http:
        refused(token(http, "by-dn", {"Client-Cert": pki.foreign.client_cert_field}))  # another CA
        refused(token(http, "by-dn", {"Client-Cert": pki.wrong_dn.client_cert_field}))
        refused(token(http, "by-dn", {"Client-Cert": pki.self_signed.client_cert_field}))  # no chain at all
        refused(token(http, "self", {"Client-Cert": pki.stranger.client_cert_field}))  # same DN, another key
        refused(token(http, "self", {"Client-Cert": pki.right.client_cert_field}))
        refused(token(http, "by-dn"))
        # Two fields (a proxy that appended instead of replacing) are no certificate.
        two = [("Client-Cert", pki.right.client_cert_field), ("Client-Cert", pki.right.client_cert_field)]
        refused(http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": "by-dn"}, headers=two))
        refused(token(http, "by-dn", {"Client-Cert": pki.right.client_cert_field.strip(":")}))  # not a byte sequence


SIGNER = ClientKey.es256("fapi-key")


# -- the SDK -------------------------------------------------------------------------------


def test_the_sdk_authenticates_with_its_certificate_and_binds_to_it(tls_server: Tokensmith, pki: PKI) -> None:
    certificate = ClientCertificate(pki.right.cert_path, pki.right.key_path, ca_file=pki.server_ca.path)
    token_url = f"{tls_server.url}{OAUTH_PATH}"
    auth = ClientCredentialsAuth(token_url, "by-dn", certificate=certificate)
    assert jwt_part(auth.get_token(), 1)["cnf"] == {"x5t#S256": pki.right.thumbprint}
    # Beside a secret, the certificate only binds (a client registered --token-binding mtls).
    beside = ClientCredentialsAuth(token_url, "bound", _secret(tls_server, "bound"), certificate=certificate)
    assert jwt_part(beside.get_token(), 1)["cnf"] == {"x5t#S256": pki.right.thumbprint}
    # Async, and another certificate of the CA: refused.
    import anyio

    wrong = ClientCredentialsAuth(token_url, "by-dn", certificate=ClientCertificate(*pki.wrong_dn.pair, ca_file=pki.server_ca.path))
    with pytest.raises(TokenRequestError, match="invalid_client"):
        anyio.run(wrong.aget_token)
    fresh = ClientCredentialsAuth(token_url, "by-dn", certificate=certificate)
    assert jwt_part(anyio.run(fresh.aget_token), 1)["cnf"] == {"x5t#S256": pki.right.thumbprint}
    # requests' cert= and verify= for API calls over the same certificate.
    import requests

    answer = requests.get(f"{tls_server.url}/.well-known/oauth-authorization-server", cert=certificate.requests_cert, verify=certificate.requests_verify, timeout=10)
    assert answer.status_code == 200


def test_a_fapi2_clients_assertion_must_name_the_issuer_alone(proxied: Tokensmith, pki: PKI) -> None:
    endpoint = f"{proxied.issuer}{OAUTH_PATH}"
    with httpx.Client(base_url=proxied.url, timeout=10, headers={"Client-Cert": pki.right.client_cert_field}) as http:
        for client_id in ("fapi", "signer"):
            bound_to(token(http, None, **form(assertion(SIGNER, client_id, proxied.issuer))), pki.right)
        # The token endpoint's URL is accepted by the server's setting, but not for fapi2 (FAPI 2.0 §5.3.2.1).
        bound_to(token(http, None, **form(assertion(SIGNER, "signer", endpoint))), pki.right)
        refused(token(http, None, **form(assertion(SIGNER, "fapi", endpoint))))


# -- registration ------------------------------------------------------------------------


def _secret(server: Tokensmith, client_id: str) -> str:
    return SECRETS[server.workdir, client_id]


def _token_of(http: httpx.Client, headers: dict[str, str]) -> str:
    response = token(http, None, headers)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--profile", "fapi2", "--token-binding", "mtls"), "needs private_key_jwt, tls_client_auth or self_signed_tls_client_auth"),
        (("--profile", "fapi2", "--auth-method", "tls_client_auth", "--tls-san-dns", "a.example", "--lifetime", "300"), "sender-constrained"),
        (("--profile", "fapi2", "--auth-method", "tls_client_auth", "--tls-san-dns", "a.example", "--token-binding", "mtls"), "at most 600 seconds"),
        (("--profile", "fapi2", "--auth-method", "tls_client_auth", "--tls-san-dns", "a.example", "--token-binding", "dpop",
          "--lifetime", "00:00 Europe/Paris"), "at most 600 seconds"),
        (("--auth-method", "tls_client_auth",), "exactly one of"),
        (("--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=a", "--tls-san-dns", "a.example"), "exactly one of"),
        (("--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=a, O=b"), "not an RFC 4514"),
        (("--tls-san-uri", "spiffe://x"), "only a tls_client_auth client"),
        (("--auth-method", "self_signed_tls_client_auth",), "needs its keys"),
    ],
)  # fmt: skip
def test_registration_refuses_a_client_that_cannot_meet_its_rules(tmp_path: Path, args: tuple[str, ...], reason: str) -> None:
    server = Tokensmith(tmp_path)
    result = server.cli("clients", "create", "--client-id", "c", "--scope", "edit", *args, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], result.stderr
    assert server.cli("clients", "show", "c", check=False).returncode != 0  # nothing saved


def test_a_fapi2_client_that_meets_the_profile_is_saved_and_kept_to_it(tmp_path: Path) -> None:
    server = Tokensmith(tmp_path)
    created = server.create_client(
        "fapi", "--profile", "fapi2", "--auth-method", "tls_client_auth", "--tls-subject-dn", "CN=fapi", "--token-binding", "mtls", "--lifetime", "600"
    )
    assert (created["profile"], created["token_binding"], created["tls_subject_dn"]) == ("fapi2", "mtls", "CN=fapi")
    result = server.cli("clients", "update", "fapi", "--lifetime", "3600", check=False)
    assert result.returncode != 0 and "at most 600 seconds" in result.stderr
    result = server.cli("clients", "update", "fapi", "--token-binding", "none", check=False)
    assert result.returncode != 0 and "sender-constrained" in result.stderr
    moved = json.loads(server.cli("clients", "update", "fapi", "--tls-san-dns", "fapi.example", "--json").stdout)
    assert (moved["tls_subject_dn"], moved["tls_san_dns"]) == (None, ["fapi.example"])
    # The audit log records what the certificate subject was and became.
    [changed, created] = json.loads(server.cli("audit", "list", "--json", "--subject", "fapi").stdout)[:2]
    assert changed["details"]["changes"]["tls_subject_dn"] == {"from": "CN=fapi", "to": None}
    assert created["details"]["client"]["profile"] == "fapi2" and created["details"]["client"]["token_binding"] == "mtls"


# -- the verifier (tokensmith.verify) ---------------------------------------------------


def _verifier(server: Tokensmith, audience: str) -> TokenVerifier:
    return TokenVerifier(server.issuer, audience, http_client=httpx.Client(verify=server.verify, timeout=10), async_http_client=httpx.AsyncClient(verify=server.verify, timeout=10))


def test_the_verifier_accepts_a_bound_token_only_with_its_certificate(tls_server: Tokensmith, pki: PKI) -> None:
    with tls_client(tls_server, pki.right) as http:
        bound = token(http, "by-dn").json()["access_token"]
        bearer = token(http, None, {"Authorization": basic("bearer", _secret(tls_server, "bearer"))}).json()["access_token"]
    verifier = _verifier(tls_server, jwt_part(bound, 1)["aud"])
    assert verifier.verify(bound, "edit", client_certificate=pki.right.der)["cnf"] == {"x5t#S256": pki.right.thumbprint}
    for presented in (None, pki.wrong_dn.der, pki.foreign.der):
        # Twice: the second time the token comes from the verified-token cache.
        for _ in range(2):
            with pytest.raises(InvalidToken, match="client certificate"):
                verifier.verify(bound, "edit", client_certificate=presented)
    assert verifier.verify(bearer, client_certificate=None)["client_id"] == "bearer"  # a bearer token needs none
    assert verifier.verify(bearer, client_certificate=pki.right.der)["client_id"] == "bearer"


def test_the_asgi_middleware_reads_the_tls_extension_and_trusted_proxies_only(tls_server: Tokensmith, pki: PKI) -> None:
    import anyio

    with tls_client(tls_server, pki.right) as http:
        bound = token(http, "by-dn").json()["access_token"]
    verifier = _verifier(tls_server, jwt_part(bound, 1)["aud"])

    async def api(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = BearerAuthMiddleware(api, verifier, trusted_proxies=["10.0.0.1/32"])

    def status(peer: str, headers: list[tuple[bytes, bytes]], tls: dict[str, Any] | None = None) -> int:
        scope: dict[str, Any] = {
            "type": "http", "method": "GET", "path": "/orders", "query_string": b"", "client": (peer, 5000),
            "headers": [(b"authorization", f"Bearer {bound}".encode()), *headers],
        }  # fmt: skip
        if tls is not None:
            scope["extensions"] = {"tls": tls}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        anyio.run(middleware, scope, receive, send)
        return int(sent[0]["status"])

    field = [(b"client-cert", pki.right.client_cert_field.encode())]
    assert status("192.0.2.7", [], {"client_cert_der": pki.right.der}) == 200  # tokensmith's protocol
    assert status("192.0.2.7", [], {"client_cert_chain": [ssl.DER_cert_to_PEM_cert(pki.right.der)]}) == 200  # the ASGI spec's
    assert status("192.0.2.7", [], {"client_cert_der": pki.wrong_dn.der}) == 401
    assert status("192.0.2.7", []) == 401
    assert status("10.0.0.1", field) == 200  # a trusted proxy's Client-Cert
    assert status("192.0.2.7", field) == 401  # anyone else's counts as nothing
    assert status("10.0.0.1", [], {"client_cert_der": pki.right.der}) == 401  # the proxy's own connection is not the client's
    assert status("10.0.0.1", field + field) == 401


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path, pki: PKI) -> None:
    server = Tokensmith(tmp_path)
    for args, reason in (
        (("--tls-cert", str(pki.server.cert_path)), "give both --tls-cert and --tls-key"),
        (("--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(pki.server.key_path)), "no such file"),
    ):
        result = server.cli("serve", *args, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and len(lines) == 1 and reason in lines[0], result.stderr


def test_a_certificate_bound_admin_token_works_only_with_its_certificate(proxied: Tokensmith, pki: PKI) -> None:
    """The admin API is a resource server too (RFC 8705 §3)."""
    secret = proxied.create_client("ops-mtls", "--token-binding", "mtls", scopes=("tokensmith:admin",))["client_secret"]
    right, wrong = {"Client-Cert": pki.right.client_cert_field}, {"Client-Cert": pki.wrong_dn.client_cert_field}
    with httpx.Client(base_url=proxied.url, timeout=10) as http:
        response = http.post(OAUTH_PATH, auth=("ops-mtls", secret), headers=right, data={"grant_type": "client_credentials"})
        bound = bound_to(response, pki.right)
        assert bound["scope"] == "tokensmith:admin"
        bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
        assert http.get("/admin/v1/clients", headers={**bearer, **right}).status_code == 200
        for headers in (bearer, {**bearer, **wrong}):
            refused = http.get("/admin/v1/clients", headers=headers)
            assert refused.status_code == 401 and "certificate" in refused.text, refused.text
