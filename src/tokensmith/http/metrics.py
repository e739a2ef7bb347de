"""`GET /metrics` (Prometheus text format) and the ASGI layer that measures every
request: latency and count by route template (a path no route matches is counted
as `unmatched`, never by its raw text), and, on the token endpoints, tokens issued
and refused by reason and authenticated client."""

from __future__ import annotations

import time
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokensmith import metrics

PATH = "/metrics"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def metrics_endpoint(request: Request) -> Response:
    body, media_type = metrics.exposition()
    return Response(body, 200, {"cache-control": "no-store"}, media_type=media_type)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, routes: Iterable[BaseRoute], token_endpoints: Iterable[str]) -> None:
        self.app = app
        plain = [route for route in routes if isinstance(route, Route)]
        self.exact = frozenset(route.path for route in plain if "{" not in route.path)
        self.templated = [(route.path_regex, route.path) for route in plain if "{" in route.path]
        self.token_endpoints = frozenset(token_endpoints)

    def endpoint(self, path: str) -> str:
        """The route template the path matches, or `unmatched`: never the raw path."""
        if path in self.exact:
            return path
        for regex, template in self.templated:
            if regex.match(path):
                return template
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        endpoint = self.endpoint(scope["path"])
        method = scope["method"] if scope["method"] in _METHODS else "other"
        status = 500

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        finally:
            record_request(scope, endpoint, method, status, time.perf_counter() - started, endpoint in self.token_endpoints)


def record_request(scope: Scope, endpoint: str, method: str, status: int, seconds: float, token_endpoint: bool) -> None:
    """The latency and count of one request and, on a token endpoint, the token
    issued or refused (by reason and authenticated client)."""
    metrics.observer(metrics.request_latency, endpoint, method)(seconds)
    metrics.incrementer(metrics.requests, endpoint, method, str(status))()
    if not token_endpoint:
        return
    state = scope.get("state") or {}
    client_id = state.get("authenticated_client_id", "")
    if status == 200:
        metrics.incrementer(metrics.tokens_issued, endpoint, client_id)()
        return
    reason = state.get("problem") or ("internal_error" if status >= 500 else "refused")
    metrics.incrementer(metrics.tokens_refused, endpoint, reason, client_id)()
