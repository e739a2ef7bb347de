"""The HTTP/1.1 protocol `tokensmith serve` runs: uvicorn's httptools protocol with the
bounds it lacks on how much a client may send as a request head, and how slowly.

uvicorn's httptools protocol keeps a request's header fields in memory without any
limit (one connection sending an endless header field grows the process by as much as
it sends), and it has no deadline for a request head (a connection that sends nothing,
or one byte now and then, is kept open for ever: "slowloris"). This subclass:

- answers a request head (request line and header fields) of more than
  `TOKENSMITH_MAX_HEADER_BYTES` bytes, or with more than `TOKENSMITH_MAX_HEADER_FIELDS`
  fields, with 431 Request Header Fields Too Large (RFC 6585 §5) and closes the
  connection; a head that is still incomplete is counted as it arrives, so the memory
  it can take is bounded by the limit plus one read;
- answers a connection whose request head has not fully arrived within
  `TOKENSMITH_HEADER_READ_TIMEOUT_SECONDS` of the connection opening (or of the head's
  first byte, on a kept-alive connection) with 408 Request Timeout (RFC 9110 §15.5.9)
  and closes it. Idle kept-alive connections keep uvicorn's own 5 s limit;
- closes a connection whose request was answered before its body arrived (a 413 from
  the declared length, a 404) unless the rest of that body arrives within
  `TOKENSMITH_BODY_READ_TIMEOUT_SECONDS`: uvicorn would go on reading it for ever, and
  each byte of it cancels uvicorn's keep-alive timer, so one byte now and then (or one
  byte and then silence) would hold the connection open indefinitely.

It also refuses, before any application code runs (http/request_head.py), a head
with no Host (HTTP/1.1) or more than one, or an invalid one (400, RFC 9112 §3.2), and
a Transfer-Encoding other than a lone `chunked` (501, RFC 9112 §6.1); and, at once,
a connection from a source address that already holds
`TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS` open connections in this worker process
(503 and close: http/connection_limit.py).

No request reached the application, so these answers are plain text like uvicorn's own
400s (docs/errors.md, "Requests refused before tokensmith sees them"). The body has its
own deadline where the application reads it (http/parsing.py, 408 `240117`).

It also answers the service's hot path without an ASGI cycle: a POST to a token
endpoint whose whole request (head and body) arrived in one read is offered to
`TokenRoutes.answer_received` before uvicorn starts a task for it. When the token can
be issued with no I/O (a warm client, no refusal) the answer is written here, in one
write, with the same header fields, log line and metrics the ASGI route gives it;
otherwise, and for a body still on its way, the ASGI route answers as usual. This
saves the task, the ASGI messages and a second socket write per token.

On a TLS listener (`serve --tls-cert`) it reads the client certificate of each
connection once, when the connection is made (after the handshake), and puts it in
every request's scope as the ASGI TLS extension (scope["extensions"]["tls"]:
http/client_certificate.py), where the token routes and tokensmith.verify read it.

This is the only module that uses uvicorn's private internals (the protocol class,
its request cycle, STATUS_LINE, and the order its callbacks run in):
tests/http/test_uvicorn_contract.py checks each, and pyproject.toml pins uvicorn to
the versions that test passed on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from tokensmith.config import Settings
from tokensmith.http.client_certificate import tls_extension
from tokensmith.http.connection_limit import ConnectionLimit
from tokensmith.http.request_head import head_refusal
from tokensmith.http.routing import path_as_sent
from tokensmith.http.token_route import TokenRoutes

log = logging.getLogger("tokensmith.http")

HEAD_TOO_LARGE = "Request header fields too large."
HEAD_TOO_SLOW = "Request header fields not received in time."
TOO_MANY_CONNECTIONS = "Too many connections from this address."


@dataclass(frozen=True)
class HeadLimits:
    max_bytes: int
    max_fields: int
    timeout: float
    body_timeout: float


@functools.cache
def head_limits() -> HeadLimits:
    """This process's limits (each worker process reads the same environment)."""
    settings = Settings()
    return HeadLimits(
        settings.max_header_bytes, settings.max_header_fields, settings.header_read_timeout_seconds, settings.body_read_timeout_seconds
    )


@functools.cache
def connection_limit() -> ConnectionLimit:
    """This process's count of open connections per source address."""
    settings = Settings()
    return ConnectionLimit(settings.max_connections_per_address, settings.trusted_proxies, settings.bruteforce_ipv6_prefix)


class _HeadRefused(Exception):
    """Raised from a parser callback to stop parsing a head that is too large."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = head_limits()
        self._head_open = True  # the next bytes received belong to a request head
        self._head_bytes = 0  # bytes of the current head the parser has handed over
        self._head_fields = 0
        self._unparsed = 0  # bytes received while the current head stayed incomplete
        self._heads_completed = 0
        self._messages_completed = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._drain_timer: asyncio.TimerHandle | None = None  # a body after an early answer
        self._refusal: tuple[int, str] | None = None
        self._counted_as: str | None = None  # the key connection_limit() counts this under
        routes = self.app  # what the factory built (`tokensmith serve` adds no wrapper)
        self._token_routes = routes if isinstance(routes, TokenRoutes) else None
        self._in_head = False  # within on_headers_complete
        # A token request whose ASGI task is held back until its message completes
        # within the same read (then answered here if it can be: _answer_held).
        self._held: tuple[RequestResponseCycle, Any] | None = None
        self._tls: dict[str, Any] | None = None  # this connection's ASGI TLS extension, on TLS

    # -- connection -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:  # RFC 8705: the handshake is done; its certificate, once
            self._tls = tls_extension(ssl_object.getpeercert(binary_form=True))
        self._counted_as = connection_limit().admit(self.client[0] if self.client else None)
        if self._counted_as is None:
            self._refuse(503, TOO_MANY_CONNECTIONS)
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted_as is not None:
            connection_limit().release(self._counted_as)
            self._counted_as = None
        self._disarm_head_timer()
        self._disarm_drain_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        was_open = self._head_open
        marks = (self._heads_completed, self._messages_completed)
        super().data_received(data)
        if self._held is not None:
            # The body did not all come with the head: the ASGI route reads the rest
            # (under its read deadline) and answers.
            cycle, app = self._held
            self._held = None
            if not self.transport.is_closing():
                super()._start_asgi_task(cycle, app)
        if self._refusal is not None or not self._head_open or self.transport.is_closing():
            return
        # A head is still incomplete and the parser holds its unfinished field: count
        # what arrived, so that one endless header field cannot grow the process.
        if was_open and marks == (self._heads_completed, self._messages_completed):
            self._unparsed += len(data)  # the whole read was head
        else:
            self._unparsed = 0  # a head began within this read (after a body or a head)
        if self._unparsed > self._limits.max_bytes:
            self._refuse(431, HEAD_TOO_LARGE)

    # -- parser callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()  # makes this request's scope
        if self._tls is not None:
            self.scope["extensions"] = {"tls": self._tls}  # type: ignore[dict-item]
        self._head_open = True
        self._head_bytes = 0
        self._head_fields = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url), 0)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, 1)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        # uvicorn's own list of this head's fields (names in lower case), read once.
        refusal = head_refusal(self.headers, self.parser.get_http_version)
        if refusal is not None:
            self._refusal = refusal
            raise _HeadRefused  # as in _count: no cycle is made, nothing reaches the app
        self._disarm_head_timer()
        self._head_open = False
        self._heads_completed += 1
        self._unparsed = 0
        self._in_head = True
        try:
            super().on_headers_complete()  # makes the cycle; starts it (_start_asgi_task)
        finally:
            self._in_head = False

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        routes = self._token_routes
        scope = cycle.scope
        if self._in_head and app is routes and scope["method"] == "POST" and scope["path"] in routes.paths and path_as_sent(scope):  # type: ignore[arg-type]
            self._held = (cycle, app)  # on_message_complete, or the end of this read
            return
        super()._start_asgi_task(cycle, app)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_open = True
        self._messages_completed += 1
        if self._drain_timer is not None:
            # The body of a request answered early has all arrived: the connection is
            # an idle kept-alive one again, with uvicorn's limit (its bytes cancelled it).
            self._disarm_drain_timer()
            self._unset_keepalive_if_required()
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
        held = self._held
        if held is not None:
            self._held = None
            if not self._answer_held(held[0]):
                super()._start_asgi_task(*held)

    def _answer_held(self, cycle: RequestResponseCycle) -> bool:
        """Answer a whole token request here if TokenRoutes can without I/O; as
        uvicorn's cycle would send the same answer, in one write."""
        answer = self._token_routes.answer_received(cycle.scope, bytes(cycle.body))  # type: ignore[union-attr, arg-type]
        if answer is None:
            return False
        headers, body = answer
        content = [STATUS_LINE[200]]
        for name, value in (*self.server_state.default_headers, *headers):
            content.extend((name, b": ", value, b"\r\n"))
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content.extend((b"\r\n", body))
        cycle.response_started = cycle.response_complete = True
        cycle.waiting_for_100_continue = False
        self.transport.write(b"".join(content))
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()  # on_response_complete: the next pipelined request, keep-alive
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._head_open and not self.transport.is_closing() and self._drain_timer is None:
            # Answered before the request's body arrived: the rest must come in time.
            self._drain_timer = self.loop.call_later(self._limits.body_timeout, self._drain_timed_out)

    def _count(self, size: int, fields: int) -> None:
        self._head_bytes += size
        self._head_fields += fields
        if self._head_bytes > self._limits.max_bytes or self._head_fields > self._limits.max_fields:
            self._refusal = (431, HEAD_TOO_LARGE)
            raise _HeadRefused  # the parser stops; uvicorn calls send_400_response

    # -- refusals ---------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._refuse(*self._refusal)

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        log.info("request refused before the application", extra={"status": status, "reason": message, "remote": self.client[0] if self.client else None})
        self._send_plain(status, message)

    def _send_plain(self, status: int, message: str) -> None:
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        body = message.encode("ascii")
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    # -- the head's deadline ------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._limits.timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _disarm_drain_timer(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def _drain_timed_out(self) -> None:
        self._drain_timer = None
        if not self.transport.is_closing() and not self._head_open:
            log.info("request body after an early answer not received in time", extra={"remote": self.client[0] if self.client else None})
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._head_open or self._refusal is not None:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The previous request is still being answered (this head was pipelined
            # behind it): its own bounds apply; look again later.
            self._arm_head_timer()
            return
        self._refuse(408, HEAD_TOO_SLOW)
