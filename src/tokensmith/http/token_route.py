"""The two token endpoints, `POST /v1/api/oauth/token` and `POST /oauth2/token`, as one
plain ASGI layer in front of the Starlette application, which keeps every other
route (and every other method on these two paths: 405 with Allow).

Every token request takes one path: the exchange (exchange/flow.py) run by the
driver (exchange/driver.py), then `finish`, which renders, logs and counts. A request
that arrived whole is first run by http/protocol.py through `answer_received`
without waiting; if it issued a token without waiting, the protocol writes it at
once; otherwise the exchange, stopped where it had to wait (or already refused), is
handed to the ASGI route in the request's state and continued there, never redone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tokensmith.domain.dpop import ProofRules
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.exchange.authentication.authenticate import Trace
from tokensmith.exchange.dpop import DpopChecks
from tokensmith.exchange.driver import Driver, Suspended
from tokensmith.exchange.flow import (
    Endpoint,
    ExchangeContext,
    TokenRequest,
    token_exchange,
)
from tokensmith.http import oauth_token, seed_token
from tokensmith.http.authentication import authentication_checks
from tokensmith.http.errors import NO_STORE, render_error
from tokensmith.http.metrics import record_request
from tokensmith.http.parsing import BodyHead, body_head, read_body
from tokensmith.http.request_context import internal_error, request_id_for
from tokensmith.http.routing import path_as_sent
from tokensmith.http.source_address import SourceAddresses
from tokensmith.logs import log_access
from tokensmith.node import Node
from tokensmith.store.availability import StoreUnavailable

error_log = logging.getLogger("tokensmith.error")

# The same classes app.py maps to 503 for the Starlette routes.
STORE_OUTAGES = (StoreUnavailable, sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError, sa.exc.DisconnectionError)
ENDPOINTS: dict[str, Endpoint] = {seed_token.PATH: seed_token.ENDPOINT, oauth_token.PATH: oauth_token.ENDPOINT}
_HANDED_OVER = "tokensmith.exchange"  # the request-state key of an exchange the protocol began

# A 200's header fields, in the order a Starlette Response(body, 200, NO_STORE,
# media_type="application/json") gives them, the length and request id then added.
_OK_HEAD = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))
_JSON = (b"content-type", b"application/json")
Headers = list[tuple[bytes, bytes]]


def exchange_context(node: Node) -> ExchangeContext:
    settings = node.settings
    proof_rules = ProofRules(iat_window=settings.dpop_iat_window_seconds, leeway=settings.dpop_leeway_seconds)
    return ExchangeContext(
        issuer=settings.issuer,
        default_audience=settings.audience,
        checks=authentication_checks(node),
        max_body_bytes=settings.max_body_bytes,
        seed_max_scope_length=settings.seed_max_scope_length,
        max_scope_length=settings.max_scope_length,
        dpop=DpopChecks.for_issuer(settings.issuer, tuple(ENDPOINTS), proof_rules, node.dpop_nonces),
    )


@dataclass(slots=True)
class _HandedOver:
    """An exchange the protocol began: stopped at a need that waits, or finished
    with a refusal or a fault (`outcome`)."""

    started: float
    request_id: str
    trace: Trace
    driver: Driver
    suspended: Suspended | None
    outcome: BaseException | None


class TokenRoutes:
    """The outermost ASGI layer: POST to a token endpoint is answered here, anything
    else goes to `app` (RequestContext → MetricsMiddleware → Starlette)."""

    def __init__(self, app: ASGIApp, starlette: Starlette, node: Node, *, source: str, log_requests: bool) -> None:
        self.app = app
        self._starlette = starlette
        self._node = node
        self._source = source
        self._log_requests = log_requests
        self._context = exchange_context(node)
        self._nonces = node.dpop_nonces
        self._addresses: SourceAddresses = starlette.state.source_addresses
        self.paths = frozenset(ENDPOINTS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Exact paths only (http/routing.py): `/oauth2/token\n`, `/oauth2%2Ftoken` are not this route.
        if scope["type"] == "http" and scope["method"] == "POST" and path_as_sent(scope):
            endpoint = ENDPOINTS.get(scope["path"])
            if endpoint is not None:
                await self._serve(endpoint, scope, receive, send)
                return
        await self.app(scope, receive, send)

    def answer_received(self, scope: Scope, body: bytes) -> tuple[Headers, bytes] | None:
        """The 200 answer (header fields, body) to a POST to a token endpoint whose
        request, body included, has all been received, when the exchange issued the
        token without waiting. None otherwise: the exchange, as far as it got, is
        then in the request's state for the ASGI route to finish (nothing has been
        logged or counted yet). http/protocol.py calls this before starting the ASGI
        cycle, saving the task and the ASGI messages on the service's hot path."""
        endpoint = ENDPOINTS.get(scope["path"])
        if endpoint is None or not path_as_sent(scope):
            return None
        started = time.perf_counter()
        head = body_head(scope["headers"])
        request_id = request_id_for(head.request_id)
        trace = Trace()
        driver = Driver(self._node, endpoint.path, self._addresses, scope)
        flow = token_exchange(endpoint, TokenRequest(head, scope.get("query_string", b""), body, path=endpoint.path), self._context, trace)
        state = _request_state(scope, request_id)
        try:
            result = driver.run_now(flow)
        except Exception as exc:  # a refusal (or a fault): the ASGI route answers it
            state[_HANDED_OVER] = _HandedOver(started, request_id, trace, driver, None, exc)
            return None
        if isinstance(result, Suspended):
            state[_HANDED_OVER] = _HandedOver(started, request_id, trace, driver, result, None)
            return None
        return self.finish(scope, state, result, started, request_id, trace)[1:]

    async def _serve(self, endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state") or {}
        handed: _HandedOver | None = state.pop(_HANDED_OVER, None)
        outcome: bytes | BaseException
        if handed is not None:
            started, request_id, trace = handed.started, handed.request_id, handed.trace
            if handed.outcome is not None:
                outcome = handed.outcome
            else:
                assert handed.suspended is not None
                outcome = await _outcome(handed.driver.resume(handed.suspended))
        else:
            started = time.perf_counter()
            head = body_head(scope["headers"])
            request_id = request_id_for(head.request_id)
            state = _request_state(scope, request_id)
            scope["app"] = self._starlette  # as Starlette sets it: Request.app, the body's read timeout
            request = Request(scope, receive)
            trace = Trace()

            async def read(head: BodyHead, limit: int) -> bytes:
                return await read_body(request, limit, head)

            driver = Driver(self._node, endpoint.path, self._addresses, scope, read)
            flow = token_exchange(endpoint, TokenRequest(head, scope.get("query_string", b""), path=endpoint.path), self._context, trace)
            outcome = await _outcome(driver.run(flow))
        status, headers, body = self.finish(scope, state, outcome, started, request_id, trace)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def finish(
        self, scope: Scope, state: dict[str, Any], outcome: bytes | BaseException, started: float, request_id: str, trace: Trace
    ) -> tuple[int, Headers, bytes]:
        """The answer to an exchange's outcome (a 200 body, or what it raised), with
        its access-log line, latency and counts: the one place a token request ends."""
        path: str = scope["path"]
        trace.report(state)
        request_id_field = (b"x-request-id", request_id.encode("ascii"))
        if isinstance(outcome, bytes):
            status, headers, body = 200, [*_OK_HEAD, (b"content-length", b"%d" % len(outcome)), _JSON, request_id_field], outcome
            if self._nonces is not None and _carries_dpop(scope):
                # RFC 9449 §8.2: a fresh nonce with the token, before the one held goes stale.
                headers.append((b"dpop-nonce", self._nonces.current(time.time()).encode("ascii")))
        else:
            failure = self._failure(outcome, path, request_id)
            state["problem"] = _problem_of(outcome)
            status, headers, body = failure.status_code, [*failure.raw_headers, request_id_field], bytes(failure.body)
        record_request(scope, path, "POST", status, time.perf_counter() - started, True)
        if self._log_requests:
            client = scope.get("client")
            log_access(request_id, "POST", path, status, trace.client_id, client[0] if client else None, round((time.perf_counter() - started) * 1000, 3))
        return status, headers, body

    def _failure(self, exc: BaseException, path: str, request_id: str) -> Response:
        if isinstance(exc, TokensmithError):
            return render_error(exc, path, self._source)
        if isinstance(exc, STORE_OUTAGES):
            # A store call that escaped the gate (store/availability.py) counts too.
            if not isinstance(exc, StoreUnavailable):
                self._node.gate.failed("request", exc)
            outage = TokensmithError(Problem.UNAVAILABLE, "The store is not answering; retry shortly", retry_after=1)
            return render_error(outage, path, self._source)
        # The traceback goes to the log under the request id; the caller sees the id only.
        error_log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
        return internal_error(request_id, path, self._source)

def _carries_dpop(scope: Scope) -> bool:
    return any(name == b"dpop" for name, _ in scope["headers"])


async def _outcome(running: Awaitable[bytes]) -> bytes | BaseException:
    try:
        return await running
    except Exception as exc:
        return exc


def _problem_of(exc: BaseException) -> str:
    if isinstance(exc, TokensmithError):
        return exc.problem.name.lower()
    if isinstance(exc, STORE_OUTAGES):
        return Problem.UNAVAILABLE.name.lower()
    return Problem.INTERNAL_ERROR.name.lower()


def starlette_endpoint(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of a token path: the same exchange and driver. In
    `tokensmith serve` a POST is answered by TokenRoutes before it gets here; the
    route stays for the other methods (405 with Allow), the OpenAPI document, and
    the Starlette app served alone (refusals go to its exception handlers)."""

    async def answer(request: Request) -> Response:
        node: Node = request.app.state.node
        trace = Trace()
        state: dict[str, Any] = request.scope.setdefault("state", {})

        async def read(head: BodyHead, limit: int) -> bytes:
            return await read_body(request, limit, head)

        driver = Driver(node, endpoint.path, request.app.state.source_addresses, request.scope, read)
        token_request = TokenRequest(body_head(request.scope["headers"]), request.scope.get("query_string", b""), path=endpoint.path)
        try:
            body = await driver.run(token_exchange(endpoint, token_request, exchange_context(node), trace))
        finally:
            trace.report(state)
        return Response(body, 200, NO_STORE, media_type="application/json")

    return answer


def _request_state(scope: Scope, request_id: str) -> dict[str, Any]:
    state: dict[str, Any] | None = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state["request_id"] = request_id
    return state
