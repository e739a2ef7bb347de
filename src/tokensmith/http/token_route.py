"""The two token endpoints, `POST /v1/api/oauth/token` and `POST /oauth2/token`, as one
plain ASGI layer in front of the Starlette application, which keeps every other
route (and every other method on these two paths: 405 with Allow).

Issuing a token is the service's hot path, and around one signature every layer
counts: this layer reads the header fields once from the ASGI scope, answers with a
header list prepared once, and does itself what RequestContext and
MetricsMiddleware do for the other routes (request id, access-log line, clean 500,
latency and counts), instead of each wrapping the app and `send`. What it answers is
exactly what the Starlette routes answer: the same handlers (seed_token.token_body,
oauth_token.token_body), the same error rendering, the same headers, log fields and
metrics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.http import oauth_token, seed_token
from tokensmith.http.errors import allow_value, render_error
from tokensmith.http.metrics import record_request
from tokensmith.http.request_context import internal_error, request_id_for
from tokensmith.http.routing import path_as_sent
from tokensmith.logs import log_access
from tokensmith.node import Node
from tokensmith.store.availability import StoreUnavailable

error_log = logging.getLogger("tokensmith.error")

Handler = Callable[..., Awaitable[bytes]]
ReceivedHandler = Callable[[Node, Scope, bytes, "str | None", dict[str, Any]], "bytes | None"]

# The same classes app.py maps to 503 for the Starlette routes.
STORE_OUTAGES = (StoreUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, sa.exc.DisconnectionError)
_HTTP_PROBLEMS = {404: Problem.NOT_FOUND, 405: Problem.METHOD_NOT_ALLOWED}

# A 200's header fields, in the order a Starlette Response(body, 200, NO_STORE,
# media_type="application/json") gives them, the length and request id then added.
_OK_HEAD = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))
_JSON = (b"content-type", b"application/json")


class TokenRoutes:
    """The outermost ASGI layer: POST to a token endpoint is answered here, anything
    else goes to `app` (RequestContext → MetricsMiddleware → Starlette)."""

    def __init__(self, app: ASGIApp, starlette: Starlette, node: Node, *, source: str, log_requests: bool) -> None:
        self.app = app
        self._starlette = starlette
        self._node = node
        self._source = source
        self._log_requests = log_requests
        self._handlers: dict[str, Handler] = {
            seed_token.PATH: seed_token.token_body,
            oauth_token.PATH: oauth_token.token_body,
        }
        self._received_handlers: dict[str, ReceivedHandler] = {
            seed_token.PATH: seed_token.received_token_body,
            oauth_token.PATH: oauth_token.received_token_body,
        }
        self.paths = frozenset(self._handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Exact paths only (http/routing.py): `/oauth2/token\n`, `/oauth2%2Ftoken` are not this route.
        if scope["type"] == "http" and scope["method"] == "POST" and path_as_sent(scope):
            handler = self._handlers.get(scope["path"])
            if handler is not None:
                await self._serve(handler, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def answer_received(self, scope: Scope, body: bytes) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The 200 answer (header fields, body) to a POST to a token endpoint whose
        request, body included, has all been received, when answering it needs no I/O
        (a warm client, no limit to consult: http/issuing.py issue_now). None when the
        ASGI route must answer it (a store lookup, any refusal): nothing has then been
        logged, counted or kept. http/protocol.py calls this before starting the ASGI
        cycle, saving the task and the ASGI messages on the service's hot path."""
        handler = self._received_handlers.get(scope["path"])
        if handler is None or not path_as_sent(scope):
            return None
        started = time.perf_counter()
        authorization, request_id = _request_fields(scope)
        attempt: dict[str, Any] = {}
        try:
            answer = handler(self._node, scope, body, authorization.decode("latin-1") if authorization is not None else None, attempt)
        except TokensmithError:
            return None  # refused: the ASGI route answers it, counts it and logs it
        except Exception:
            # A fault of this path: the ASGI route answers the request; the fault is
            # logged so that it does not stay hidden behind the fallback.
            error_log.exception("answering a received token request failed; left to the ASGI route")
            return None
        if answer is None:
            return None
        state = _request_state(scope, request_id)
        state.update(attempt)
        headers = [*_OK_HEAD, (b"content-length", b"%d" % len(answer)), _JSON, (b"x-request-id", request_id.encode("ascii"))]
        self._finish(scope, 200, started, request_id, state)
        return headers, answer

    async def _serve(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        authorization, request_id = _request_fields(scope)
        request_id_header = (b"x-request-id", request_id.encode("ascii"))
        state = _request_state(scope, request_id)
        scope["app"] = self._starlette  # as Starlette sets it: Request.app, the body's read timeout
        node = self._node
        request = Request(scope, receive)
        status = 500
        response_started = False
        try:
            try:
                body = await handler(
                    node,
                    request,
                    authorization.decode("latin-1") if authorization is not None else None,
                    state,
                    lambda: self._starlette.state.source_addresses.of(scope),
                )
            except TokensmithError as error:
                state["problem"] = error.problem.name.lower()  # for the metrics
                failure = render_error(error, path, self._source)
            except STORE_OUTAGES as exc:
                # A store call that escaped the gate (store/availability.py) counts too.
                if not isinstance(exc, StoreUnavailable):
                    node.gate.failed("request", exc)
                state["problem"] = Problem.UNAVAILABLE.name.lower()
                outage = TokensmithError(Problem.UNAVAILABLE, "The store is not answering; retry shortly", retry_after=1)
                failure = render_error(outage, path, self._source)
            except HTTPException as exc:
                problem = _HTTP_PROBLEMS.get(exc.status_code, Problem.MALFORMED_REQUEST)
                headers = dict(exc.headers or {})
                if "Allow" in headers:
                    headers["Allow"] = allow_value(headers["Allow"])
                failure = render_error(TokensmithError(problem), path, self._source, headers)
            else:
                status = 200
                response_started = True
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [*_OK_HEAD, (b"content-length", b"%d" % len(body)), _JSON, request_id_header],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            status = failure.status_code
            response_started = True
            await send({"type": "http.response.start", "status": status, "headers": [*failure.raw_headers, request_id_header]})
            await send({"type": "http.response.body", "body": failure.body})
        except Exception:
            # The traceback goes to the log under the request id; the caller sees the id only.
            error_log.exception("unhandled error", extra={"request_id": request_id})
            if not response_started:
                failure = internal_error(request_id, path, self._source)
                status = failure.status_code
                response_started = True
                await send({"type": "http.response.start", "status": status, "headers": [*failure.raw_headers, request_id_header]})
                await send({"type": "http.response.body", "body": failure.body})
        finally:
            self._finish(scope, status, started, request_id, state)

    def _finish(self, scope: Scope, status: int, started: float, request_id: str, state: dict[str, Any]) -> None:
        """The latency, the counts and the access-log line of one answered request."""
        path: str = scope["path"]
        record_request(scope, path, "POST", status, time.perf_counter() - started, True)
        if self._log_requests:
            client = scope.get("client")
            log_access(
                request_id,
                "POST",
                path,
                status,
                state.get("client_id"),
                client[0] if client else None,
                round((time.perf_counter() - started) * 1000, 3),
            )


def _request_fields(scope: Scope) -> tuple[bytes | None, str]:
    """The Authorization header field and the request id (the caller's X-Request-Id
    when it is a safe one, else a new one)."""
    authorization: bytes | None = None
    given_id: bytes | None = None
    for name, value in scope["headers"]:
        # The first of each, as Starlette's Headers.get and RequestContext read them
        # (a repeated Authorization is refused by http/parsing.py form_body).
        if name == b"authorization":
            if authorization is None:
                authorization = value
        elif name == b"x-request-id" and given_id is None:
            given_id = value
    return authorization, request_id_for(given_id)


def _request_state(scope: Scope, request_id: str) -> dict[str, Any]:
    state: dict[str, Any] | None = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state["request_id"] = request_id
    return state
