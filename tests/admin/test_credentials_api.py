"""Issue 11's objects through the admin API against a real `tokensmith serve`: clients
with keys (private_key_jwt, inline JWKS or jwks_uri), federated clients and their
federated credentials, trusted issuers. Each route's success is proven at the token
endpoint (the key or platform token works, or stops working), and its bad input is a
clean 4xx problem that writes nothing."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.admin.conftest import Admin, get_token, new_client
from tests.e2e.wire import OAUTH_PATH
from tests.support.assertions import ClientKey, assertion, form, jwks
from tests.support.dpop import ProofKey
from tests.support.jws import compact
from tests.support.server import Tokensmith, record

PLATFORM_ISSUER = "https://cluster.example"
SUBJECT = "system:serviceaccount:orders:api"


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    """As tests/admin/conftest.py's, with credential uses written every second."""
    server = Tokensmith(tmp_path_factory.mktemp("admin-credentials"), {"TOKENSMITH_CREDENTIAL_USE_WRITE_SECONDS": "1"})
    secret = new_client(server, "ops", "tokensmith:admin")
    server.start()
    with httpx.Client(base_url=server.url, timeout=15) as http:
        yield Admin(server, http, get_token(http, "ops", secret, "tokensmith:admin"))
    server.stop()


@pytest.fixture(scope="module")
def platform_key() -> ClientKey:
    return ClientKey.es256("cluster-1")


def platform_token(key: ClientKey, audience: str, subject: str = SUBJECT, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": PLATFORM_ISSUER, "sub": subject, "aud": audience, "iat": now, "exp": now + 600, "jti": secrets.token_hex(8), **claims}
    return compact({"alg": key.alg, "kid": key.kid, "typ": "JWT"}, body, key.sign)


def token_with(admin: Admin, fields: dict[str, str]) -> httpx.Response:
    return admin.http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "scope": "edit", **fields})


def with_key(admin: Admin, key: ClientKey, client_id: str) -> httpx.Response:
    return token_with(admin, form(assertion(key, client_id, admin.server.issuer), client_id))


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and "Traceback" not in response.text
    return problem


def test_a_private_key_jwt_client_is_created_without_a_secret_and_authenticates_with_its_key(admin: Admin) -> None:
    key = ClientKey.es256()
    response = admin.call(
        "POST", "/admin/v1/clients", json={"client_id": "keyed", "scopes": ["edit"], "auth_method": "private_key_jwt", "jwks": jwks(key)}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert "client_secret" not in body and "secret_id" not in body and body["secrets"] == []
    assert body["auth_method"] == "private_key_jwt" and body["jwks_uri"] is None and body["token_binding"] == "none"
    assert body["keys"] == [{"kid": key.kid, "algorithms": ["ES256"]}]
    assert with_key(admin, key, "keyed").status_code == 200
    # The use is recorded (in batches, here every second) and shown on the client.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = admin.call("GET", "/admin/v1/clients/keyed").json()["keys"][0]
        if shown["last_used_at"] is not None:
            break
        time.sleep(0.3)
    assert shown["kid"] == key.kid and shown["last_used_at"] is not None


def test_patching_keys_replaces_them_at_the_token_endpoint(admin: Admin) -> None:
    old, new = ClientKey.es256(), ClientKey.rs256()
    admin.call("POST", "/admin/v1/clients", json={"client_id": "rotating", "scopes": ["edit"], "auth_method": "private_key_jwt", "jwks": jwks(old)})
    response = admin.call("PATCH", "/admin/v1/clients/rotating", json={"jwks": jwks(new)})
    assert response.status_code == 200, response.text
    assert [shown["kid"] for shown in response.json()["keys"]] == [new.kid]
    assert with_key(admin, new, "rotating").status_code == 200
    assert with_key(admin, old, "rotating").status_code == 401
    # Keys at a URI instead: the inline ones go.
    moved = admin.call("PATCH", "/admin/v1/clients/rotating", json={"jwks_uri": "https://keys.example/jwks.json"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["jwks_uri"] == "https://keys.example/jwks.json" and moved.json()["keys"] == []


def test_switching_a_secret_client_to_keys_needs_remove_secrets(admin: Admin) -> None:
    created = admin.call("POST", "/admin/v1/clients", json={"client_id": "switching", "scopes": ["edit"]})
    secret = created.json()["client_secret"]
    record("secrets", secret)
    key = ClientKey.es256()
    change = {"auth_method": "private_key_jwt", "jwks": jwks(key)}
    problem = problem_of(admin.call("PATCH", "/admin/v1/clients/switching", json=change), 422)
    assert problem["type"] == "urn:tokensmith:problem:refused" and "live secret" in problem["detail"]
    unchanged = admin.call("GET", "/admin/v1/clients/switching").json()
    assert unchanged["auth_method"] == "client_secret_basic" and len(unchanged["secrets"]) == 1
    assert token_with(admin, {"client_id": "switching", "client_secret": secret}).status_code == 200
    switched = admin.call("PATCH", "/admin/v1/clients/switching", json={**change, "remove_secrets": True})
    assert switched.status_code == 200, switched.text
    assert switched.json()["secrets"] == [] and switched.json()["auth_method"] == "private_key_jwt"
    assert token_with(admin, {"client_id": "switching", "client_secret": secret}).status_code == 401
    assert with_key(admin, key, "switching").status_code == 200


def test_a_federated_client_gets_tokens_through_a_trust_and_credential_made_by_the_api(admin: Admin, platform_key: ClientKey) -> None:
    trust = admin.call("POST", "/admin/v1/trusts", json={"name": "k8s", "issuer": PLATFORM_ISSUER, "jwks": jwks(platform_key)})
    assert trust.status_code == 201, trust.text
    assert trust.headers["location"] == "/admin/v1/trusts/k8s"
    assert trust.json()["keys_from"] == "jwks" and trust.json()["jwks_kids"] == [platform_key.kid]
    client = admin.call("POST", "/admin/v1/clients", json={"client_id": "orders-api", "scopes": ["edit"], "auth_method": "federated"})
    assert client.status_code == 201 and "client_secret" not in client.json(), client.text
    platform = platform_token(platform_key, admin.server.issuer, namespace="orders")
    assert token_with(admin, form(platform, "orders-api")).status_code == 401  # no federated credential yet

    made = admin.call("POST", "/admin/v1/clients/orders-api/federations", json={"trust": "k8s", "subject": SUBJECT, "conditions": ["namespace=orders"]})
    assert made.status_code == 201, made.text
    federation = made.json()
    assert federation["trust"] == "k8s" and federation["subject"] == SUBJECT and federation["conditions"] == ["namespace=orders"]
    assert made.headers["location"] == f"/admin/v1/clients/orders-api/federations/{federation['federation_id']}"
    assert token_with(admin, form(platform, "orders-api")).status_code == 200
    other_namespace = platform_token(platform_key, admin.server.issuer, namespace="payments")
    assert token_with(admin, form(other_namespace, "orders-api")).status_code == 401

    listed = admin.call("GET", "/admin/v1/clients/orders-api/federations").json()["items"]
    assert [each["federation_id"] for each in listed] == [federation["federation_id"]]
    assert admin.call("GET", "/admin/v1/clients/orders-api").json()["federations"][0]["federation_id"] == federation["federation_id"]
    assert admin.call("GET", "/admin/v1/trusts/k8s").json()["federated_credentials"] == 1

    gone = admin.call("DELETE", f"/admin/v1/clients/orders-api/federations/{federation['federation_id']}")
    assert gone.status_code == 204, gone.text
    assert token_with(admin, form(platform, "orders-api")).status_code == 401
    problem_of(admin.call("DELETE", f"/admin/v1/clients/orders-api/federations/{federation['federation_id']}"), 404)
    actions = [event["action"] for event in admin.call("GET", "/admin/v1/audit?client=orders-api").json()["items"]]
    assert actions[:2] == ["client.unfederated", "client.federated"]


def test_trusts_are_listed_changed_and_removed_only_with_force_while_in_use(admin: Admin, platform_key: ClientKey) -> None:
    assert admin.call("POST", "/admin/v1/trusts", json={"name": "ci", "issuer": PLATFORM_ISSUER, "jwks": jwks(platform_key)}).status_code == 201
    admin.call("POST", "/admin/v1/clients", json={"client_id": "ci-job", "scopes": ["edit"], "auth_method": "federated"})
    federation = admin.call("POST", "/admin/v1/clients/ci-job/federations", json={"trust": "ci", "subject": "repo:acme/app"}).json()
    assert "ci" in [each["name"] for each in admin.call("GET", "/admin/v1/trusts").json()["items"]]

    changed = admin.call("PATCH", "/admin/v1/trusts/ci", json={"audience": "tokensmith-ci", "replay": "single-use", "max_token_age": 600})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["audience"], changed.json()["replay"], changed.json()["max_token_age"]) == ("tokensmith-ci", "single-use", 600)
    # The new audience is what the token endpoint now asks of a platform token.
    assert token_with(admin, form(platform_token(platform_key, admin.server.issuer, "repo:acme/app"), "ci-job")).status_code == 401
    assert token_with(admin, form(platform_token(platform_key, "tokensmith-ci", "repo:acme/app"), "ci-job")).status_code == 200
    back = admin.call("PATCH", "/admin/v1/trusts/ci", json={"audience": None})
    assert back.status_code == 200 and back.json()["audience"] is None
    discovery = admin.call("PATCH", "/admin/v1/trusts/ci", json={"discovery": True})
    assert discovery.json()["keys_from"] == "discovery" and discovery.json()["jwks_kids"] is None

    problem = problem_of(admin.call("DELETE", "/admin/v1/trusts/ci"), 409)
    assert "1 federated credential" in problem["detail"] and "force" in problem["detail"]
    assert admin.call("GET", "/admin/v1/trusts/ci").status_code == 200
    removed = admin.call("DELETE", "/admin/v1/trusts/ci?force=true")
    assert removed.status_code == 200, removed.text
    assert removed.json() == {"name": "ci", "federations_removed": [{"client_id": "ci-job", "federation_id": federation["federation_id"]}]}
    problem_of(admin.call("GET", "/admin/v1/trusts/ci"), 404)
    assert admin.call("GET", "/admin/v1/clients/ci-job/federations").json()["items"] == []


def test_token_binding_is_set_and_changed_through_the_api(admin: Admin) -> None:
    created = admin.call("POST", "/admin/v1/clients", json={"client_id": "bound", "scopes": ["edit"], "token_binding": "dpop"})
    assert created.status_code == 201 and created.json()["token_binding"] == "dpop", created.text
    secret = created.json()["client_secret"]
    record("secrets", secret)
    credentials = {"client_id": "bound", "client_secret": secret}
    without = token_with(admin, credentials)
    assert without.status_code == 400 and without.json()["error"] == "invalid_dpop_proof", without.text
    key = ProofKey.es256()
    proof = key.proof(admin.server.issuer + OAUTH_PATH)
    bound = admin.http.post(OAUTH_PATH, headers={"DPoP": proof}, data={"grant_type": "client_credentials", "scope": "edit", **credentials})
    assert bound.status_code == 200 and bound.json()["token_type"] == "DPoP", bound.text
    changed = admin.call("PATCH", "/admin/v1/clients/bound", json={"token_binding": "none"})
    assert changed.status_code == 200 and changed.json()["token_binding"] == "none", changed.text
    assert token_with(admin, credentials).json()["token_type"] == "Bearer"


BAD_INPUT: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "auth_method": "client_secret_jwt"}, 422, "refused"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "auth_method": "private_key_jwt"}, 422, "refused"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, 422, "refused"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "auth_method": "private_key_jwt", "jwks_uri": "ftp://keys.example/jwks"}, 422, "refused"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "jwks_uri": "https://keys.example/jwks"}, 422, "refused"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "auth_method": 3}, 422, "invalid"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "token_binding": "sometimes"}, 422, "refused"),
    ("PATCH", "/admin/v1/clients/plain", {"token_binding": None}, 422, "invalid"),
    ("POST", "/admin/v1/clients", {"scopes": ["edit"], "auth_method": "private_key_jwt", "jwks": "keys"}, 422, "invalid"),
    ("PATCH", "/admin/v1/clients/plain", {"jwks": {"keys": []}, "jwks_uri": "https://keys.example/jwks"}, 422, "refused"),
    ("PATCH", "/admin/v1/clients/plain", {"remove_secrets": "yes"}, 422, "invalid"),
    ("POST", "/admin/v1/clients/plain/federations", {"trust": "steady", "subject": SUBJECT}, 422, "refused"),
    ("POST", "/admin/v1/clients/fed/federations", {"trust": "nowhere", "subject": SUBJECT}, 422, "refused"),
    ("POST", "/admin/v1/clients/fed/federations", {"trust": "steady"}, 422, "invalid"),
    ("POST", "/admin/v1/clients/fed/federations", {"trust": "steady", "subject": SUBJECT, "conditions": "a=b"}, 422, "invalid"),
    ("POST", "/admin/v1/clients/fed/federations", {"trust": "steady", "subject": SUBJECT, "conditions": ["no-equals-sign"]}, 422, "refused"),
    ("POST", "/admin/v1/clients/fed/federations", {"trust": "steady", "subject": ""}, 422, "refused"),
    ("POST", "/admin/v1/clients/nobody/federations", {"trust": "steady", "subject": SUBJECT}, 404, "not_found"),
    ("GET", "/admin/v1/clients/nobody/federations", None, 404, "not_found"),
    ("DELETE", "/admin/v1/clients/fed/federations/fed_0000000000", None, 404, "not_found"),
    ("POST", "/admin/v1/trusts", {"name": "Bad Name", "issuer": PLATFORM_ISSUER}, 422, "refused"),
    ("POST", "/admin/v1/trusts", {"name": "t", "issuer": "not a url"}, 422, "refused"),
    ("POST", "/admin/v1/trusts", {"name": "t", "issuer": PLATFORM_ISSUER, "replay": "twice"}, 422, "refused"),
    ("POST", "/admin/v1/trusts", {"name": "t", "issuer": PLATFORM_ISSUER, "max_token_age": 0}, 422, "refused"),
    ("POST", "/admin/v1/trusts", {"name": "t", "issuer": PLATFORM_ISSUER, "jwks": {"keys": [{"kty": "EC", "d": "x"}]}}, 422, "refused"),
    ("POST", "/admin/v1/trusts", {"name": "t"}, 422, "invalid"),
    ("POST", "/admin/v1/trusts", {"name": "steady", "issuer": PLATFORM_ISSUER}, 409, "conflict"),
    ("PATCH", "/admin/v1/trusts/steady", {"discovery": True, "jwks_uri": "https://keys.example/jwks"}, 422, "refused"),
    ("PATCH", "/admin/v1/trusts/steady", {"audience": 5}, 422, "invalid"),
    ("PATCH", "/admin/v1/trusts/steady", {"issuer": None}, 422, "invalid"),
    ("PATCH", "/admin/v1/trusts/nowhere", {"replay": "single-use"}, 404, "not_found"),
    ("GET", "/admin/v1/trusts/nowhere", None, 404, "not_found"),
    ("DELETE", "/admin/v1/trusts/nowhere", None, 404, "not_found"),
    ("DELETE", "/admin/v1/trusts/steady?force=maybe", None, 422, "invalid"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "kind"), BAD_INPUT, ids=[f"{m} {p} {b}" for m, p, b, _, _ in BAD_INPUT])
def test_bad_input_is_a_clean_problem_and_writes_nothing(
    admin: Admin, platform_key: ClientKey, method: str, path: str, body: dict[str, Any] | None, status: int, kind: str
) -> None:
    if admin.call("GET", "/admin/v1/trusts/steady").status_code == 404:
        admin.call("POST", "/admin/v1/trusts", json={"name": "steady", "issuer": PLATFORM_ISSUER, "jwks": jwks(platform_key)})
        record("secrets", admin.call("POST", "/admin/v1/clients", json={"client_id": "plain", "scopes": ["edit"]}).json()["client_secret"])
        admin.call("POST", "/admin/v1/clients", json={"client_id": "fed", "scopes": ["edit"], "auth_method": "federated"})
    before = [admin.call("GET", each).json() for each in ("/admin/v1/trusts", "/admin/v1/clients?limit=500")]
    events = admin.call("GET", "/admin/v1/audit?limit=1").json()["items"]
    response = admin.call(method, path, **({"json": body} if body is not None else {}))
    assert problem_of(response, status)["type"] == f"urn:tokensmith:problem:{kind}"
    assert [admin.call("GET", each).json() for each in ("/admin/v1/trusts", "/admin/v1/clients?limit=500")] == before
    assert admin.call("GET", "/admin/v1/audit?limit=1").json()["items"] == events
