"""The outermost ASGI layer: a request id for every request, one JSON access-log line
per request, and a clean 500 (with that id, never a stack trace) for a failure no
handler expected."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.randomness import token_hex
from tokensmith.http.errors import render_error
from tokensmith.logs import log_access

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # also the OpenAPI document's pattern
# The same rule on the raw header bytes (latin-1 maps each byte to one character).
SAFE_REQUEST_ID_BYTES = re.compile(rb"[A-Za-z0-9._-]{1,64}")
access_log = logging.getLogger("tokensmith.access")
error_log = logging.getLogger("tokensmith.error")


def new_request_id() -> str:
    return token_hex(8)


# What a credential looks like in a path or a request id: a tokensmith secret, or a
# JWS/JWT (three base64url parts, the header starting `eyJ`, i.e. `{"`). Clients are
# never asked to put either there, but one that does must not find it in the log.
_CREDENTIAL = re.compile(r"tks_[A-Za-z0-9_\-]+|eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*")
REDACTED = "[redacted]"


def loggable_path(path: str) -> str:
    """The path as the access log records it: as received, with anything shaped like a
    secret or a token replaced by `[redacted]`."""
    if "tks_" not in path and "eyJ" not in path:
        return path
    return _CREDENTIAL.sub(REDACTED, path)


def request_id_for(given: bytes | None) -> str:
    """The request id for this caller's X-Request-Id value (the raw header bytes, None
    when absent): kept when it is safe to echo and log, else a new one. Safe: 1 to 64
    of `A-Za-z0-9._-` (nothing that could forge a log line or a header), and not shaped
    like a credential, a tokensmith secret or a JWT, which a confused caller may put
    there and which would then sit in every log line of the request."""
    if given is None or not SAFE_REQUEST_ID_BYTES.fullmatch(given):
        return new_request_id()
    text = given.decode("ascii")
    return new_request_id() if _CREDENTIAL.search(text) else text


def internal_error(request_id: str, path: str, source: str) -> Response:
    """240113 in the path's format: the request id, nothing about the failure."""
    error = TokensmithError(Problem.INTERNAL_ERROR, f"Internal error; request id {request_id}")
    return render_error(error, path, source)


class RequestContext:
    def __init__(self, app: ASGIApp, *, source: str, log_requests: bool = True) -> None:
        self.app = app
        self.source = source
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The traceback goes to the log under the request id; the caller sees the id only.
            error_log.exception("unhandled error", extra={"request_id": request_id})
            # A Starlette route's failure was answered already, by the app's handler
            # (http/app.py): Starlette's ServerErrorMiddleware re-raises it to us.
            if not response_started:
                await internal_error(request_id, scope["path"], self.source)(scope, receive, send_with_id)
        finally:
            if self.log_requests:
                self._log(scope, status, request_id, started)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        given = next((value for name, value in scope["headers"] if name == b"x-request-id"), None)
        return request_id_for(given)

    @staticmethod
    def _log(scope: Scope, status: int, request_id: str, started: float) -> None:
        state: dict[str, Any] = scope.get("state", {})
        client = scope.get("client")
        log_access(
            request_id,
            scope["method"],
            loggable_path(scope["path"]),
            status,
            state.get("client_id"),
            client[0] if client else None,
            round((time.perf_counter() - started) * 1000, 3),
        )
