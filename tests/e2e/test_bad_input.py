"""Hostile and broken requests get their documented 4xx (docs/errors.md) in the
endpoint's error format, never a 500, and leave the server issuing tokens.

Where httpx would refuse to send a request (or would repair it), the bytes go out
over a raw socket instead."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.wire import (
    OAUTH_PATH,
    SEED_PATH,
    RawResponse,
    access_line,
    auth_header,
    basic,
    chunked,
    oauth_error,
    raw_request,
    seed_error,
    wait_for_log,
)
from tests.support.server import Tokensmith

FORM = {"grant_type": "client_credentials"}
FORM_TYPE = "application/x-www-form-urlencoded"
MIB = b"x" * (1 << 20)
SCOPE_50 = "s" * 50


@dataclass(frozen=True)
class Env:
    http: httpx.Client
    server: Tokensmith
    auth: dict[str, str]
    raw_auth: bytes  # the same credentials as a header line, for raw requests

    def raw(self, method: str, target: str, *headers: bytes, body: bytes = b"") -> RawResponse:
        head = b"\r\n".join([f"{method} {target} HTTP/1.1".encode("latin-1"), b"Host: tokensmith", self.raw_auth, *headers])
        return raw_request(self.server, head, body)


@pytest.fixture(scope="module")
def env(tokensmith: Tokensmith, http: httpx.Client) -> Env:
    client = tokensmith.create_client("sturdy", scopes=("edit", "read", SCOPE_50))
    auth = auth_header(client)
    return Env(http, tokensmith, auth, b"Authorization: " + auth["Authorization"].encode())


@dataclass(frozen=True)
class Seed:
    code: str
    status: int


@dataclass(frozen=True)
class OAuth:
    error: str
    status: int


Expect = Seed | OAuth
Send = Callable[[Env], httpx.Response | RawResponse]


def seed_post(query: str = "scope=edit", headers: dict[str, str] | None = None, **kwargs: Any) -> Send:
    """A seed-endpoint request from the module's client, with `headers` added."""
    target = f"{SEED_PATH}?{query}" if query else SEED_PATH
    return lambda env: env.http.post(target, headers={**env.auth, **(headers or {})}, **kwargs)


def with_authorization(value: str | bytes, path: str = f"{SEED_PATH}?scope=edit", **kwargs: Any) -> Send:
    return lambda env: env.http.post(path, headers={"Authorization": value}, **kwargs)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


CASES: dict[str, tuple[Send, Expect]] = {
    # Scope (seed: required in the query, 1 to 50 characters, RFC 6749 §3.3 tokens)
    "scope missing": (seed_post(""), Seed("240102", 400)),
    "scope empty": (seed_post("scope="), Seed("240102", 400)),
    "scope of 51 characters": (seed_post("scope=" + "s" * 51), Seed("240103", 400)),
    "scope of 10,000 characters": (seed_post("scope=" + "s" * 10_000), Seed("240103", 400)),
    "scope with a double quote": (seed_post("scope=ed%22it"), Seed("240104", 400)),
    "scope with a backslash": (seed_post("scope=ed%5Cit"), Seed("240104", 400)),
    "scope with a NUL": (seed_post("scope=ed%00it"), Seed("240104", 400)),
    "scope with a control character": (seed_post("scope=ed%01it"), Seed("240104", 400)),
    "scope with DEL": (seed_post("scope=ed%7Fit"), Seed("240104", 400)),
    "scope with a tab": (seed_post("scope=edit%09read"), Seed("240104", 400)),
    "scope with non-ASCII": (seed_post("scope=%C3%A9dit"), Seed("240104", 400)),
    "scope with a double space": (seed_post("scope=edit%20%20read"), Seed("240104", 400)),
    "scope with a leading space": (seed_post("scope=%20edit"), Seed("240104", 400)),
    "scope with a trailing space": (seed_post("scope=edit%20"), Seed("240104", 400)),
    "oauth scope with non-ASCII": (
        lambda env: env.http.post(OAUTH_PATH, headers=env.auth, data={**FORM, "scope": "édit"}),
        OAuth("invalid_scope", 400),
    ),
    # Bodies
    "JSON body": (seed_post(json={"grant_type": "client_credentials"}), Seed("240106", 415)),
    "text/plain body": (seed_post(content=b"scope=edit", headers={"Content-Type": "text/plain"}), Seed("240106", 415)),
    "form in Latin-1": (seed_post(content=b"scope=edit", headers={"Content-Type": FORM_TYPE + "; charset=ISO-8859-1"}), Seed("240106", 415)),
    "oauth JSON body": (lambda env: env.http.post(OAUTH_PATH, headers=env.auth, json=FORM), OAuth("invalid_request", 415)),
    "form body that is not UTF-8": (seed_post(content=b"scope=\xff", headers={"Content-Type": FORM_TYPE}), Seed("240105", 400)),
    "form scope different from the query's": (seed_post(data={**FORM, "scope": "read"}), Seed("240105", 400)),
    "query parameter given twice": (seed_post("scope=edit&scope=edit"), Seed("240105", 400)),
    "form parameter given twice": (
        seed_post(content=b"grant_type=client_credentials&grant_type=client_credentials", headers={"Content-Type": FORM_TYPE}),
        Seed("240105", 400),
    ),
    "oauth form parameter given twice": (
        lambda env: env.http.post(
            OAUTH_PATH, headers={**env.auth, "Content-Type": FORM_TYPE}, content=b"grant_type=client_credentials&scope=edit&scope=read"
        ),
        OAuth("invalid_request", 400),
    ),
    "33 query parameters": (seed_post("scope=edit&" + "&".join(f"p{i}=1" for i in range(32))), Seed("240105", 400)),
    "invalid UTF-8 in the query": (seed_post("scope=%ff"), Seed("240105", 400)),
    "resource and audience that differ": (seed_post("scope=edit&resource=https://a.example&audience=https://b.example"), Seed("240105", 400)),
    "body of 1 MiB": (seed_post(content=MIB, headers={"Content-Type": FORM_TYPE}), Seed("240107", 413)),
    "oauth body of 1 MiB": (lambda env: env.http.post(OAUTH_PATH, headers=env.auth, data={**FORM, "pad": "x" * (1 << 20)}), OAuth("invalid_request", 413)),
    "body of 1 MiB chunked, no Content-Length": (
        lambda env: env.raw("POST", f"{SEED_PATH}?scope=edit", b"Content-Type: " + FORM_TYPE.encode(), b"Transfer-Encoding: chunked", body=chunked(MIB)),
        Seed("240107", 413),
    ),
    "Content-Length larger than the limit": (
        lambda env: env.raw("POST", f"{SEED_PATH}?scope=edit", b"Content-Type: " + FORM_TYPE.encode(), b"Content-Length: 2000000", body=b"x" * 100),
        Seed("240107", 413),
    ),
    # Malformed Basic credentials (RFC 7617, RFC 6749 §2.3.1)
    "Basic not base64": (with_authorization("Basic !!!not-base64!!!"), Seed("240105", 400)),
    "Basic without a colon": (with_authorization("Basic " + b64(b"sturdy")), Seed("240105", 400)),
    "Basic of invalid UTF-8": (with_authorization("Basic " + b64(b"\xff\xfe:secret")), Seed("240105", 400)),
    "Basic with percent-encoded invalid UTF-8": (with_authorization("Basic " + b64(b"%ff:secret")), Seed("240105", 400)),
    "Basic with raw non-ASCII bytes": (with_authorization(b"Basic \xff\xfe\xfd"), Seed("240105", 400)),
    "empty Basic": (with_authorization("Basic"), Seed("240105", 400)),
    "empty Basic with a trailing space": (
        lambda env: raw_request(env.server, f"POST {SEED_PATH}?scope=edit HTTP/1.1\r\nHost: t\r\nAuthorization: Basic ".encode()),
        Seed("240105", 400),
    ),
    "oauth Basic not base64": (with_authorization("Basic %%%", OAUTH_PATH, data=FORM), OAuth("invalid_request", 400)),
    "Basic and client_secret together": (
        lambda env: env.http.post(OAUTH_PATH, headers=env.auth, data={**FORM, "client_id": "sturdy", "client_secret": "x"}),
        OAuth("invalid_request", 400),
    ),
    # Credentials no client can have: the one credential refusal, not a parser error
    "client id of 5,000 characters in Basic": (with_authorization(basic("c" * 5000, "secret")), Seed("240101", 401)),
    "client id of 5,000 characters in the form": (
        lambda env: env.http.post(f"{SEED_PATH}?scope=edit", data={"client_id": "c" * 5000, "client_secret": "secret"}),
        Seed("240101", 401),
    ),
    "secret of 5,000 characters": (with_authorization(basic("sturdy", "s" * 5000)), Seed("240101", 401)),
    # Methods (RFC 9110 §15.5.6) and paths
    "GET on the seed endpoint": (lambda env: env.http.get(f"{SEED_PATH}?scope=edit", headers=env.auth), Seed("240108", 405)),
    "PUT on the seed endpoint": (lambda env: env.http.put(f"{SEED_PATH}?scope=edit", headers=env.auth), Seed("240108", 405)),
    "DELETE on the seed endpoint": (lambda env: env.http.delete(f"{SEED_PATH}?scope=edit", headers=env.auth), Seed("240108", 405)),
    "GET on the oauth endpoint": (lambda env: env.http.get(OAUTH_PATH, headers=env.auth), OAuth("invalid_request", 405)),
    "PUT on the oauth endpoint": (lambda env: env.http.put(OAUTH_PATH, headers=env.auth, data=FORM), OAuth("invalid_request", 405)),
    "DELETE on the oauth endpoint": (lambda env: env.http.delete(OAUTH_PATH, headers=env.auth), OAuth("invalid_request", 405)),
    "unknown path": (lambda env: env.http.post("/v1/api/oauth/tokens?scope=edit", headers=env.auth), Seed("240109", 404)),
    "unknown oauth2 path": (lambda env: env.http.get("/oauth2/authorize?response_type=code"), OAuth("invalid_request", 404)),
    "dot segments towards /etc/passwd": (lambda env: env.raw("POST", "/v1/api/oauth/../../etc/passwd"), Seed("240109", 404)),
    "percent-encoded dot segments": (lambda env: env.raw("GET", "/%2e%2e/"), Seed("240109", 404)),
    "percent-encoded dot segments to the endpoint": (
        lambda env: env.raw("POST", "/v1/api/oauth/%2e%2e/oauth/token?scope=edit"),
        Seed("240109", 404),
    ),
}


def check(response: httpx.Response | RawResponse, expect: Expect) -> None:
    if isinstance(expect, Seed):
        seed_error(response, code=expect.code, status=expect.status)
    else:
        oauth_error(response, error=expect.error, status=expect.status)
    assert response.headers["x-request-id"]
    if expect.status == 405:
        assert response.headers["allow"] == "POST"
    if expect.status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize("case", list(CASES))
def test_bad_request_gets_its_documented_error(env: Env, case: str) -> None:
    send, expect = CASES[case]

    check(send(env), expect)


def test_seed_problem_instance_is_the_path_as_received(env: Env) -> None:
    response = env.raw("POST", "/v1/api/oauth/../../etc/passwd?scope=edit")

    assert seed_error(response, code="240109", status=404)["instance"] == "/v1/api/oauth/../../etc/passwd"


def test_scope_of_exactly_fifty_characters_is_accepted(env: Env) -> None:
    response = env.http.post(f"{SEED_PATH}?scope={SCOPE_50}", headers=env.auth)

    assert response.status_code == 200, response.text


# Requests the HTTP server refuses before the application sees them (docs/errors.md,
# "Requests refused before tokensmith sees them"): a plain 400, never a 500.
UNPARSABLE: dict[str, tuple[tuple[bytes, ...], bytes]] = {
    "Content-Length not a number": ((b"Content-Length: abc",), b"scope=edit"),
    "negative Content-Length": ((b"Content-Length: -1",), b""),
    "signed Content-Length": ((b"Content-Length: +5",), b"abcde"),
    "Content-Length and chunked together": ((b"Content-Length: 10", b"Transfer-Encoding: chunked"), chunked(b"scope=edit")),
    "chunk size not hexadecimal": ((b"Transfer-Encoding: chunked",), b"zz\r\nscope=edit\r\n0\r\n\r\n"),
    "header line without a colon": ((b"Content-Type application/x-www-form-urlencoded",), b""),
}


@pytest.mark.parametrize("case", list(UNPARSABLE))
def test_unparsable_framing_is_refused_with_400(env: Env, case: str) -> None:
    headers, body = UNPARSABLE[case]

    response = env.raw("POST", f"{SEED_PATH}?scope=edit", *headers, body=body)

    assert response.status_code == 400


def test_raw_non_ascii_in_the_request_line_is_refused_with_400(env: Env) -> None:
    response = env.raw("POST", f"{SEED_PATH}?scope=\xe9dit")

    assert response.status_code == 400


def test_client_that_stops_sending_its_body_is_not_a_server_error(env: Env) -> None:
    """A body shorter than its Content-Length, then the client hangs up: the server's
    fault would be a 500 and a traceback; it is the client's, a 400 nobody reads."""
    head = f"POST {SEED_PATH}?scope=edit HTTP/1.1\r\nHost: t\r\nX-Request-Id: e2e-short-body\r\n".encode()
    head += b"Content-Type: " + FORM_TYPE.encode() + b"\r\nContent-Length: 50\r\n\r\nscope=ed"
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=10) as sock:
        sock.sendall(head)
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass

    assert access_line(env.server, "e2e-short-body")["status"] == 400


def test_server_still_issues_tokens_after_all_of_it(env: Env) -> None:
    assert env.server.is_running()
    for response in (
        env.http.post(f"{SEED_PATH}?scope=edit", headers=env.auth),
        env.http.post(OAUTH_PATH, headers=env.auth, data=FORM),
    ):
        assert response.status_code == 200, response.text
        assert response.json()["access_token"].count(".") == 2
    wait_for_log(env.server, lambda line: line.get("logger") == "tokensmith.access")
    lines = env.server.log_lines()
    assert [line for line in lines if line.get("logger") == "tokensmith.access" and line["status"] >= 500] == []
    assert [line for line in lines if line.get("level") == "error" or "exception" in line] == []
