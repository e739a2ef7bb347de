"""The ASGI application: routes, error rendering, and the node they share."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tokensmith.config import Settings
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.http import discovery, health, introspection, oauth_token, revocation, seed_token
from tokensmith.http.errors import render_error
from tokensmith.http.request_context import RequestContext
from tokensmith.logs import configure_logging
from tokensmith.node import Node

log = logging.getLogger("tokensmith")

_HTTP_PROBLEMS = {404: Problem.NOT_FOUND, 405: Problem.METHOD_NOT_ALLOWED}


def create_app(node: Node) -> RequestContext:
    source = node.settings.error_source

    async def on_refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TokensmithError)
        return render_error(exc, request.url.path, source)

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        problem = _HTTP_PROBLEMS.get(exc.status_code, Problem.MALFORMED_REQUEST)
        return render_error(TokensmithError(problem), request.url.path, source, dict(exc.headers or {}))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Warm the key ring before the first request rather than during it.
        await anyio.to_thread.run_sync(node.key_cache.reload)
        log.info("serving", extra={"issuer": node.settings.issuer, "kid": node.key_cache.signer and node.key_cache.signer.kid})
        yield

    routes = [
        Route(seed_token.PATH, seed_token.seed_token, methods=["POST"]),
        Route(oauth_token.PATH, oauth_token.oauth_token, methods=["POST"]),
        Route(introspection.PATH, introspection.introspect, methods=["POST"]),
        Route(revocation.PATH, revocation.revoke, methods=["POST"]),
        Route("/.well-known/oauth-authorization-server", discovery.authorization_server_metadata, methods=["GET"]),
        Route("/.well-known/jwks.json", discovery.jwks, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={TokensmithError: on_refusal, HTTPException: on_http_exception},
    )
    app.state.node = node
    return RequestContext(app, source=source, log_requests=node.settings.access_log)


def app_from_environment() -> RequestContext:
    """The factory `tokensmith serve` gives uvicorn: each worker builds its own node."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(Node.from_settings(settings))
