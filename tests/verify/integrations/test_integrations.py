"""Every framework integration against a real `tokensmith serve` and a real app server
(uvicorn for FastAPI and Starlette, wsgiref's threaded server for Flask and Django),
each in its own process: the same requests, the same RFC 6750 answers."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.other_side.conftest import fetch_token
from tests.e2e.wire import auth_header
from tests.support.dpop import ProofKey, ath
from tests.support.jws import claims_of, compact, header_of, rs256, server_signing_key
from tests.support.processes import start_logged, stop_process, wait_until_healthy
from tests.support.server import Tokensmith, free_port

REPO = Path(__file__).resolve().parents[3]
AUDIENCE = "https://orders.example.test"
METADATA_PATH = "/.well-known/oauth-protected-resource"
FRAMEWORKS = ("fastapi", "flask", "django", "starlette")


class App:
    def __init__(self, framework: str, process: Any, port: int) -> None:
        self.framework, self.process, self.url = framework, process, f"http://127.0.0.1:{port}"

    def get(self, path: str, token: str | None = None, **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.get(self.url + path, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def clients(tokensmith: Tokensmith) -> dict[str, dict[str, Any]]:
    return {
        "caller": tokensmith.create_client("orders-caller", "--audience", AUDIENCE, scopes=("orders:read",)),
        "elsewhere": tokensmith.create_client("elsewhere-caller", "--audience", "https://elsewhere.example.test", scopes=("orders:read",)),
        "introspector": tokensmith.create_client("orders-api", scopes=("introspect",)),
    }


@pytest.fixture(scope="module", params=FRAMEWORKS)
def app(request, tokensmith: Tokensmith, clients, tmp_path_factory) -> Iterator[App]:
    framework, port = request.param, free_port()
    log = tmp_path_factory.mktemp(framework) / "app.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENSMITH_", "APP_", "DJANGO_"))}
    env |= {
        "APP_ISSUER": tokensmith.issuer,
        "APP_AUDIENCE": AUDIENCE,
        "APP_INTROSPECTION_ID": clients["introspector"]["client_id"],
        "APP_INTROSPECTION_SECRET": clients["introspector"]["client_secret"],
    }
    process = start_logged([sys.executable, "-m", "tests.verify.integrations.apps", framework, str(port)], log_path=log, cwd=REPO, env=env)
    try:
        wait_until_healthy(process, name=f"the {framework} app", health_url=f"http://127.0.0.1:{port}/healthz", log_path=log)
        yield App(framework, process, port)
    finally:
        stop_process(process)
        # No traceback, no plain-text 500 along the way.
        assert "Traceback" not in log.read_text(), log.read_text()


def token(tokensmith: Tokensmith, client: dict[str, Any], scope: str = "orders:read") -> str:
    return fetch_token(tokensmith, client, scope)


def assert_refused(response: httpx.Response, status: int, error: str | None) -> str:
    """The RFC 6750 answer: status, JSON body, challenge (with the RFC 9728 URL)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    assert f'resource_metadata="{AUDIENCE}{METADATA_PATH}"' in challenge
    body = response.json()
    if error is None:
        assert 'error="' not in challenge and "error" not in body  # RFC 6750 §3.1: no error code
    else:
        assert f'error="{error}"' in challenge and body["error"] == error
    return challenge


def test_a_valid_token_gets_200_and_the_claims(app, tokensmith, clients):
    response = app.get("/orders", token(tokensmith, clients["caller"]))

    assert response.status_code == 200, response.text
    assert response.json() == {"client_id": "orders-caller", "sub": "orders-caller", "scope": "orders:read"}


def test_no_token_gets_401_with_a_bare_challenge(app):
    assert_refused(app.get("/orders"), 401, None)


def test_an_expired_token_gets_401(app, tokensmith, clients):
    real = token(tokensmith, clients["caller"])
    header = header_of(real)
    claims = claims_of(real) | {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    expired = compact(header, claims, rs256(server_signing_key(tokensmith, header["kid"])))

    challenge = assert_refused(app.get("/orders", expired), 401, "invalid_token")
    assert "expired" in challenge


def test_a_forged_token_gets_401(app, tokensmith, clients):
    real = token(tokensmith, clients["caller"])
    app.get("/orders", real)  # the real one is in the app's cache now
    forged = compact(header_of(real), claims_of(real), rs256(rsa.generate_private_key(public_exponent=65537, key_size=2048)))

    challenge = assert_refused(app.get("/orders", forged), 401, "invalid_token")
    assert "signature" in challenge


def test_a_token_for_another_audience_gets_401(app, tokensmith, clients):
    challenge = assert_refused(app.get("/orders", token(tokensmith, clients["elsewhere"])), 401, "invalid_token")
    assert "audience" in challenge


def test_a_token_without_the_routes_scope_gets_403_naming_the_scope(app, tokensmith, clients):
    challenge = assert_refused(app.get("/admin", token(tokensmith, clients["caller"])), 403, "insufficient_scope")
    assert 'scope="admin"' in challenge


def test_a_token_in_the_query_gets_400(app, tokensmith, clients):
    response = httpx.get(app.url + "/orders", params={"access_token": token(tokensmith, clients["caller"])}, timeout=10)

    assert_refused(response, 400, "invalid_request")


def test_garbage_in_the_authorization_header_gets_a_json_refusal(app):
    assert_refused(app.get("/orders", "not a token"), 400, "invalid_request")
    assert_refused(app.get("/orders", "a.b.c"), 401, "invalid_token")


def test_a_revoked_token_gets_401_in_introspection_mode(app, tokensmith, clients):
    caller = clients["caller"]
    live = token(tokensmith, caller)
    assert app.get("/checked/orders", live).status_code == 200

    revoked = httpx.post(f"{tokensmith.url}/oauth2/revoke", data={"token": live}, auth=(caller["client_id"], caller["client_secret"]))
    assert revoked.status_code == 200

    challenge = assert_refused(app.get("/checked/orders", live), 401, "invalid_token")
    assert "revoked" in challenge
    # Without the revocation check the JWT stays valid until its exp: the mode's point.
    assert app.get("/orders", live).status_code == 200


def test_the_protected_resource_metadata_is_served_without_a_token(app, tokensmith):
    response = app.get(METADATA_PATH)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "resource": AUDIENCE,
        "authorization_servers": [tokensmith.issuer],
        "scopes_supported": ["orders:read", "admin"],
        "bearer_methods_supported": ["header"],
    }


def test_a_dpop_bound_token_is_taken_only_with_its_proof_for_the_request(app, tokensmith, clients):
    """RFC 9449 §7 in every framework: the proof's htm/htu are the request's, its ath the
    token's; a bound token as Bearer, or a replayed proof, is refused with a DPoP challenge."""
    key = ProofKey.es256()
    headers = {**auth_header(clients["caller"]), "DPoP": key.proof(tokensmith.issuer + "/oauth2/token")}
    bound = httpx.post(f"{tokensmith.url}/oauth2/token", headers=headers, data={"grant_type": "client_credentials", "scope": "orders:read"}).json()["access_token"]
    url = app.url + "/orders"
    proof = key.proof(url, "GET", ath=ath(bound))
    good = httpx.get(url + "?page=1", headers={"Authorization": f"DPoP {bound}", "DPoP": proof})
    assert good.status_code == 200, good.text
    for refused in (
        httpx.get(url, headers={"Authorization": f"DPoP {bound}", "DPoP": proof}),  # replayed
        app.get("/orders", bound),  # as Bearer
        httpx.get(url, headers={"Authorization": f"DPoP {bound}", "DPoP": key.proof(url, "POST", ath=ath(bound))}),
        httpx.get(url, headers={"Authorization": f"DPoP {bound}", "DPoP": key.proof(app.url + "/admin", "GET", ath=ath(bound))}),
    ):
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_dpop_proof"
        assert refused.headers["www-authenticate"].startswith('DPoP algs="')
