"""A route is reached only by its path exactly as sent (http/routing.py): uvicorn
decodes percent-encoding into the ASGI path, so `/metric%73` was served as /metrics
and `/oauth2%2Fintrospect` reached introspection, past any proxy rule on the path
as sent. Against a real `tokensmith serve`, over raw sockets (httpx would normalise
some of these targets): each is a 404 in the documented format for its path, on the
Starlette routes, the token endpoints' ASGI route and the protocol's no-I/O path."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, RawResponse, basic, oauth_error, raw_request, seed_error
from tests.support.server import Tokensmith

FORM = b"Content-Type: application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith) -> dict[str, str]:
    return tokensmith.create_client("routing", scopes=("edit",))


def send(server: Tokensmith, client: dict[str, str], method: str, target: str, body: bytes = b"") -> RawResponse:
    head = [
        f"{method} {target} HTTP/1.1".encode(),
        b"Host: tokensmith",
        b"Authorization: " + basic(client["client_id"], client["client_secret"]).encode(),
    ]
    if body:
        head += [FORM, b"Content-Length: %d" % len(body)]
    return raw_request(server, b"\r\n".join(head), body)


def a_token(http: httpx.Client, client: dict[str, str]) -> str:
    response = http.post(f"{SEED_PATH}?scope=edit", auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize(
    ("method", "target", "instance"),
    [
        ("GET", "/metric%73", "/metrics"),
        ("GET", "/%6Detrics", "/metrics"),
        ("GET", "/healt%68z", "/healthz"),
        ("GET", "/.well-known/jwks%2Ejson", "/.well-known/jwks.json"),
        ("GET", "/.well-known%2Foauth-authorization-server", "/.well-known/oauth-authorization-server"),
        ("GET", "/openapi%2ejson", "/openapi.json"),
        ("POST", f"{SEED_PATH[:-1]}%6E?scope=edit", SEED_PATH),
        ("POST", "/v1%2Fapi/oauth/token?scope=edit", SEED_PATH),
    ],
)
def test_a_percent_encoded_path_is_404_in_the_seed_format(
    tokensmith: Tokensmith, client: dict[str, str], method: str, target: str, instance: str
) -> None:
    response = send(tokensmith, client, method, target)

    problem = seed_error(response, code="240109", status=404)
    assert problem["instance"] == instance  # the decoded path, as for any 404
    assert b"access_token" not in response.content and b"# HELP" not in response.content


@pytest.mark.parametrize(
    "path",
    ["/oauth2%2Ftoken", "/oauth2/toke%6E", "/oauth2%2Fintrospect", "/oauth2/introspec%74", "/oauth2%2frevoke"],
)
def test_a_percent_encoded_oauth2_path_is_404_in_the_rfc_6749_format(
    tokensmith: Tokensmith, http: httpx.Client, client: dict[str, str], path: str
) -> None:
    token = a_token(http, client)
    body = f"grant_type=client_credentials&token={token}".encode()

    response = send(tokensmith, client, "POST", path, body)

    oauth_error(response, error="invalid_request", status=404)
    assert b"access_token" not in response.content and b"active" not in response.content


def test_the_exact_paths_are_still_served(tokensmith: Tokensmith, http: httpx.Client, client: dict[str, str]) -> None:
    token = a_token(http, client)

    assert send(tokensmith, client, "POST", f"{SEED_PATH}?scope=edit").status_code == 200
    assert send(tokensmith, client, "POST", OAUTH_PATH, b"grant_type=client_credentials").status_code == 200
    introspected = send(tokensmith, client, "POST", "/oauth2/introspect", f"token={token}".encode())
    assert json.loads(introspected.content)["active"] is True
    assert send(tokensmith, client, "GET", "/metrics").status_code == 200
