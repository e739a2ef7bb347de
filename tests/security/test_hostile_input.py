"""Hostile input against a real `tokensmith serve`, beyond tests/e2e/test_bad_input.py:
oversized request heads, NUL and control characters in the query, the body, headers
and client ids, duplicated singleton headers, and clients that send slowly or not at
all. Each gets a clean 4xx (in the endpoint's documented format when the request
reached the application; plain text, documented in docs/errors.md, when the HTTP
layer refused it first), and the server keeps serving everyone else and stays healthy.

The server here runs with short read timeouts (2 s for the head and for the body) so
the slow-client tests stay short; nothing here asserts how long anything took, only
that an answer or a close came before a generous socket timeout.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e import wire
from tests.e2e.wire import (
    OAUTH_PATH,
    SEED_PATH,
    RawResponse,
    access_line,
    basic,
    oauth_error,
    raw_request,
    seed_error,
)
from tests.support.server import Tokensmith

FORM_TYPE = b"application/x-www-form-urlencoded"
TIMEOUT = 2  # the server's head and body read timeouts in this module, seconds
PATIENCE = 20  # how long a test waits for an answer before calling it a hang
HEAD_LIMIT = 16384  # TOKENSMITH_MAX_HEADER_BYTES default
FIELD_LIMIT = 100  # TOKENSMITH_MAX_HEADER_FIELDS default


@dataclass(frozen=True)
class Env:
    server: Tokensmith
    http: httpx.Client
    client: dict[str, str]

    @property
    def authorization(self) -> bytes:
        return b"Authorization: " + basic(self.client["client_id"], self.client["client_secret"]).encode()

    def raw(self, *lines: bytes, target: bytes = SEED_PATH.encode() + b"?scope=edit", method: bytes = b"POST", body: bytes = b"") -> RawResponse:
        head = b"\r\n".join([method + b" " + target + b" HTTP/1.1", b"Host: tokensmith", *lines])
        return raw_request(self.server, head, body, timeout=PATIENCE)

    def token(self) -> str:
        response = self.http.post(f"{SEED_PATH}?scope=edit", auth=(self.client["client_id"], self.client["client_secret"]))
        assert response.status_code == 200, response.text
        return response.json()["access_token"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    server = Tokensmith(
        tmp_path_factory.mktemp("hostile"),
        {
            "TOKENSMITH_BODY_READ_TIMEOUT_SECONDS": str(TIMEOUT),
            "TOKENSMITH_HEADER_READ_TIMEOUT_SECONDS": str(TIMEOUT),
            # The slow-client tests open 350 connections from 127.0.0.1 to prove the time
            # bounds; the cap per address has its own tests (tests/http/test_protocol.py).
            "TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS": "1000",
        },
    )
    server.start()
    try:
        client = server.create_client("hostile", scopes=("edit", "read"))
        with httpx.Client(base_url=server.url, timeout=PATIENCE) as http:
            yield Env(server, http, client)
    finally:
        server.stop()


def plain_refusal(response: RawResponse, status: int) -> None:
    """An answer from the HTTP layer, before the application (docs/errors.md)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers.get("connection") == "close"
    assert "x-request-id" not in response.headers


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def read_until_closed(sock: socket.socket) -> bytes:
    """wire.read_until_closed, waiting at most PATIENCE for each read."""
    sock.settimeout(PATIENCE)
    return wire.read_until_closed(sock)


def parse(received: bytes) -> RawResponse:
    """The final response in `received` (after any 1xx interim response, RFC 9110 §15.2)."""
    while received.startswith(b"HTTP/1.1 1"):
        received = received.partition(b"\r\n\r\n")[2]
    return wire.parse_response(received)


# -- oversized request heads ----------------------------------------------------------


def test_a_64_kib_header_gets_431(env: Env) -> None:
    plain_refusal(env.raw(env.authorization, b"X-Padding: " + b"a" * 65536), 431)


def test_a_64_kib_authorization_header_gets_431_before_the_application(env: Env) -> None:
    plain_refusal(env.raw(b"Authorization: Basic " + b"QUFB" * 16384), 431)


def test_200_headers_get_431(env: Env) -> None:
    plain_refusal(env.raw(env.authorization, *(b"X-Field-%d: v" % i for i in range(200))), 431)


def test_a_head_at_the_field_limit_is_served_and_one_more_field_is_not(env: Env) -> None:
    # Host, Authorization and the Connection: close raw_request adds are three fields.
    fields = [b"X-Field-%d: v" % i for i in range(FIELD_LIMIT - 3)]

    assert env.raw(env.authorization, *fields).status_code == 200
    plain_refusal(env.raw(env.authorization, *fields, b"X-One-More: v"), 431)


def test_a_head_just_under_the_byte_limit_is_served_and_one_just_over_is_not(env: Env) -> None:
    assert env.raw(env.authorization, b"X-Padding: " + b"a" * (HEAD_LIMIT - 2048)).status_code == 200
    plain_refusal(env.raw(env.authorization, b"X-Padding: " + b"a" * (HEAD_LIMIT + 1)), 431)


def test_a_long_query_string_counts_towards_the_head(env: Env) -> None:
    plain_refusal(env.raw(env.authorization, target=SEED_PATH.encode() + b"?scope=edit&pad=" + b"a" * 65536), 431)


def test_an_endless_header_is_cut_off_without_growing_the_server(env: Env) -> None:
    """One connection streams a header field that never ends: the server stops reading
    it past the limit instead of keeping it all in memory."""
    pid = env.server.process.pid
    before = rss_kib(pid)
    sent = 0
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Endless: ")
        chunk = b"a" * 65536
        try:
            while sent < 64 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 64 * 1024 * 1024, "the server kept reading an endless header"
    assert rss_kib(pid) - before < 16 * 1024, "the server's memory grew with the header"


def test_ten_thousand_tiny_headers_get_431(env: Env) -> None:
    plain_refusal(env.raw(env.authorization, *(b"X: v" for _ in range(10_000))), 431)


def test_pipelined_requests_are_all_served(env: Env) -> None:
    """Several requests in one write: the head limits count each head on its own."""
    one = f"POST {SEED_PATH}?scope=edit HTTP/1.1\r\nHost: t\r\n".encode() + env.authorization + b"\r\nX-Pad: " + b"p" * 6000 + b"\r\n"
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE) as sock:
        sock.sendall(one + b"\r\n" + one + b"\r\n" + one + b"Connection: close\r\n\r\n")
        received = read_until_closed(sock)

    assert received.count(b"HTTP/1.1 200 OK") == 3, received[:300]


@pytest.fixture(scope="module")
def large_bodies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tokensmith, dict[str, str]]]:
    server = Tokensmith(tmp_path_factory.mktemp("large-bodies"), {"TOKENSMITH_MAX_BODY_BYTES": "1048576"})
    server.start()
    try:
        yield server, server.create_client("large", scopes=("edit",))
    finally:
        server.stop()


@pytest.mark.parametrize("size", [20_000, 600_000, 1_000_000])
def test_a_body_within_a_raised_limit_is_never_taken_for_a_request_head(large_bodies, size: int) -> None:
    """Bodies are not head bytes, however they are split into reads."""
    server, client = large_bodies
    form = {"grant_type": "client_credentials", "scope": "edit", "pad": "x" * size}

    response = httpx.post(f"{server.url}{OAUTH_PATH}", data=form, auth=(client["client_id"], client["client_secret"]), timeout=PATIENCE)

    assert response.status_code == 200, response.text


# -- NUL and control characters ---------------------------------------------------------

SEED = f"{SEED_PATH}?scope=edit".encode()


def test_nul_in_a_query_parameter_value_is_refused_cleanly(env: Env) -> None:
    response = env.raw(env.authorization, target=SEED + b"&resource=%00")

    assert seed_error(response, code="240110", status=400)["invalid-params"] == ["Requested audience is not allowed for this client"]


def test_nul_in_a_query_parameter_name_is_just_an_unknown_parameter(env: Env) -> None:
    seed_error(env.raw(env.authorization, target=SEED_PATH.encode() + b"?sc%00ope=edit"), code="240102", status=400)


def test_control_characters_in_the_audience_are_refused_cleanly(env: Env) -> None:
    seed_error(env.raw(env.authorization, target=SEED + b"&audience=%01%1b%5b2J%0d%0a"), code="240110", status=400)


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(SEED + b"\x00", id="raw-NUL"),
        pytest.param(SEED + b"\x01", id="raw-SOH"),
        pytest.param(SEED + b"\x7f", id="raw-DEL"),
        pytest.param(SEED + b"\x1b[2J", id="raw-escape-sequence"),
    ],
)
def test_raw_control_bytes_in_the_request_target_are_refused_by_the_http_layer(env: Env, target: bytes) -> None:
    response = env.raw(env.authorization, target=target)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"X-Note: a\x00b", id="NUL-in-a-value"),
        pytest.param(b"X-Note: a\x01b", id="SOH-in-a-value"),
        pytest.param(b"X-No\x00te: a", id="NUL-in-a-name"),
        pytest.param(b"Authorization: Basic aG9z\x00dGlsZTp4", id="NUL-in-the-credentials"),
    ],
)
def test_control_bytes_in_a_header_are_refused_by_the_http_layer(env: Env, line: bytes) -> None:
    response = env.raw(env.authorization, line)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(b"grant_type=client_credentials&scope=ed%00it", "invalid_scope", id="percent-encoded-NUL-in-scope"),
        pytest.param(b"grant_type=client_credentials\x00", "unsupported_grant_type", id="raw-NUL-after-grant_type"),
        pytest.param(b"grant_type=client_credentials&scope=\x1b[31medit", "invalid_scope", id="escape-sequence-in-scope"),
        pytest.param(b"grant_type=client_credentials&resource=%00", "invalid_target", id="NUL-resource"),
        pytest.param(b"grant_type=client_credentials&scope=edit&scope=\x00", "invalid_request", id="NUL-duplicate"),
    ],
)
def test_nul_and_control_characters_in_the_body_get_the_documented_error(env: Env, body: bytes, error: str) -> None:
    response = env.raw(env.authorization, b"Content-Type: " + FORM_TYPE, b"Content-Length: %d" % len(body), target=OAUTH_PATH.encode(), body=body)

    oauth_error(response, error=error, status=400)


def test_an_unknown_parameter_full_of_control_characters_is_ignored(env: Env) -> None:
    # RFC 6749 §3.2: unrecognised parameters are ignored, whatever they hold.
    body = b"%01%00%7f=%00%1b&grant_type=client_credentials&scope=edit"
    response = env.raw(env.authorization, b"Content-Type: " + FORM_TYPE, b"Content-Length: %d" % len(body), target=OAUTH_PATH.encode(), body=body)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "client_id",
    [
        pytest.param("hostile\x00", id="trailing-NUL"),
        pytest.param("hostile\x00admin", id="NUL-in-the-middle"),
        pytest.param("\x00hostile", id="leading-NUL"),
        pytest.param("hostile\r\n", id="CRLF"),
        pytest.param("hostile\t", id="tab"),
        pytest.param("hostile\x1b[2J", id="escape-sequence"),
        pytest.param("hostile\u200b", id="zero-width-space"),
        pytest.param("HOSTILE", id="other-case"),
    ],
)
def test_a_client_id_with_control_characters_never_matches_the_real_client(env: Env, client_id: str) -> None:
    """With the real client's own secret: no truncation at NUL, no trimming, no case folding."""
    secret = env.client["client_secret"]
    by_basic = env.raw(b"Authorization: " + basic(client_id, secret).encode())
    form = f"client_id={client_id}&client_secret={secret}".encode()
    by_form = env.raw(b"Content-Type: " + FORM_TYPE, b"Content-Length: %d" % len(form), body=form)

    for response in (by_basic, by_form):
        problem = seed_error(response, code="240101", status=401)
        assert problem["invalid-params"] == ["Invalid client credentials or scope"]
        assert response.headers["www-authenticate"].startswith("Basic")


def test_credentials_in_the_query_string_are_never_accepted(env: Env) -> None:
    """RFC 6749 §2.3.1: client_id and client_secret "MUST NOT be included in the request
    URI" (where logs and proxies keep them): the right ones there authenticate nobody."""
    secret = env.client["client_secret"]
    query = f"{SEED_PATH}?scope=edit&client_id=hostile&client_secret={secret}".encode()

    seed_error(env.raw(target=query), code="240101", status=401)
    response = env.raw(b"Content-Type: " + FORM_TYPE, b"Content-Length: 29", target=OAUTH_PATH.encode() + query[len(SEED_PATH) :], body=b"grant_type=client_credentials")
    oauth_error(response, error="invalid_client", status=401)


def test_control_characters_in_a_client_id_cannot_forge_log_lines(env: Env) -> None:
    forged = 'x"}\n{"logger":"tokensmith.access","status":200,"client_id":"hostile'
    response = env.raw(b"Authorization: " + basic(forged, "wrong").encode(), b"X-Request-Id: hostile-log-line")

    seed_error(response, code="240101", status=401)
    line = access_line(env.server, "hostile-log-line")
    # An id no client has is not logged at all (it may be a secret in the wrong field);
    # and nothing the caller sent became a line of its own.
    assert line["client_id"] is None
    assert all("unparsed" not in entry for entry in env.server.log_lines())


@pytest.mark.parametrize("path", [SEED_PATH + "/", OAUTH_PATH + "/", "/oauth2/introspect/", "//v1/api/oauth/token"])
def test_a_near_miss_path_is_404_never_a_redirect(env: Env, path: str) -> None:
    """RFC 9700 §4.12: a 307 would make the client post its credentials again, to a URL
    built from the Host header the request carried."""
    response = env.raw(env.authorization, target=path.encode() + b"?scope=edit")

    assert response.status_code == 404
    assert "location" not in response.headers


# -- duplicated singleton headers (RFC 9110 §5.3) ------------------------------------


def test_two_authorization_headers_are_refused_whichever_comes_first(env: Env) -> None:
    wrong = b"Authorization: " + basic("hostile", "wrong").encode()
    for first, second in ((env.authorization, wrong), (wrong, env.authorization)):
        problem = seed_error(env.raw(first, second), code="240105", status=400)
        assert problem["invalid-params"] == ["The Authorization header is given more than once"]


def test_two_content_type_headers_are_refused(env: Env) -> None:
    body = b"grant_type=client_credentials"
    response = env.raw(
        env.authorization, b"Content-Type: application/json", b"Content-Type: " + FORM_TYPE, b"Content-Length: %d" % len(body),
        target=OAUTH_PATH.encode(), body=body,
    )  # fmt: skip

    oauth_error(response, error="invalid_request", status=400)


def test_two_different_content_lengths_are_refused_by_the_http_layer(env: Env) -> None:
    response = env.raw(env.authorization, b"Content-Length: 0", b"Content-Length: 5", body=b"abcde")

    assert response.status_code == 400


# -- slow clients ---------------------------------------------------------------------


def stalled_body(env: Env, path: str, *lines: bytes, sent: bytes = b"sc") -> socket.socket:
    """A request whose head is complete but whose body stops after `sent`."""
    sock = socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE)
    head = b"\r\n".join([b"POST " + path.encode() + b" HTTP/1.1", b"Host: t", env.authorization, *lines]) + b"\r\n\r\n"
    sock.sendall(head + sent)
    return sock


class Trickler:
    """Sends one byte at a time to each socket, every `interval` seconds, until stopped
    or until the server closes the connection."""

    def __init__(self, sockets: list[socket.socket], data: bytes, interval: float = 0.25) -> None:
        self.sockets = sockets
        self.data = data
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        alive = list(self.sockets)
        for index in range(len(self.data)):
            if self._stop.wait(self.interval) or not alive:
                return
            for sock in list(alive):
                try:
                    sock.send(self.data[index : index + 1])
                except OSError:
                    alive.remove(sock)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_bodies_that_stall_or_trickle_get_408_in_the_documented_format(env: Env) -> None:
    seed = stalled_body(env, f"{SEED_PATH}?scope=edit", b"Content-Type: " + FORM_TYPE, b"Content-Length: 40", b"X-Request-Id: stalled-seed")
    oauth = stalled_body(env, OAUTH_PATH, b"Content-Type: " + FORM_TYPE, b"Content-Length: 40", b"X-Request-Id: stalled-oauth")
    chunked = stalled_body(env, OAUTH_PATH, b"Content-Type: " + FORM_TYPE, b"Transfer-Encoding: chunked", sent=b"5\r\ngrant")
    trickled = stalled_body(env, OAUTH_PATH, b"Content-Type: " + FORM_TYPE, b"Content-Length: 200", sent=b"")
    never = stalled_body(env, f"{SEED_PATH}?scope=edit", b"Content-Length: 10", b"Expect: 100-continue", sent=b"")
    trickler = Trickler([trickled], b"grant_type=client_credentials&scope=edit&" + b"x" * 150)
    try:
        # Meanwhile everyone else is served.
        for _ in range(3):
            env.token()
        answers = {name: parse(read_until_closed(sock)) for name, sock in
                   (("seed", seed), ("oauth", oauth), ("chunked", chunked), ("trickled", trickled), ("never", never))}  # fmt: skip
    finally:
        trickler.stop()
        for sock in (seed, oauth, chunked, trickled, never):
            sock.close()

    problem = seed_error(answers["seed"], code="240117", status=408)
    assert problem["invalid-params"] == [f"The request body did not arrive within {TIMEOUT} s"]
    assert problem["title"] == "Request Timeout"
    for name in ("oauth", "chunked", "trickled"):
        assert oauth_error(answers[name], error="invalid_request", status=408)["error_description"].startswith("The request body")
    seed_error(answers["never"], code="240117", status=408)
    for answer in answers.values():
        assert answer.headers["connection"] == "close"  # RFC 9110 §15.5.9
    assert access_line(env.server, "stalled-seed")["status"] == 408
    assert access_line(env.server, "stalled-oauth")["status"] == 408


def test_a_slow_body_that_arrives_in_time_is_served(env: Env) -> None:
    body = b"grant_type=client_credentials&scope=edit"
    sock = stalled_body(env, OAUTH_PATH, b"Content-Type: " + FORM_TYPE, b"Content-Length: %d" % len(body), b"Connection: close", sent=body[:5])
    with sock:
        time.sleep(0.2)
        sock.sendall(body[5:])
        answer = parse(read_until_closed(sock))

    assert answer.status_code == 200, answer.text
    assert json.loads(answer.content)["token_type"] == "Bearer"


def test_heads_that_never_arrive_get_a_plain_408_and_are_closed(env: Env) -> None:
    silent = socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE)
    partial = socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE)
    partial.sendall(b"POST /v1/api/oa")
    slowloris = socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE)
    slowloris.sendall(b"POST /v1/api/oauth/token?scope=edit HTTP/1.1\r\n")
    trickler = Trickler([slowloris], b"X-a: b\r\n" * 100)
    try:
        env.token()
        answers = [parse(read_until_closed(sock)) for sock in (silent, partial, slowloris)]
    finally:
        trickler.stop()
        for sock in (silent, partial, slowloris):
            sock.close()

    for answer in answers:
        assert answer.status_code == 408
        assert answer.content == b"Request header fields not received in time."
        assert answer.headers["connection"] == "close"


def read_one_response(sock: socket.socket) -> RawResponse:
    """One response, by its Content-Length, leaving the connection open."""
    sock.settimeout(PATIENCE)
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, content = received.partition(b"\r\n\r\n")
    response = parse(head + b"\r\n\r\n")
    while len(content) < int(response.headers["content-length"]):
        content += sock.recv(65536)
    return RawResponse(response.status_code, response.headers, content)


@pytest.mark.parametrize(
    ("target", "status"),
    [pytest.param(f"{SEED_PATH}?scope=edit", 413, id="413-from-the-declared-length"), pytest.param("/no/such/path", 404, id="404")],
)
def test_a_request_answered_before_its_body_cannot_hold_the_connection(env: Env, target: str, status: int) -> None:
    """Answered at once, before its (huge) body: a client that then sends a byte of
    that body and falls silent is cut off after the body timeout, not kept for ever."""
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=PATIENCE) as sock:
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: t\r\n".encode() + env.authorization + b"\r\nContent-Length: 100000000\r\n\r\nabc")
        assert read_one_response(sock).status_code == status
        sock.sendall(b"d")  # one more byte of the body, then nothing

        assert read_until_closed(sock) == b""  # closed by the server, before PATIENCE


def test_many_slow_connections_do_not_stop_a_normal_client(env: Env) -> None:
    """300 connections that send nothing, half a head, or half a body, plus 50 that
    trickle: a normal client keeps getting tokens, and the server closes every slow
    connection and gives back its file descriptors."""
    pid = env.server.process.pid
    fds_before = open_fds(pid)
    port = env.server.port
    slow: list[socket.socket] = []
    for index in range(100):
        slow.append(socket.create_connection(("127.0.0.1", port), timeout=PATIENCE))
        half_head = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        half_head.sendall(b"POST /oauth2/token HTTP/1.1\r\nHost: t\r\nContent-Ty")
        slow.append(half_head)
        slow.append(stalled_body(env, OAUTH_PATH, b"Content-Type: " + FORM_TYPE, b"Content-Length: 100", b"X-Request-Id: herd-%d" % index))
    tricklers = [socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) for _ in range(50)]
    for sock in tricklers:
        sock.sendall(b"POST /oauth2/token HTTP/1.1\r\n")
    trickler = Trickler(tricklers, b"X-Slow: 1\r\n" * 100, interval=0.1)
    try:
        tokens = [env.token() for _ in range(20)]
        assert len(set(tokens)) == 20
        selector = selectors.DefaultSelector()
        for sock in [*slow, *tricklers]:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        closed = 0
        statuses: list[bytes] = []
        buffers: dict[socket.socket, bytes] = {}
        deadline = time.monotonic() + PATIENCE + TIMEOUT
        while closed < len(slow) + len(tricklers) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if data:
                    buffers[sock] = buffers.get(sock, b"") + data
                    continue
                selector.unregister(sock)
                closed += 1
                statuses.append(buffers.get(sock, b"")[:12])
        selector.close()
    finally:
        trickler.stop()
        for sock in [*slow, *tricklers]:
            sock.close()

    assert closed == len(slow) + len(tricklers), f"{len(slow) + len(tricklers) - closed} slow connections never closed"
    assert set(statuses) == {b"HTTP/1.1 408"}
    # Every slow connection's descriptor was given back (a little slack for the log and pools).
    deadline = time.monotonic() + 5
    while open_fds(pid) > fds_before + 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_fds(pid) <= fds_before + 5
    env.token()


# -- afterwards -------------------------------------------------------------------------


def test_after_all_of_it_the_server_is_healthy_and_issues_tokens(env: Env) -> None:
    assert env.server.is_running()
    assert env.http.get("/healthz").json() == {"status": "ok"}
    assert env.http.get("/readyz").status_code == 200
    token = env.token()
    assert token.count(".") == 2
    response = env.http.post(OAUTH_PATH, data={"grant_type": "client_credentials"}, auth=(env.client["client_id"], env.client["client_secret"]))
    assert response.status_code == 200, response.text
    lines = env.server.log_lines()
    assert not [line for line in lines if line.get("logger") == "tokensmith.error" or "exception" in line]
    assert not [line for line in lines if line.get("status") == 500]
