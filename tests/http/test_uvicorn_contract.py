"""What http/protocol.py relies on in uvicorn's private httptools protocol, checked
against the installed uvicorn so that an upgrade which changes any of it fails here,
by name, rather than as a silently unbounded head, a lost token answer or a hang.
pyproject.toml pins uvicorn to the versions this passed on; widen the pin only after
this module passes on the new version.

Every check uses uvicorn's own class (a recording subclass, not ours) over a
recording transport, fed real bytes through the real httptools parser."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import httptools
import pytest
import uvicorn
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from tests.support.transport import RecordingTransport

REQUEST = b"POST /a%2Fb?x=1 HTTP/1.1\r\nHost: t\r\nX-Field: v \r\nContent-Length: 3\r\n\r\nabc"




async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


class Recording(HttpToolsProtocol):
    """uvicorn's protocol, noting the calls protocol.py overrides or depends on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []
        self.in_headers_complete = False
        self.head_fields: list[tuple[bytes, bytes]] = []
        self.started: list[tuple[RequestResponseCycle, Any, bool]] = []
        self.refusals: list[str] = []
        self.raise_in_header = False

    def on_message_begin(self) -> None:
        self.calls.append("on_message_begin")
        super().on_message_begin()
        self.begun_scope = self.scope  # protocol.py adds the TLS extension to it here

    def on_url(self, url: bytes) -> None:
        self.calls.append("on_url")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.calls.append("on_header")
        if self.raise_in_header:
            raise RuntimeError("refused")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.calls.append("on_headers_complete")
        self.head_fields = list(self.headers)  # what protocol.py's head rules read
        self.in_headers_complete = True
        try:
            super().on_headers_complete()
        finally:
            self.in_headers_complete = False

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        self.calls.append("_start_asgi_task")
        self.started.append((cycle, app, self.in_headers_complete))
        super()._start_asgi_task(cycle, app)

    def on_message_complete(self) -> None:
        self.calls.append("on_message_complete")
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.calls.append("on_response_complete")
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        self.refusals.append(msg)
        super().send_400_response(msg)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def connection(loop: asyncio.AbstractEventLoop, protocol_class: type[HttpToolsProtocol] = Recording) -> tuple[Any, RecordingTransport]:
    config = uvicorn.Config(app=app, log_config=None, access_log=False, server_header=False, proxy_headers=False)
    config.load()
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    transport = RecordingTransport(("127.0.0.9", 40000))
    protocol.connection_made(transport)
    return protocol, transport


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_private_names_exist_where_protocol_py_imports_them() -> None:
    assert httptools_impl.HttpToolsProtocol is HttpToolsProtocol
    assert issubclass(HttpToolsProtocol, asyncio.Protocol)
    for status in (200, 400, 408, 431, 501, 503):
        phrase = {200: "OK", 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large",
                  501: "Not Implemented", 503: "Service Unavailable"}[status]  # fmt: skip
        assert STATUS_LINE[status] == f"HTTP/1.1 {status} {phrase}\r\n".encode()


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("__init__", ["self", "config", "server_state", "app_state", "_loop"]),
        ("connection_made", ["self", "transport"]),
        ("connection_lost", ["self", "exc"]),
        ("data_received", ["self", "data"]),
        ("on_message_begin", ["self"]),
        ("on_url", ["self", "url"]),
        ("on_header", ["self", "name", "value"]),
        ("on_headers_complete", ["self"]),
        ("_start_asgi_task", ["self", "cycle", "app"]),
        ("on_message_complete", ["self"]),
        ("on_response_complete", ["self"]),
        ("send_400_response", ["self", "msg"]),
        ("timeout_keep_alive_handler", ["self"]),
        ("_unset_keepalive_if_required", ["self"]),
    ],
)
def test_the_protocol_methods_protocol_py_overrides_or_calls_keep_their_signatures(method: str, expected: list[str]) -> None:
    assert parameters(getattr(HttpToolsProtocol, method)) == expected


def test_the_request_cycle_keeps_its_constructor() -> None:
    assert parameters(RequestResponseCycle.__init__) == [
        "self", "scope", "transport", "flow", "logger", "access_logger", "access_log", "default_headers",
        "message_event", "expect_100_continue", "keep_alive", "on_response",
    ]  # fmt: skip


def test_a_request_runs_the_callbacks_in_the_order_protocol_py_relies_on(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = connection(loop)
    assert protocol.client == ("127.0.0.9", 40000)  # set by connection_made, read by the cap
    assert protocol.app is app and protocol.loop is loop and protocol.transport is transport

    protocol.data_received(REQUEST)

    # The ASGI task is started from inside on_headers_complete, before the body is parsed.
    assert protocol.calls == [
        "on_message_begin", "on_url", "on_header", "on_header", "on_header", "on_headers_complete", "_start_asgi_task",
        "on_message_complete",
    ]  # fmt: skip
    [(cycle, started_app, in_head)] = protocol.started
    assert in_head and started_app is app and protocol.cycle is cycle
    scope = cycle.scope
    assert scope is protocol.begun_scope  # made by on_message_begin, completed later, given to the cycle
    assert "extensions" not in scope  # uvicorn sets none; protocol.py's "tls" is the only one
    assert (scope["method"], scope["path"], scope["raw_path"]) == ("POST", "/a/b", b"/a%2Fb")  # path decoded, raw not
    assert (b"x-field", b"v") in scope["headers"]  # names lowered, trailing whitespace dropped
    # protocol.py reads the head's fields from protocol.headers in on_headers_complete,
    # before calling uvicorn's: the same list the scope gets, names already lowered.
    assert protocol.head_fields == scope["headers"] and all(name == name.lower() for name, _ in protocol.head_fields)
    assert protocol.parser.get_http_version() == "1.1"
    # The cycle attributes protocol.py reads and sets to answer without a task.
    assert isinstance(cycle.body, bytearray) and bytes(cycle.body) == b"abc"
    assert cycle.keep_alive is True and cycle.more_body is False
    assert cycle.response_started is False and cycle.response_complete is False and cycle.waiting_for_100_continue is False
    assert isinstance(cycle.message_event, asyncio.Event)
    assert protocol.server_state.default_headers == []

    loop.run_until_complete(asyncio.gather(*protocol.tasks))  # the task answers

    assert b"".join(transport.writes).startswith(STATUS_LINE[200])
    assert cycle.response_complete and protocol.calls[-1] == "on_response_complete"
    # on_response is the protocol's on_response_complete, which arms the keep-alive timer.
    assert protocol.timeout_keep_alive_task is not None and protocol.timeout_keep_alive == 5


def test_a_cycle_marked_answered_by_hand_is_closed_through_on_response(loop: asyncio.AbstractEventLoop) -> None:
    """protocol.py's no-I/O answer: it holds the task back, writes the response itself,
    marks the cycle complete and calls cycle.on_response."""

    class Holding(Recording):
        def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
            self.started.append((cycle, app, self.in_headers_complete))

    protocol, _transport = connection(loop, Holding)
    protocol.data_received(REQUEST)
    [(cycle, _, _)] = protocol.started

    cycle.response_started = cycle.response_complete = True
    cycle.message_event.set()
    cycle.on_response()

    assert protocol.calls[-1] == "on_response_complete"
    assert protocol.server_state.total_requests == 1 and protocol.timeout_keep_alive_task is not None
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")  # a next request on the connection parses
    assert len(protocol.started) == 2


def test_an_exception_in_a_parser_callback_ends_in_send_400_response(loop: asyncio.AbstractEventLoop) -> None:
    """protocol.py stops a head it refuses by raising from on_header/on_headers_complete,
    and answers from its send_400_response override."""
    assert issubclass(httptools.HttpParserCallbackError, httptools.HttpParserError)
    protocol, transport = connection(loop)
    protocol.raise_in_header = True

    protocol.data_received(REQUEST)

    assert protocol.refusals == ["Invalid HTTP request received."]
    assert transport.closed and "_start_asgi_task" not in protocol.calls


def test_the_http_setting_loads_our_protocol_class_by_name() -> None:
    """`tokensmith serve` passes uvicorn.run(http="module:Class")."""
    from tokensmith.http.protocol import BoundedHttpToolsProtocol

    config = uvicorn.Config(app=app, http="tokensmith.http.protocol:BoundedHttpToolsProtocol", log_config=None)
    config.load()

    assert config.http_protocol_class is BoundedHttpToolsProtocol
    assert issubclass(BoundedHttpToolsProtocol, HttpToolsProtocol)
    assert "http" in inspect.signature(uvicorn.Config.__init__).parameters
