"""GET /openapi.json: the document describes exactly the routes the app mounts, its
error parts come from the catalogue, its limits from the settings, and it is served
with its own media type."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from tokensmith.cli.context import open_node
from tokensmith.config import Settings
from tokensmith.domain.errors import Problem
from tokensmith.domain.lifetimes import FixedLifetime
from tokensmith.domain.registration import build_client
from tokensmith.http import openapi
from tokensmith.http.app import create_app

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _starlette(app: Any) -> Starlette:
    """The Starlette app inside the ASGI layers create_app wraps around it."""
    while not isinstance(app, Starlette):
        app = app.app
    return app


def _app(tmp_path: Path, **settings: Any) -> Starlette:
    node = open_node(Settings(database_url=f"sqlite:///{tmp_path / 'tokensmith.db'}", **settings), create=True)
    return _starlette(create_app(node))


def _document(app: Starlette) -> dict[str, Any]:
    return orjson.loads(app.state.openapi)


def _routes(app: Starlette) -> Iterator[tuple[BaseRoute, str, set[str]]]:
    for route in app.routes:
        path = getattr(route, "path", None)
        assert path is not None, f"{route!r} has no path: describe it in http/openapi.py"
        methods = getattr(route, "methods", None)
        assert methods, f"{path} answers every method: give its Route methods=[...] and describe them"
        yield route, path, set(methods)


@pytest.mark.parametrize("metrics_enabled", [True, False])
def test_every_route_in_the_app_is_described(tmp_path: Path, metrics_enabled: bool) -> None:
    app = _app(tmp_path, metrics_enabled=metrics_enabled)
    paths = _document(app)["paths"]
    for _, path, methods in _routes(app):
        assert path in paths, f"{path} is served but not in /openapi.json"
        for method in methods - openapi.IMPLIED_METHODS:
            assert method.lower() in paths[path], f"{method} {path} is served but not in /openapi.json"
    assert ("/metrics" in paths) is metrics_enabled


def test_the_document_describes_nothing_the_app_does_not_serve(tmp_path: Path) -> None:
    app = _app(tmp_path)
    served = {(path, method.lower()) for _, path, methods in _routes(app) for method in methods}
    for path, item in _document(app)["paths"].items():
        for method in set(item) & set(HTTP_METHODS):
            assert (path, method) in served, f"/openapi.json describes {method.upper()} {path}, which is not served"


def test_a_route_without_a_description_stops_the_app_from_starting() -> None:
    with pytest.raises(openapi.UndescribedRoute, match="POST /v1/api/oauth/tokens"):
        openapi.build_document(Settings(), [("/v1/api/oauth/tokens", {"POST"})])


def test_the_error_schemas_hold_every_row_of_the_catalogue(tmp_path: Path) -> None:
    schemas = _document(_app(tmp_path))["components"]["schemas"]
    problem = schemas["SeedErrors"]["items"]["properties"]
    assert set(problem["errorCode"]["enum"]) == {row.spec.code for row in Problem}
    assert set(problem["status"]["enum"]) == {row.spec.status for row in Problem}
    assert set(problem["title"]["enum"]) == {HTTPStatus(row.spec.status).phrase for row in Problem}
    assert set(schemas["OAuthError"]["properties"]["error"]["enum"]) == {row.spec.oauth_error for row in Problem}


def test_each_error_response_names_its_rows_in_the_format_of_its_path(tmp_path: Path) -> None:
    paths = _document(_app(tmp_path))["paths"]
    seed_401 = paths["/v1/api/oauth/token"]["post"]["responses"]["401"]
    item = seed_401["content"]["application/json"]["schema"]["items"]["properties"]
    assert item["errorCode"]["enum"] == [Problem.INVALID_CLIENT.spec.code]
    assert item["instance"]["enum"] == ["/v1/api/oauth/token"]
    assert {"WWW-Authenticate", "Cache-Control", "Pragma", "X-Request-Id"} <= set(seed_401["headers"])
    oauth_400 = paths["/oauth2/token"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert "invalid_scope" in oauth_400["properties"]["error"]["enum"]
    revoke_400 = paths["/oauth2/revoke"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert set(revoke_400["properties"]["error"]["enum"]) == {"invalid_request", "unauthorized_client"}
    for path, item in paths.items():
        for operation in item.values():
            responses = operation["responses"]
            assert {"405", "500"} <= set(responses), path
            assert "Allow" in responses["405"]["headers"], path
            for status in ("429", "503"):
                if status in responses and "Retry-After" in responses[status]["headers"]:
                    assert responses[status]["headers"]["Retry-After"], path
            for response in responses.values():
                assert "X-Request-Id" in response["headers"], f"{path}: every response carries X-Request-Id"
    assert paths["/oauth2/introspect"]["post"]["responses"]["429"]["headers"]["Retry-After"] == {
        "$ref": "#/components/headers/Retry-After"
    }


@pytest.mark.parametrize("path", ["/v1/api/oauth/token", "/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"])
def test_every_endpoint_that_reads_a_form_lists_the_body_read_timeout(tmp_path: Path, path: str) -> None:
    """408 `240117` (http/parsing.py): in the path's format, with Connection: close."""
    timeout = _document(_app(tmp_path))["paths"][path]["post"]["responses"]["408"]
    assert Problem.BODY_TIMEOUT.spec.code in timeout["description"]
    assert timeout["headers"]["Connection"]["schema"]["enum"] == ["close"]
    assert {"Cache-Control", "Pragma", "X-Request-Id"} <= set(timeout["headers"])
    schema = timeout["content"]["application/json"]["schema"]
    if path.startswith("/oauth2/"):
        assert schema["properties"]["error"]["enum"] == [Problem.BODY_TIMEOUT.spec.oauth_error]
    else:
        item = schema["items"]["properties"]
        assert item["errorCode"]["enum"] == [Problem.BODY_TIMEOUT.spec.code]
        assert item["status"]["enum"] == [408]


def test_limits_come_from_the_settings(tmp_path: Path) -> None:
    paths = _document(_app(tmp_path, seed_max_scope_length=40, max_scope_length=300, error_source="XYZ"))["paths"]
    seed = paths["/v1/api/oauth/token"]["post"]
    scope = next(p for p in seed["parameters"] if p["name"] == "scope")
    assert scope["schema"]["maxLength"] == 40
    form = paths["/oauth2/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["properties"]["scope"]["maxLength"] == 300
    source = seed["responses"]["400"]["content"]["application/json"]["schema"]["items"]["properties"]["source"]
    assert source["enum"] == ["XYZ"]


def test_the_audience_limit_is_the_registration_limit() -> None:
    """The document says an audience outside 1..512 non-space characters is never a
    client's (so it is always refused); registration must agree."""
    fits = "a" * openapi.AUDIENCE_MAX_LENGTH

    def register(audience: str) -> None:
        build_client(
            client_id="svc", name="", scopes=("edit",), default_scopes=None, audiences=(audience,),
            claims={}, lifetime=FixedLifetime(3600), now=1_750_000_000,
        )

    register(fits)
    for never in (fits + "a", "", "a b"):
        with pytest.raises(ValueError):
            register(never)


def test_the_document_is_served_with_its_media_type(http: httpx.Client) -> None:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == openapi.MEDIA_TYPE
    assert response.headers["x-request-id"]
    document = response.json()
    assert document["openapi"].startswith("3.1.")
    assert "/openapi.json" in document["paths"] and "/docs" in document["paths"]


def test_head_is_answered_where_get_is(http: httpx.Client) -> None:
    """HEAD is not listed as an operation (RFC 9110 §9.3.2 makes it GET without a body)."""
    assert http.head("/openapi.json").status_code == 200
    refused = http.delete("/openapi.json")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"


def test_the_document_is_valid_openapi_3_1_and_3_0(tmp_path: Path) -> None:
    """Valid against the OpenAPI 3.1 schema; relabelled 3.0.3 (as the explorer shows it
    to Swagger UI 4), valid against the 3.0 schema too. The schemas are the ones
    Schemathesis ships."""
    import jsonschema_rs
    from schemathesis.specs.openapi import definitions

    document = _document(_app(tmp_path))
    for schema, shown in ((definitions.OPENAPI_31, document), (definitions.OPENAPI_30, {**_as_30(document), "openapi": "3.0.3"})):
        errors = [str(error) for error in jsonschema_rs.validator_for(schema).iter_errors(shown)]
        assert not errors, errors[:5]


def _as_30(node: Any) -> Any:
    """What the explorer's script (http/explorer.py) does before Swagger UI sees the
    document: lists of types (3.1 only) left out."""
    if isinstance(node, list):
        return [_as_30(item) for item in node]
    if isinstance(node, dict):
        return {key: _as_30(value) for key, value in node.items() if not (key == "type" and isinstance(value, list))}
    return node



FORM_OPERATIONS = ("/v1/api/oauth/token", "/oauth2/token", "/oauth2/introspect", "/oauth2/revoke")


@pytest.mark.parametrize("path", FORM_OPERATIONS)
def test_a_form_the_schema_allows_never_holds_a_second_authentication_method(tmp_path: Path, path: str) -> None:
    """With the Basic credentials the operations require, a form secret (or another client
    id) is 400 (RFC 6749 §2.3): the schema lists neither field, the prose says when they
    apply, and so a schema-valid request is not refused for carrying them."""
    operation = _document(_app(tmp_path))["paths"][path]["post"]
    assert operation["security"] == [{"clientSecretBasic": []}]
    body = operation["requestBody"]
    assert not {"client_id", "client_secret"} & body["content"]["application/x-www-form-urlencoded"]["schema"]["properties"].keys()
    assert "client_secret_post" in body["description"] and "never both" in body["description"]


def test_the_token_endpoints_are_declared_as_client_credentials_token_urls(tmp_path: Path) -> None:
    """Where a well-formed request may still be refused for what the store holds (a scope or
    audience not registered for the client: RFC 6749 §5.2, RFC 8707), the document says it
    is a token URL, which is how tools such as Schemathesis know that 400 is an answer there."""
    schemes = _document(_app(tmp_path))["components"]["securitySchemes"]
    token_urls = {
        scheme["flows"]["clientCredentials"]["tokenUrl"] for scheme in schemes.values() if scheme["type"] == "oauth2"
    }
    assert token_urls == {"/v1/api/oauth/token", "/oauth2/token"}
