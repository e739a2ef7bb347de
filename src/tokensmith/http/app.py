"""The ASGI application: routes, error rendering, and the node they share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio
import anyio.to_thread
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tokensmith.admin.listener import ListenerGate
from tokensmith.admin.problems import AdminError
from tokensmith.admin.routes import admin_routes, console_routes
from tokensmith.admin.stats import TokenHistory
from tokensmith.config import Settings
from tokensmith.console.routes import Assets as ConsoleAssets
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.http import discovery, explorer, health, introspection, oauth_token, openapi, revocation, seed_token
from tokensmith.http import metrics as metrics_http
from tokensmith.http.errors import allow_value, problem_details, render_error
from tokensmith.http.request_context import RequestContext, internal_error
from tokensmith.http.routing import exact
from tokensmith.http.source_address import SourceAddresses
from tokensmith.http.token_route import TokenRoutes, starlette_endpoint
from tokensmith.logs import configure_logging
from tokensmith.node import Node
from tokensmith.store.availability import StoreUnavailable
from tokensmith.store.last_used import write_periodically

log = logging.getLogger("tokensmith")

_HTTP_PROBLEMS = {404: Problem.NOT_FOUND, 405: Problem.METHOD_NOT_ALLOWED}


def create_app(node: Node) -> TokenRoutes:
    source = node.settings.error_source

    async def on_refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TokensmithError)
        request.state.problem = exc.problem.name.lower()  # for the metrics layer
        # `instance` is the decoded path as received (docs/errors.md), as in the access
        # log: request.url re-parses it, dropping tabs and line breaks (`/healthz%09`
        # would name /healthz) and re-encoding `?` and `#`.
        return render_error(exc, request.scope["path"], source)

    async def on_store_unavailable(request: Request, exc: Exception) -> Response:
        # A store call that escaped the gate (store/availability.py) counts too.
        if not isinstance(exc, StoreUnavailable):
            node.gate.failed("request", exc)
        request.state.problem = Problem.UNAVAILABLE.name.lower()
        error = TokensmithError(Problem.UNAVAILABLE, "The store is not answering; retry shortly", retry_after=1)
        return render_error(error, request.scope["path"], source)

    async def on_admin_refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AdminError)
        request.state.problem = exc.problem.name.lower()
        return problem_details(exc.problem.name.lower(), exc.problem.status, exc.detail, request.scope["path"], headers=exc.headers)

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        problem = _HTTP_PROBLEMS.get(exc.status_code, Problem.MALFORMED_REQUEST)
        headers = dict(exc.headers or {})
        if "Allow" in headers:
            headers["Allow"] = allow_value(headers["Allow"])
        return render_error(TokensmithError(problem), request.scope["path"], source, headers)

    async def on_internal_error(request: Request, exc: Exception) -> Response:
        # Starlette's ServerErrorMiddleware answers with this (not its plain-text 500)
        # and re-raises: RequestContext then logs the traceback once, under the same id.
        request.state.problem = Problem.INTERNAL_ERROR.name.lower()
        return internal_error(request.state.request_id, request.scope["path"], source)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Warm the key ring before the first request rather than during it.
        await anyio.to_thread.run_sync(node.key_cache.reload)
        listener = node.fanout_listener()
        task = None
        sampler = asyncio.create_task(app.state.token_history.run(), name="tokensmith-token-history")
        if listener is not None:
            app.state.fanout = listener
            task = asyncio.create_task(listener.run(), name="tokensmith-fanout")
            # Serve subscribed, so that no announcement made after start-up is missed.
            with anyio.move_on_after(2 * node.settings.redis_timeout_seconds + 1):
                await listener.ready.wait()
        # When each credential was last used, written in batches (store/last_used.py).
        uses = asyncio.create_task(write_periodically(node.last_used, node.credential_uses, node.gate, node.settings.credential_use_write_seconds), name="tokensmith-last-used")
        log.info("serving", extra={"issuer": node.settings.issuer, "kid": node.key_cache.signer and node.key_cache.signer.kid})
        yield
        sampler.cancel()
        with suppress(asyncio.CancelledError):
            await sampler
        uses.cancel()
        with suppress(asyncio.CancelledError):
            await uses
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        if node.redis is not None:
            with anyio.move_on_after(1):
                await node.redis.close()

    routes = [
        Route(seed_token.PATH, starlette_endpoint(seed_token.ENDPOINT), methods=["POST"]),
        Route(oauth_token.PATH, starlette_endpoint(oauth_token.ENDPOINT), methods=["POST"]),
        Route(introspection.PATH, introspection.introspect, methods=["POST"]),
        Route(revocation.PATH, revocation.revoke, methods=["POST"]),
        Route("/.well-known/oauth-authorization-server", discovery.authorization_server_metadata, methods=["GET"]),
        Route("/.well-known/jwks.json", discovery.jwks, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
    ]
    if node.settings.metrics_enabled:
        routes.append(Route(metrics_http.PATH, metrics_http.metrics_endpoint, methods=["GET"]))
    routes += [
        Route(openapi.PATH, openapi.openapi_document, methods=["GET"]),
        Route(explorer.PATH, explorer.page, methods=["GET"]),
        Route(explorer.ASSETS_PATH, explorer.asset, methods=["GET"]),
        *admin_routes(),
        *console_routes(),
    ]
    store_outages: dict[type[Exception], object] = {
        error: on_store_unavailable
        for error in (StoreUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, sa.exc.DisconnectionError)
    }
    app = Starlette(
        routes=[exact(route) for route in routes],
        lifespan=lifespan,
        # Starlette gives the handler for Exception to its ServerErrorMiddleware, not to the others.
        exception_handlers={TokensmithError: on_refusal, AdminError: on_admin_refusal, HTTPException: on_http_exception, **store_outages, Exception: on_internal_error},  # type: ignore[dict-item]
    )
    # A redirect to `path/` would send the client's credentials a second time, to a
    # URL built from the Host header: an unknown path is a 404 instead.
    app.router.redirect_slashes = False
    app.state.node = node
    # Built once, from the routes really mounted: one without a description stops start-up.
    app.state.openapi = openapi.render(node.settings, openapi.mounted(app.routes))
    app.state.explorer_assets = explorer.Assets()  # read on first use
    app.state.source_addresses = SourceAddresses(node.settings.trusted_proxies)
    app.state.console_assets = ConsoleAssets()
    app.state.token_history = TokenHistory()
    gated = ListenerGate(app, node.settings.admin_port, source)
    measured = metrics_http.MetricsMiddleware(
        gated, routes=routes, token_endpoints=(seed_token.PATH, oauth_token.PATH)
    )
    rest = RequestContext(measured, source=source, log_requests=node.settings.access_log)
    # POST to the two token endpoints skips the layers above (http/token_route.py).
    return TokenRoutes(rest, app, node, source=source, log_requests=node.settings.access_log)


def app_from_environment() -> TokenRoutes:
    """The factory `tokensmith serve` gives uvicorn: each worker builds its own node."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(Node.from_settings(settings))
