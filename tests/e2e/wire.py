"""What the end-to-end tests share: building credentials the way RFC 6749 §2.3.1
says, speaking raw HTTP where httpx would refuse to send a broken request, reading
tokens and the server's log, and the two error formats."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from tests.support.server import Tokensmith

SEED_PATH = "/v1/api/oauth/token"
OAUTH_PATH = "/oauth2/token"
SEED_ERROR_KEYS = ["detail", "errorCode", "instance", "invalid-params", "source", "status", "title"]
INVALID_CREDENTIALS = "Invalid client credentials or scope"


def basic(client_id: str, secret: str) -> str:
    """client_secret_basic per RFC 6749 §2.3.1: each part form-urlencoded, then base64."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def auth_header(client: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": basic(client["client_id"], client["client_secret"])}


def jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def seed_error(response: httpx.Response | RawResponse, *, code: str, status: int) -> dict[str, Any]:
    """Checks the seed's error list format and returns its one problem object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = json.loads(response.content)
    assert isinstance(body, list) and len(body) == 1
    problem = body[0]
    assert list(problem) == SEED_ERROR_KEYS
    assert problem["errorCode"] == code
    assert problem["status"] == status
    assert problem["detail"] == "Please refer to invalid-params for error details"
    assert problem["source"] == "AGT"
    assert isinstance(problem["invalid-params"], list) and all(isinstance(p, str) for p in problem["invalid-params"])
    assert problem["title"]
    return problem


def oauth_error(response: httpx.Response | RawResponse, *, error: str, status: int) -> dict[str, Any]:
    """Checks an RFC 6749 §5.2 error object and returns it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = json.loads(response.content)
    assert isinstance(body, dict)
    assert body["error"] == error
    assert set(body) <= {"error", "error_description", "error_uri"}
    return body


@dataclass
class RawResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def raw_request(server: Tokensmith, head: bytes, body: bytes = b"", *, timeout: float = 10) -> RawResponse:
    """Sends bytes exactly as given (httpx would refuse or repair many of the broken
    requests the tests need) on a fresh connection, and reads one response.

    `head` is the request line and header lines without the blank line after them;
    `Connection: close` is added so the server ends the response with the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            sock.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (and close) before reading a body it refuses
        received = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 "), f"no HTTP response: {received[:100]!r}"
    return parse_response(received)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset after the
    answer counts as closing: closed with unread request bytes, what was answered is
    already here)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def parse_response(received: bytes) -> RawResponse:
    """The first response in `received`: status, header fields (names in lower case)
    and everything after the head."""
    head, _, content = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(int(lines[0].split(" ")[1]), headers, content)


def wait_for_log(server: Tokensmith, found: Callable[[dict[str, Any]], bool], timeout: float = 5) -> dict[str, Any]:
    """The first log line `found` accepts; the server writes its log from a background
    thread, so a line may land a moment after the response."""
    deadline = time.monotonic() + timeout
    while True:
        for line in server.log_lines():
            if found(line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError("no such log line")
        time.sleep(0.05)


def access_line(server: Tokensmith, request_id: str) -> dict[str, Any]:
    return wait_for_log(server, lambda line: line.get("logger") == "tokensmith.access" and line.get("request_id") == request_id)


def chunked(body: bytes, size: int = 65536) -> bytes:
    """`body` in HTTP/1.1 chunked transfer coding (RFC 9112 §7.1)."""
    pieces = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\n\r\n"
