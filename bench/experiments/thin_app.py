"""Experiment for the profile's recommendations, not product code: the seed endpoint's
common case (POST, Basic credentials, empty body) answered by one thin ASGI callable
in front of tokensmith's own issuing path. Every other request (another path or
method, a body) goes to the full application unchanged.

Kept, so that the comparison is fair: the product's `issue` (client
authentication with the brute-force guard, scopes, audience, issuance limits,
signing), the query and scope parsing, the error rendering, the request id, the
Prometheus metrics the MetricsMiddleware records for a token request, and the JSON
access-log line, written through the same logger.

Left out, which is what the experiment measures: Starlette's Router, Request and
Response objects and exception middleware, and the two wrapper middlewares
(RequestContext, MetricsMiddleware) that wrap `send` for every request. Serve it
with bench/experiments/serve_uvicorn.py or granian, factory
`thin_app:app_from_environment`.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from types import SimpleNamespace
from typing import Any

import orjson
from starlette.datastructures import State
from tokensmith.http.issuing import requested_audience

from tokensmith.config import Settings
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.scopes import parse_scope
from tokensmith.http.app import create_app
from tokensmith.http.errors import render_error
from tokensmith.http.parsing import parse_parameters
from tokensmith.http.seed_token import PATH as SEED_PATH
from tokensmith.logs import configure_logging
from tokensmith.node import Node

access_log = logging.getLogger("tokensmith.access")
_SAFE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
# Everything but the length and the request id is the same for every 200.
_FIXED_HEADERS = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


class _Headers:
    """The one header issue_for_request reads, without building Starlette's Headers."""

    __slots__ = ("authorization",)

    def __init__(self, authorization: str) -> None:
        self.authorization = authorization

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.authorization if name == "authorization" else default


class _Request:
    """What issue_for_request and authenticate_request use of a Starlette Request."""

    __slots__ = ("app", "headers", "scope", "state")

    def __init__(self, scope: dict[str, Any], authorization: str, app: Any) -> None:
        self.scope = scope
        self.headers = _Headers(authorization)
        self.state = State(scope.setdefault("state", {}))
        self.app = app


def _newer_api() -> tuple[Any, Any, Any]:
    """issue / log_access / record_request where this tree has them (None otherwise),
    so that the experiment does per token exactly what the product does."""
    found = []
    for module, name in (("tokensmith.http.issuing", "issue"), ("tokensmith.logs", "log_access"), ("tokensmith.http.metrics", "record_request")):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            found.append(None)
    return found[0], found[1], found[2]


def _metrics() -> Any:
    try:
        from tokensmith import metrics
    except ImportError:  # an older tree without metrics
        return None
    return metrics


def thin_app(node: Node, full_app: Any) -> Any:
    settings = node.settings
    source = settings.error_source
    log_requests = settings.access_log
    metrics = _metrics()
    issue, log_access, record_request = _newer_api()
    try:
        from tokensmith.http.source_address import SourceAddresses

        app_state = SimpleNamespace(state=SimpleNamespace(source_addresses=SourceAddresses(settings.trusted_proxies), node=node))
    except ImportError:
        app_state = SimpleNamespace(state=SimpleNamespace(node=node))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != SEED_PATH or scope["method"] != "POST":
            await full_app(scope, receive, send)
            return
        authorization = request_id = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
                await full_app(scope, receive, send)  # a body: the full parser decides
                return
            elif name == b"x-request-id" and _SAFE_REQUEST_ID.fullmatch(value):
                request_id = value
        if authorization is None:
            await full_app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id or secrets.token_hex(8).encode()
        message = await receive()  # the empty body
        while message.get("more_body"):
            message = await receive()
        status = 200
        request = _Request(scope, authorization.decode("latin-1"), app_state)
        try:
            query = parse_parameters(scope["query_string"].decode("ascii"), "query string")
            scope_text = query.get("scope")
            if scope_text is None:
                raise TokensmithError(Problem.SCOPE_MISSING)
            scopes = parse_scope(scope_text, max_length=settings.seed_max_scope_length)
            audience = requested_audience(query)
            if issue is not None:
                addresses = app_state.state.source_addresses
                token, _ = await issue(
                    node, request.headers.authorization, {}, scopes, audience, scope_refusal=Problem.INVALID_CLIENT,
                    endpoint=SEED_PATH, state=scope["state"], source=lambda: addresses.of(scope),
                )  # fmt: skip
            else:  # an older tree, which has issue_for_request instead
                from tokensmith.http.issuing import issue_for_request  # type: ignore[attr-defined]

                token = await issue_for_request(request, node, {}, scopes, audience, scope_refusal=Problem.INVALID_CLIENT)
            body = orjson.dumps({"access_token": token.access_token, "expires_in": token.expires_at, "token_type": "Bearer"})
            headers = [*_FIXED_HEADERS, (b"content-length", b"%d" % len(body)), (b"x-request-id", request_id)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except TokensmithError as error:
            request.state.problem = error.problem.name.lower()
            response = render_error(error, scope["path"], source, {"x-request-id": request_id.decode()})
            status = response.status_code
            await response(scope, receive, send)
        elapsed = time.perf_counter() - started
        if record_request is not None:
            record_request(scope, SEED_PATH, "POST", status, elapsed, True)
        elif metrics is not None:
            metrics.request_latency.labels(SEED_PATH, "POST").observe(elapsed)
            metrics.requests.labels(SEED_PATH, "POST", str(status)).inc()
            client_id = scope["state"].get("authenticated_client_id", "")
            if status == 200:
                metrics.tokens_issued.labels(SEED_PATH, client_id).inc()
            else:
                metrics.tokens_refused.labels(SEED_PATH, scope["state"].get("problem") or "refused", client_id).inc()
        if log_requests and log_access is not None:
            client = scope.get("client")
            log_access(
                request_id.decode(), "POST", SEED_PATH, status, scope["state"].get("client_id"),
                client[0] if client else None, round(elapsed * 1000, 3),
            )  # fmt: skip
        elif log_requests:
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id.decode(),
                    "method": "POST",
                    "path": SEED_PATH,
                    "status": status,
                    "client_id": scope["state"].get("client_id"),
                    "remote": client[0] if client else None,
                    "latency_ms": round(elapsed * 1000, 3),
                },
            )

    return app


def app_from_environment() -> Any:
    settings = Settings()
    configure_logging(settings.log_level)
    node = Node.from_settings(settings)
    full_app = create_app(node)  # also runs the lifespan (key ring warm-up, fan-out)
    return thin_app(node, full_app)
