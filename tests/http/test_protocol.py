"""http/protocol.py's refusals before the application, over raw sockets against a real
`tokensmith serve`: a head without exactly one valid Host (RFC 9112 §3.2), a transfer
coding other than a lone chunked (RFC 9112 §6.1), and a source address holding more
open connections than TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS. Each is answered in
plain text (docs/errors.md, "Requests refused before tokensmith sees them"), no
request reaches the application (no access-log line), and other clients are served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.wire import SEED_PATH, RawResponse, basic, parse_response, read_until_closed
from tests.support.server import Tokensmith

CAP = 4  # TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS in this module
CAPPED = "127.0.0.2"  # a source address the tests fill up
PROXY = "127.0.0.3"  # a trusted proxy: never capped
PATIENCE = 20


@dataclass(frozen=True)
class Env:
    server: Tokensmith
    client: dict[str, str]

    @property
    def authorization(self) -> bytes:
        return b"Authorization: " + basic(self.client["client_id"], self.client["client_secret"]).encode()

    def send(self, data: bytes, source: str = "127.0.0.1") -> RawResponse:
        """`data` as it is, on a fresh connection from `source`; the one answer."""
        with connect(self.server, source) as sock:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused (and closed) before all of it was read
            received = read_until_closed(sock)
        assert received.startswith(b"HTTP/1.1 "), received[:100]
        return parse_response(received)

    def token_request(self, *fields: bytes, body: bytes = b"") -> bytes:
        head = [b"POST " + SEED_PATH.encode() + b"?scope=edit HTTP/1.1", self.authorization, b"Connection: close", *fields]
        return b"\r\n".join(head) + b"\r\n\r\n" + body


def connect(server: Tokensmith, source: str) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE, source_address=(source, 0))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    server = Tokensmith(
        tmp_path_factory.mktemp("protocol"),
        {
            "TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS": str(CAP),
            "TOKENSMITH_TRUSTED_PROXIES": f"{PROXY}/32",
            # Held connections stay open while a test needs them, however slow the machine.
            "TOKENSMITH_HEADER_READ_TIMEOUT_SECONDS": "300",
        },
    )
    server.start()
    try:
        yield Env(server, server.create_client("wire", scopes=("edit",)))
    finally:
        server.stop()


def plain_refusal(response: RawResponse, status: int, body: bytes) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["connection"] == "close"
    assert "x-request-id" not in response.headers  # no request reached the application
    assert response.content == body


def no_access_line_for(server: Tokensmith, request_id: str) -> None:
    # The server logs from a thread: a request that did reach the app is logged well
    # before the marker request sent after it, so wait for the marker's line first.
    marker = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": request_id + "-after"}, timeout=PATIENCE)
    assert marker.status_code == 200
    deadline = time.monotonic() + PATIENCE
    while not any(line.get("request_id") == request_id + "-after" for line in server.log_lines()):
        assert time.monotonic() < deadline, "the marker request was never logged"
        time.sleep(0.05)
    assert not any(line.get("request_id") == request_id for line in server.log_lines())


# -- Host (RFC 9112 §3.2) ---------------------------------------------------------------

HOST_REFUSED = b"Exactly one valid Host header field is required."


@pytest.mark.parametrize(
    "hosts",
    [
        pytest.param([], id="no-host"),
        pytest.param([b"Host: tokensmith", b"Host: tokensmith"], id="two-equal-hosts"),
        pytest.param([b"Host: tokensmith", b"Host: evil.example"], id="two-different-hosts"),
        pytest.param([b"Host: a b"], id="host-with-a-space"),
        pytest.param([b"Host: tokensmith/path"], id="host-with-a-path"),
        pytest.param([b"Host: user@tokensmith"], id="host-with-userinfo"),
    ],
)
def test_a_head_without_exactly_one_valid_host_gets_400_before_the_application(env: Env, hosts: list[bytes]) -> None:
    request_id = f"host-{len(hosts)}-{abs(hash(tuple(hosts))) % 10**8}"
    response = env.send(env.token_request(*hosts, b"X-Request-Id: " + request_id.encode()))

    plain_refusal(response, 400, HOST_REFUSED)
    no_access_line_for(env.server, request_id)


@pytest.mark.parametrize("host", [b"tokensmith", b"127.0.0.1:8080", b"[::1]:8080", b""], ids=["name", "address-port", "ipv6", "empty"])
def test_one_valid_host_is_served(env: Env, host: bytes) -> None:
    response = env.send(env.token_request(b"Host: " + host))

    assert response.status_code == 200, response.text


def test_an_http_1_0_request_needs_no_host_but_may_not_have_two(env: Env) -> None:
    healthz = b"GET /healthz HTTP/1.0\r\n"

    assert env.send(healthz + b"\r\n").status_code == 200
    plain_refusal(env.send(healthz + b"Host: a\r\nHost: b\r\n\r\n"), 400, HOST_REFUSED)


# -- Transfer-Encoding (RFC 9112 §6.1) ---------------------------------------------------

CODING_REFUSED = b"Transfer codings other than chunked are not implemented."
FORM = b"Content-Type: application/x-www-form-urlencoded"
CHUNKED_BODY = b"1d\r\ngrant_type=client_credentials\r\n0\r\n\r\n"


@pytest.mark.parametrize(
    "codings",
    [
        pytest.param([b"Transfer-Encoding: gzip, chunked"], id="gzip-then-chunked"),
        pytest.param([b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"], id="gzip-field-then-chunked-field"),
        pytest.param([b"Transfer-Encoding: deflate"], id="deflate"),
        pytest.param([b"Transfer-Encoding: chunked;x=1"], id="chunked-with-a-parameter"),
        pytest.param([b"Transfer-Encoding: identity, chunked"], id="identity-then-chunked"),
    ],
)
def test_a_transfer_coding_other_than_a_lone_chunked_gets_501(env: Env, codings: list[bytes]) -> None:
    request_id = f"coding-{abs(hash(tuple(codings))) % 10**8}"
    request = env.token_request(b"Host: t", FORM, *codings, b"X-Request-Id: " + request_id.encode(), body=CHUNKED_BODY)

    plain_refusal(env.send(request), 501, CODING_REFUSED)
    no_access_line_for(env.server, request_id)


@pytest.mark.parametrize("coding", [b"chunked", b"Chunked"], ids=["lower", "mixed-case"])
def test_a_lone_chunked_is_served(env: Env, coding: bytes) -> None:
    request = env.token_request(b"Host: t", FORM, b"Transfer-Encoding: " + coding, body=CHUNKED_BODY)

    assert env.send(request).status_code == 200


@pytest.mark.parametrize("coding", [b"chunked, chunked", b"chunked, "], ids=["chunked-twice", "trailing-empty-element"])
def test_chunked_framing_the_parser_cannot_read_stays_a_plain_400(env: Env, coding: bytes) -> None:
    """httptools refuses these while reading the field, before the protocol's 501 rule."""
    request = env.token_request(b"Host: t", FORM, b"Transfer-Encoding: " + coding, body=CHUNKED_BODY)

    plain_refusal(env.send(request), 400, b"Invalid HTTP request received.")


# -- connections per source address ---------------------------------------------------------


def held_connection(server: Tokensmith, source: str) -> socket.socket:
    """A connection from `source` that the server has certainly counted (it answered a
    request on it), kept open by the start of a second request head. AssertionError
    (the socket closed) when the server did not serve it."""
    sock = connect(server, source)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        answer = b""
        while not complete(answer):
            chunk = sock.recv(65536)
            assert chunk, f"closed: {answer!r}"
            answer += chunk
        assert parse_response(answer).status_code == 200, answer
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # an unfinished head: no keep-alive timeout
    except (AssertionError, OSError) as failure:
        sock.close()
        raise AssertionError(f"not served: {failure}") from failure
    return sock


def complete(received: bytes) -> bool:
    """Whether `received` holds a whole response (every answer here has a length)."""
    _head, found, content = received.partition(b"\r\n\r\n")
    if not found:
        return False
    length = parse_response(received).headers.get("content-length")
    return length is not None and len(content) >= int(length)


def refused_at_once(server: Tokensmith, source: str) -> bool:
    """Whether a new connection from `source` is refused without sending anything."""
    with connect(server, source) as sock:
        received = read_until_closed(sock)
    if not received:
        return False  # closed for another reason: not what the cap sends
    response = parse_response(received)
    if response.status_code == 503:
        plain_refusal(response, 503, b"Too many connections from this address.")
        return True
    return False


def test_an_address_over_the_cap_is_refused_while_others_get_tokens(env: Env) -> None:
    held = [held_connection(env.server, CAPPED) for _ in range(CAP)]
    try:
        # Not a request at all: refused the moment the connection is made.
        with connect(env.server, CAPPED) as sock:
            plain_refusal(parse_response(read_until_closed(sock)), 503, b"Too many connections from this address.")
        # Nor with a request on it.
        refused = env.send(env.token_request(b"Host: t"), source=CAPPED)
        assert refused.status_code == 503

        # Another address is served as usual, a token included.
        token = httpx.post(f"{env.server.url}{SEED_PATH}?scope=edit", auth=(env.client["client_id"], env.client["client_secret"]))
        assert token.status_code == 200, token.text
        assert token.json()["access_token"]
    finally:
        for sock in held:
            sock.close()


def test_closing_connections_frees_the_count(env: Env) -> None:
    held = [held_connection(env.server, CAPPED) for _ in range(CAP)]
    try:
        assert refused_at_once(env.server, CAPPED)
        held.pop().close()
        # The server sees the close soon after; until then the address stays full.
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                held.append(held_connection(env.server, CAPPED))
                break
            except AssertionError:
                assert time.monotonic() < deadline, "a closed connection was never released"
                time.sleep(0.05)
        assert refused_at_once(env.server, CAPPED)  # full again, at exactly CAP
    finally:
        for sock in held:
            sock.close()


def test_a_trusted_proxy_is_never_capped(env: Env) -> None:
    """A proxy's one address carries all of its clients' connections: capping it would
    cap every caller behind it together (TOKENSMITH_TRUSTED_PROXIES)."""
    held = [held_connection(env.server, PROXY) for _ in range(CAP * 3)]
    for sock in held:
        sock.close()
