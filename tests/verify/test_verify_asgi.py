"""BearerAuthMiddleware and require_scopes in a real Starlette app (RFC 6750 responses)."""

from __future__ import annotations

import inspect

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from tokensmith.verify import CLAIMS_SCOPE_KEY, BearerAuthMiddleware, require_scopes

pytestmark = pytest.mark.anyio

REALM = "orders-api"


def build_app(verifier, *, with_middleware: bool = True) -> Starlette:
    need_write = require_scopes("orders:write", verifier=None if with_middleware else verifier, realm=REALM)

    async def whoami(request: Request) -> JSONResponse:
        if not with_middleware:
            await require_scopes(verifier=verifier, realm=REALM)(request)
        return JSONResponse(
            {
                "sub": request.state.token_claims["sub"],
                "firstVisionId": request.scope[CLAIMS_SCOPE_KEY]["firstVisionId"],
            }
        )

    async def create_order(request: Request) -> JSONResponse:
        claims = await need_write(request)
        return JSONResponse({"created_by": claims["client_id"]}, status_code=201)

    async def health(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def events(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"sub": websocket.scope[CLAIMS_SCOPE_KEY]["sub"]})
        await websocket.close()

    middleware = (
        [
            Middleware(
                BearerAuthMiddleware,
                verifier=verifier,
                required_scopes=["orders:read"],
                realm=REALM,
                exempt_paths=["/health"],
            )
        ]
        if with_middleware
        else []
    )
    return Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/orders", create_order, methods=["POST"]),
            Route("/health", health),
            WebSocketRoute("/events", events),
        ],
        middleware=middleware,
    )


@pytest.fixture
def client_for(issuer):
    def make(**options) -> httpx.AsyncClient:
        app = build_app(issuer.verifier(), **options)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge_params(response: httpx.Response) -> dict[str, str]:
    header = response.headers["www-authenticate"]
    assert header.startswith("Bearer")
    params = {}
    for part in header[len("Bearer") :].split(", "):
        if part.strip():
            key, _, value = part.strip().partition("=")
            params[key] = value.strip('"')
    return params


async def test_verified_claims_reach_the_handler(issuer, client_for):
    response = await client_for().get("/whoami", headers=bearer(issuer.mint()))

    assert response.status_code == 200
    assert response.json() == {"sub": "client-1", "firstVisionId": "fv-42"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}])
async def test_request_without_bearer_credentials_gets_a_bare_challenge(client_for, headers):
    response = await client_for().get("/whoami", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == f'Bearer realm="{REALM}"'


@pytest.mark.parametrize(
    "make_token",
    [
        lambda i: "not.a.jwt",
        lambda i: i.mint(iat=1, exp=2),
        lambda i: i.mint(aud="https://elsewhere.test"),
        lambda i: i.mint(headers={"typ": "JWT"}),
    ],
    ids=["garbage", "expired", "foreign-audience", "wrong-typ"],
)
async def test_bad_token_gets_401_invalid_token(issuer, client_for, make_token):
    token = make_token(issuer)

    response = await client_for().get("/whoami", headers=bearer(token))

    assert response.status_code == 401
    params = challenge_params(response)
    assert params["realm"] == REALM
    assert params["error"] == "invalid_token"
    assert params["error_description"]
    assert response.json()["error"] == "invalid_token"
    assert token not in response.headers["www-authenticate"] + response.text


async def test_token_lacking_the_middleware_scope_gets_403_with_scope_in_challenge(issuer, client_for):
    response = await client_for().get("/whoami", headers=bearer(issuer.mint(scope="orders:write")))

    assert response.status_code == 403
    params = challenge_params(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "orders:read"


async def test_require_scopes_enforces_route_scopes_behind_the_middleware(issuer, client_for):
    client = client_for()

    refused = await client.post("/orders", headers=bearer(issuer.mint(scope="orders:read")))
    allowed = await client.post("/orders", headers=bearer(issuer.mint(scope="orders:read orders:write")))

    assert refused.status_code == 403
    assert challenge_params(refused) | {"error_description": ""} == {
        "realm": REALM,
        "error": "insufficient_scope",
        "error_description": "",
        "scope": "orders:write",
    }
    assert allowed.status_code == 201
    assert allowed.json() == {"created_by": "client-1"}


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ([("Authorization", "Bearer")], "/whoami"),
        ([("Authorization", "Bearer ")], "/whoami"),
        ([("Authorization", "Bearer one two")], "/whoami"),
        ([("Authorization", "Bearer a,b")], "/whoami"),
        ([("Authorization", "Bearer TOKEN"), ("Authorization", "Bearer TOKEN")], "/whoami"),
        ([("Authorization", "Bearer TOKEN")], "/whoami?access_token=TOKEN"),
        ([], "/whoami?access_token=TOKEN"),
    ],
    ids=["no-token", "blank-token", "two-tokens", "comma", "two-headers", "header-and-query", "query-only"],
)
async def test_malformed_or_ambiguous_requests_get_400_invalid_request(issuer, client_for, headers, path):
    token = issuer.mint()
    headers = [(k, v.replace("TOKEN", token)) for k, v in headers]

    response = await client_for().get(path.replace("TOKEN", token), headers=headers)

    assert response.status_code == 400
    assert challenge_params(response)["error"] == "invalid_request"


async def test_exempt_path_needs_no_token(client_for):
    response = await client_for().get("/health")

    assert response.status_code == 200


async def test_require_scopes_verifies_tokens_itself_without_middleware(issuer, client_for):
    client = client_for(with_middleware=False)

    ok = await client.get("/whoami", headers=bearer(issuer.mint()))
    missing = await client.get("/whoami")
    expired = await client.get("/whoami", headers=bearer(issuer.mint(iat=1, exp=2)))
    no_scope = await client.post("/orders", headers=bearer(issuer.mint(scope="orders:read")))

    assert ok.status_code == 200 and ok.json()["sub"] == "client-1"
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, f'Bearer realm="{REALM}"')
    assert (expired.status_code, challenge_params(expired)["error"]) == (401, "invalid_token")
    assert (no_scope.status_code, challenge_params(no_scope)["scope"]) == (403, "orders:write")


async def test_unreachable_issuer_gets_503_not_401(issuer, client_for):
    token = issuer.mint()
    issuer.server.stop()

    response = await client_for().get("/whoami", headers=bearer(token))

    assert response.status_code == 503
    assert "www-authenticate" not in response.headers


def test_websocket_handshake_is_refused_without_token_and_accepted_with_one(issuer):
    client = TestClient(build_app(issuer.verifier()))

    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect("/events"):
            pass
    with client.websocket_connect("/events", headers=bearer(issuer.mint())) as ws:
        message = ws.receive_json()

    assert denied.value.status_code == 401
    assert denied.value.headers["www-authenticate"] == f'Bearer realm="{REALM}"'
    assert message == {"sub": "client-1"}


def test_require_scopes_signature_lets_fastapi_inject_the_request():
    # FastAPI decides what to inject from the runtime annotation of each parameter.
    parameters = inspect.signature(require_scopes("orders:read")).parameters

    assert list(parameters) == ["request"]
    assert parameters["request"].annotation is Request
