"""A failure no handler expected, in a route other than the two token endpoints
(http/token_route.py answers those itself), is answered with the catalogue's 500
(`240113`) in the path's error format, naming the request id and nothing else; the
traceback goes to the log once, under that id.

A real server cannot be made to fail on purpose, so these tests build the app in
process (http/app.py create_app, every layer included) with a handler that raises,
and speak to it through httpx's ASGI transport."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.requests import Request
from starlette.responses import Response

from tests.e2e.wire import SEED_ERROR_KEYS
from tokensmith.cli.context import open_node
from tokensmith.config import Settings
from tokensmith.http import discovery, introspection, request_context
from tokensmith.http.app import create_app

SECRET_TEXT = "secret-ish text: db password hunter2"
JWKS = "/.well-known/jwks.json"
INTROSPECT = "/oauth2/introspect"

pytestmark = pytest.mark.anyio


async def fail(request: Request) -> Response:
    raise RuntimeError(SECRET_TEXT)


@dataclass
class Captured:
    errors: list[logging.LogRecord] = field(default_factory=list)
    access: list[tuple[str, str, str, int]] = field(default_factory=list)


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Captured]:
    found = Captured()

    def log_access(request_id: str, method: str, path: str, status: int, *rest: Any) -> None:
        found.access.append((request_id, method, path, status))

    monkeypatch.setattr(request_context, "log_access", log_access)
    handler = _Collect(found.errors)
    error_log = logging.getLogger("tokensmith.error")
    level = error_log.level
    error_log.addHandler(handler)
    error_log.setLevel(logging.ERROR)
    yield found
    error_log.removeHandler(handler)
    error_log.setLevel(level)


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured: Captured) -> AsyncIterator[httpx.AsyncClient]:
    # Before create_app, which mounts the handlers it finds on the modules.
    monkeypatch.setattr(discovery, "jwks", fail)
    monkeypatch.setattr(introspection, "introspect", fail)
    node = open_node(Settings(database_url=f"sqlite:///{tmp_path / 'tokensmith.db'}", error_source="AGT"), create=True)
    transport = httpx.ASGITransport(app=create_app(node))
    async with httpx.AsyncClient(transport=transport, base_url="http://tokensmith.test") as http:
        yield http
    node.engine.dispose()


def _requests_counted(path: str, method: str, status: str) -> float:
    labels = {"endpoint": path, "method": method, "status": status}
    return REGISTRY.get_sample_value("tokensmith_http_requests_total", labels) or 0.0


async def test_a_failing_route_answers_the_documented_500_in_the_seed_format(client: httpx.AsyncClient) -> None:
    response = await client.get(JWKS)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    request_id = response.headers["x-request-id"]
    [problem] = response.json()
    assert list(problem) == SEED_ERROR_KEYS
    assert problem == {
        "detail": "Please refer to invalid-params for error details",
        "errorCode": "240113",
        "instance": JWKS,
        "invalid-params": [f"Internal error; request id {request_id}"],
        "source": "AGT",
        "status": 500,
        "title": "Internal Server Error",
    }
    assert SECRET_TEXT not in response.text and "RuntimeError" not in response.text


async def test_a_failing_oauth2_route_answers_the_rfc_6749_format(client: httpx.AsyncClient) -> None:
    response = await client.post(INTROSPECT, data={"token": "x"})
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {"error": "server_error", "error_description": f"Internal error; request id {request_id}"}
    assert SECRET_TEXT not in response.text


async def test_the_callers_request_id_names_the_failure_in_the_body_and_the_log(
    client: httpx.AsyncClient, captured: Captured
) -> None:
    response = await client.get(JWKS, headers={"X-Request-Id": "trace-500.a"})
    assert response.headers["x-request-id"] == "trace-500.a"
    assert response.json()[0]["invalid-params"] == ["Internal error; request id trace-500.a"]
    # The traceback is logged once, under the id; the access log has one line, a 500.
    [record] = captured.errors
    assert record.request_id == "trace-500.a"  # type: ignore[attr-defined]
    assert record.exc_info is not None and str(record.exc_info[1]) == SECRET_TEXT
    assert captured.access == [("trace-500.a", "GET", JWKS, 500)]


async def test_the_failure_is_counted_as_a_500(client: httpx.AsyncClient) -> None:
    before = _requests_counted(JWKS, "GET", "500")
    await client.get(JWKS)
    assert _requests_counted(JWKS, "GET", "500") == before + 1
