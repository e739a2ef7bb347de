"""Who may use the admin API (admin/authorisation.py), attacked over HTTP: no token,
a token without an admin scope, forged or foreign tokens, a token of a client that
has since been disabled; finer scopes allow their resource only."""

from __future__ import annotations

import json
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from tests.admin.conftest import Admin, get_token, new_client
from tests.support.dpop import ProofKey, ath
from tests.support.jws import claims_of, compact, header_of, rs256, server_signing_key


def _status(admin: Admin, token: str | None, method: str = "GET", path: str = "/admin/v1/clients", **kwargs: Any) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return admin.http.request(method, path, headers=headers, **kwargs).status_code


def test_without_a_token_it_is_401_with_a_bearer_challenge(admin: Admin) -> None:
    response = admin.http.get("/admin/v1/clients")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert response.json()["type"] == "urn:tokensmith:problem:unauthenticated"
    for header in ("Basic b3BzOng=", "Bearer", "Bearer  x y", "token abc"):
        assert admin.http.get("/admin/v1/clients", headers={"Authorization": header}).status_code == 401, header


def test_a_token_without_an_admin_scope_is_403(admin: Admin) -> None:
    secret = new_client(admin.server, "partner-token", "read")
    token = get_token(admin.http, "partner-token", secret, "read")
    response = admin.http.get("/admin/v1/clients", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert _status(admin, token, "POST", "/admin/v1/clients", json={"scopes": ["x"]}) == 403


def test_finer_scopes_allow_their_resource_only(admin: Admin) -> None:
    secret = new_client(admin.server, "reader", "tokensmith:clients.read", "tokensmith:audit.read", "tokensmith:keys.write")
    reader = get_token(admin.http, "reader", secret, "tokensmith:clients.read")
    assert _status(admin, reader) == 200
    assert _status(admin, reader, "POST", "/admin/v1/clients", json={"scopes": ["read"]}) == 403
    assert _status(admin, reader, "GET", "/admin/v1/audit") == 403
    assert _status(admin, reader, "GET", "/admin/v1/keys") == 403
    keys = get_token(admin.http, "reader", secret, "tokensmith:keys.write")
    assert _status(admin, keys, "GET", "/admin/v1/keys") == 200  # .write includes .read
    assert _status(admin, keys, "GET", "/admin/v1/clients") == 403


def test_forged_and_foreign_tokens_are_401(admin: Admin) -> None:
    good = admin.token
    header, claims = header_of(good), claims_of(good)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    own_key = server_signing_key(admin.server, header["kid"])
    forged = {
        "another key, our kid": compact(header, claims, rs256(attacker)),
        "alg none": compact({**header, "alg": "none"}, claims, None),
        "a changed scope, old signature": ".".join([good.split(".")[0], compact(header, {**claims, "scope": "tokensmith:admin x"}, None).split(".")[1], good.split(".")[2]]),
        "another issuer": compact(header, {**claims, "iss": "https://evil.example"}, rs256(own_key)),
        "expired": compact(header, {**claims, "exp": int(time.time()) - 60}, rs256(own_key)),
        "not a token": "abc.def.ghi",
    }
    for name, token in forged.items():
        assert _status(admin, token) == 401, name
    assert _status(admin, compact(header, claims, rs256(own_key))) == 200  # the check is the claims', not the bytes'


def test_a_token_for_another_audience_is_401(admin: Admin) -> None:
    secret = new_client(admin.server, "partner-api-admin", "tokensmith:admin", extra=("--audience", "https://partner.example"))
    token = get_token(admin.http, "partner-api-admin", secret, "tokensmith:admin")
    assert claims_of(token)["aud"] == "https://partner.example"
    assert _status(admin, token) == 401


def test_the_token_of_a_disabled_admin_client_is_401(admin: Admin) -> None:
    secret = new_client(admin.server, "ops-2", "tokensmith:admin")
    token = get_token(admin.http, "ops-2", secret, "tokensmith:admin")
    assert _status(admin, token) == 200
    admin.server.cli("clients", "disable", "ops-2")
    assert _status(admin, token) == 401
    admin.server.cli("clients", "enable", "ops-2")
    assert _status(admin, token) == 200
    admin.server.cli("clients", "revoke-tokens", "ops-2")
    assert _status(admin, token) == 401


def test_a_revoked_admin_token_is_401(admin: Admin) -> None:
    secret = new_client(admin.server, "ops-3", "tokensmith:admin")
    token = get_token(admin.http, "ops-3", secret, "tokensmith:admin")
    assert admin.http.post("/oauth2/revoke", data={"token": token}, auth=("ops-3", secret)).status_code == 200
    assert _status(admin, token) == 401


def test_refusals_leak_no_token(admin: Admin) -> None:
    response = admin.http.get("/admin/v1/clients", headers={"Authorization": "Bearer " + admin.token + "x"})
    assert response.status_code == 401 and admin.token not in response.text
    assert admin.token not in json.dumps([line for line in admin.server.log_lines()])


def test_trusts_read_allows_reading_trusts_only(admin: Admin) -> None:
    assert admin.call("POST", "/admin/v1/trusts", json={"name": "read-me", "issuer": "https://cluster.example"}).status_code == 201
    secret = new_client(admin.server, "trust-reader", "tokensmith:trusts.read")
    token = get_token(admin.http, "trust-reader", secret, "tokensmith:trusts.read")
    assert _status(admin, token, "GET", "/admin/v1/trusts") == 200
    assert _status(admin, token, "GET", "/admin/v1/trusts/read-me") == 200
    assert _status(admin, token, "POST", "/admin/v1/trusts", json={"name": "not-made", "issuer": "https://cluster.example"}) == 403
    assert _status(admin, token, "PATCH", "/admin/v1/trusts/read-me", json={"replay": "single-use"}) == 403
    assert _status(admin, token, "DELETE", "/admin/v1/trusts/read-me") == 403
    assert _status(admin, token, "GET", "/admin/v1/clients") == 403
    assert _status(admin, token, "GET", "/admin/v1/clients/ops/federations") == 403
    assert admin.call("GET", "/admin/v1/trusts/not-made").status_code == 404
    assert admin.call("GET", "/admin/v1/trusts/read-me").json()["replay"] == "max-age"


def test_trusts_write_allows_changing_trusts_but_not_clients(admin: Admin) -> None:
    secret = new_client(admin.server, "trust-writer", "tokensmith:trusts.write")
    token = get_token(admin.http, "trust-writer", secret, "tokensmith:trusts.write")
    assert _status(admin, token, "POST", "/admin/v1/trusts", json={"name": "written", "issuer": "https://cluster.example"}) == 201
    assert _status(admin, token, "GET", "/admin/v1/trusts/written") == 200  # .write includes .read
    assert _status(admin, token, "PATCH", "/admin/v1/trusts/written", json={"max_token_age": 60}) == 200
    assert _status(admin, token, "DELETE", "/admin/v1/trusts/written") == 200
    # A client's federated credentials are the clients.* scopes' (they change what a client accepts).
    assert _status(admin, token, "GET", "/admin/v1/clients/ops/federations") == 403
    assert _status(admin, token, "POST", "/admin/v1/clients/ops/federations", json={"trust": "read-me", "subject": "x"}) == 403
    clients_secret = new_client(admin.server, "clients-writer", "tokensmith:clients.write")
    clients_token = get_token(admin.http, "clients-writer", clients_secret, "tokensmith:clients.write")
    assert _status(admin, clients_token, "GET", "/admin/v1/clients/ops/federations") == 200
    assert _status(admin, clients_token, "GET", "/admin/v1/trusts") == 403


def test_a_dpop_bound_admin_token_works_only_with_its_proof(admin: Admin) -> None:
    """RFC 9449 §7: the admin API is a resource server too; a bound token copied out of
    an operator's tool is refused as Bearer, and its proof is single use."""
    secret = new_client(admin.server, "ops-dpop", "tokensmith:admin", extra=("--token-binding", "dpop"))
    key = ProofKey.es256()
    headers = {"DPoP": key.proof(admin.server.issuer + "/oauth2/token")}
    response = admin.http.post("/oauth2/token", auth=("ops-dpop", secret), headers=headers, data={"grant_type": "client_credentials"})
    token = response.json()["access_token"]
    url = admin.server.url + "/admin/v1/clients"
    proof = key.proof(url, "GET", ath=ath(token))
    assert admin.http.get("/admin/v1/clients", headers={"Authorization": f"DPoP {token}", "DPoP": proof}).status_code == 200
    for headers in (
        {"Authorization": f"DPoP {token}", "DPoP": proof},  # replayed
        {"Authorization": f"Bearer {token}"},  # the stolen-token case
        {"Authorization": f"DPoP {token}"},  # no proof
        {"Authorization": f"DPoP {token}", "DPoP": key.proof(url, "POST", ath=ath(token))},  # another method
    ):
        refused = admin.http.get("/admin/v1/clients", headers=headers)
        assert refused.status_code == 401, refused.text
    assert admin.call("GET", "/admin/v1/clients").status_code == 200  # a bearer token stays a bearer token
