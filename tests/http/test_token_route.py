"""The token endpoints' thin ASGI route (http/token_route.py) answers exactly as the
Starlette stack behind it does: same status, header fields, body, access-log fields
and metrics, for successes and for every kind of refusal. Each request is sent to
both, in process, and the answers are compared."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tokensmith.config import Settings
from tokensmith.http import request_context, token_route
from tokensmith.http.app import create_app
from tokensmith.http.token_route import TokenRoutes
from tokensmith.node import Node

SEED = "/v1/api/oauth/token"
OAUTH = "/oauth2/token"
FORM = (b"content-type", b"application/x-www-form-urlencoded")
AUDIENCE = "https://api.route.example"


def basic(client_id: str, secret: str) -> tuple[bytes, bytes]:
    return (b"authorization", b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode()))


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'route.db'}"
        env = {"TOKENSMITH_DATABASE_URL": url, "TOKENSMITH_AUDIT_LOG": "off", "PATH": "/usr/bin:/bin"}
        made = {}
        # Only a creating command makes a SQLite store; the others refuse a missing one.
        subprocess.run([sys.executable, "-m", "tokensmith", "db", "upgrade"], env=env, capture_output=True, check=True, cwd=tmp_path)
        for client_id, extra in (("route", ["--audience", AUDIENCE]), ("limited", ["--rate-limit", "1"])):
            done = subprocess.run(
                [sys.executable, "-m", "tokensmith", "clients", "create", "--client-id", client_id, "--scope", "edit",
                 "--scope", "read", "--json", *extra],
                env=env, capture_output=True, text=True, check=True, cwd=tmp_path,
            )  # fmt: skip
            made[client_id] = json.loads(done.stdout)["client_secret"]
        self.secret, self.limited_secret = made["route"], made["limited"]
        settings = Settings(
            database_url=url, bruteforce_address_failures=1_000_000, bruteforce_client_failures=1_000_000, max_body_bytes=1024,
            client_cache_seconds=60, key_cache_seconds=60,  # warm for the whole module, however slow the machine
        )
        self.node = Node.from_settings(settings)
        self.node.key_cache.reload()
        self.app = create_app(self.node)
        assert isinstance(self.app, TokenRoutes)
        self.reference = self.app.app  # RequestContext → MetricsMiddleware → Starlette
        self.lines: list[dict[str, Any]] = []

    @staticmethod
    def limited(headers: list[tuple[bytes, bytes]]) -> bool:
        """A request of the client with an issuance limit (which needs its counter)."""
        auth = dict(headers).get(b"authorization", b"")
        return auth.startswith(b"Basic ") and base64.b64decode(auth[6:]).startswith(b"limited:")

    def log(self, request_id: str, method: str, path: str, status: int, client_id: str | None, remote: str | None, latency_ms: float) -> None:
        self.lines.append({"method": method, "path": path, "status": status, "client_id": client_id, "remote": remote})

    @staticmethod
    def scope(path: str, headers: list[tuple[bytes, bytes]], query: bytes = b"", method: str = "POST") -> dict[str, Any]:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query, "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": {},
        }  # fmt: skip

    def received(self, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"", query: bytes = b"") -> dict[str, Any] | None:
        """What TokenRoutes.answer_received (the answer http/protocol.py writes without
        an ASGI cycle) gives, or None when it leaves the request to the ASGI route."""
        return self.received_in(self.scope(path, headers, query), body)

    def received_in(self, scope: dict[str, Any], body: bytes) -> dict[str, Any] | None:
        answer = self.app.answer_received(scope, body)
        if answer is None:
            return None
        fields, content = answer
        return {"status": 200, "headers": [(name.decode(), value.decode()) for name, value in fields], "body": content}

    def call(
        self, app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"", query: bytes = b"", method: str = "POST",
        scope: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        scope = scope or self.scope(path, headers, query, method)
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        return {
            "status": start["status"],
            "headers": [(name.decode(), value.decode()) for name, value in start["headers"]],
            "body": b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        }


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("route"))
    patch = pytest.MonkeyPatch()
    patch.setattr(request_context, "log_access", harness.log)
    patch.setattr(token_route, "log_access", harness.log)
    yield harness
    patch.undo()
    harness.node.engine.dispose()


def counters() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for metric in REGISTRY.collect():
        # Cache hits and misses depend on timing, not on the route that asked.
        if not metric.name.startswith("tokensmith") or metric.name.startswith("tokensmith_cache_lookups"):
            continue
        for sample in metric.samples:
            if sample.name.endswith(("_total", "_count")):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def moved(before: dict[Any, float], after: dict[Any, float]) -> dict[Any, float]:
    return {key: value - before.get(key, 0.0) for key, value in after.items() if value != before.get(key, 0.0)}


def normalised(answer: dict[str, Any]) -> dict[str, Any]:
    """What must be equal: the token itself and the request id are new every time."""
    headers = [(name, "<id>" if name == "x-request-id" else value) for name, value in answer["headers"]]
    body = answer["body"]
    if answer["status"] == 200:
        parsed = json.loads(body)
        parsed["access_token"] = "<token>"
        if "expires_in" in parsed:
            parsed["expires_in"] = "<n>"
        body = json.dumps(parsed).encode()
        headers = [(name, "<n>" if name == "content-length" else value) for name, value in headers]
    return {"status": answer["status"], "headers": headers, "body": body}


def both(harness: Harness, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b"", query: bytes = b"") -> dict[str, Any]:
    results = []
    for app in (harness.reference, harness.app):
        harness.lines.clear()
        before = counters()
        answer = harness.call(app, path, headers, body, query)
        results.append((normalised(answer), moved(before, counters()), list(harness.lines), answer))
    (reference, reference_metrics, reference_log, _), (thin, thin_metrics, thin_log, raw) = results
    assert thin == reference
    assert thin_metrics == reference_metrics
    assert thin_log == reference_log and len(thin_log) == 1
    # The same request, received whole, offered to the no-I/O path: a 200 for a warm
    # client (the calls above warmed it) is answered there, identically; anything
    # else is handed, as far as it got, to the ASGI route, which finishes it
    # identically, deciding nothing twice (nothing logged before it answers).
    harness.lines.clear()
    before = counters()
    scope = harness.scope(path, headers, query)
    received = harness.received_in(scope, body)
    if raw["status"] == 200 and not harness.limited(headers):
        assert received is not None, "a warm client's 200 was not answered without the ASGI cycle"
        assert normalised(received) == reference
    else:
        assert received is None and harness.lines == []
        # The body is not read again: the exchange began with the received one.
        received = harness.call(harness.app, path, headers, b"", query, scope=scope)
        assert normalised(received) == reference
    assert moved(before, counters()) == reference_metrics
    assert harness.lines == reference_log
    return raw


def seed_cases(secret: str) -> list[tuple[str, list[tuple[bytes, bytes]], bytes, bytes]]:
    ok = basic("route", secret)
    return [
        ("token", [ok, (b"content-length", b"0")], b"", b"scope=edit"),
        ("token, no content-length", [ok], b"", b"scope=edit"),
        ("two scopes", [ok, (b"content-length", b"0")], b"", b"scope=read+edit"),
        ("audience", [ok, (b"content-length", b"0")], b"", f"scope=edit&audience={AUDIENCE}".encode()),
        ("tolerated form", [ok, FORM, (b"content-length", b"40")], b"grant_type=client_credentials&scope=edit", b""),
        ("form and query agree", [ok, FORM, (b"content-length", b"10")], b"scope=edit", b"scope=edit"),
        ("form and query differ", [ok, FORM, (b"content-length", b"10")], b"scope=read", b"scope=edit"),
        ("wrong secret", [basic("route", secret + "x"), (b"content-length", b"0")], b"", b"scope=edit"),
        ("unknown client", [basic("nobody", secret), (b"content-length", b"0")], b"", b"scope=edit"),
        ("no credentials", [(b"content-length", b"0")], b"", b"scope=edit"),
        ("bearer, not basic", [(b"authorization", b"Bearer abc"), (b"content-length", b"0")], b"", b"scope=edit"),
        ("bad base64", [(b"authorization", b"Basic !!!"), (b"content-length", b"0")], b"", b"scope=edit"),
        ("no scope", [ok, (b"content-length", b"0")], b"", b""),
        ("empty scope", [ok, (b"content-length", b"0")], b"", b"scope="),
        ("scope not allowed", [ok, (b"content-length", b"0")], b"", b"scope=admin"),
        ("scope too long", [ok, (b"content-length", b"0")], b"", b"scope=" + b"e" * 60),
        ("malformed scope", [ok, (b"content-length", b"0")], b"", b"scope=%22"),
        ("repeated parameter", [ok, (b"content-length", b"0")], b"", b"scope=edit&scope=read"),
        ("bad percent-encoding", [ok, (b"content-length", b"0")], b"", b"scope=%ff"),
        ("audience not allowed", [ok, (b"content-length", b"0")], b"", b"scope=edit&audience=https://x"),
        ("resource and audience differ", [ok, (b"content-length", b"0")], b"", f"scope=edit&audience={AUDIENCE}&resource=https://y".encode()),
        ("json body", [ok, (b"content-type", b"application/json"), (b"content-length", b"2")], b"{}", b"scope=edit"),
        ("body too large", [ok, FORM, (b"content-length", b"5000")], b"", b"scope=edit"),
        ("content-length not a number", [ok, FORM, (b"content-length", b"1x")], b"", b"scope=edit"),
        ("other grant type", [ok, FORM, (b"content-length", b"18")], b"grant_type=password", b"scope=edit"),
        ("safe request id", [ok, (b"content-length", b"0"), (b"x-request-id", b"trace-1.a_b")], b"", b"scope=edit"),
        ("unsafe request id", [ok, (b"content-length", b"0"), (b"x-request-id", b"two words")], b"", b"scope=edit"),
    ]


def oauth_cases(secret: str) -> list[tuple[str, list[tuple[bytes, bytes]], bytes, bytes]]:
    ok = basic("route", secret)

    def form(text: str, *headers: tuple[bytes, bytes]) -> tuple[list[tuple[bytes, bytes]], bytes]:
        body = text.encode()
        return [*headers, FORM, (b"content-length", str(len(body)).encode())], body

    cases = [
        ("token", *form("grant_type=client_credentials&scope=edit", ok)),
        ("default scopes", *form("grant_type=client_credentials", ok)),
        ("resource", *form(f"grant_type=client_credentials&resource={AUDIENCE}", ok)),
        ("client_secret_post", *form(f"grant_type=client_credentials&client_id=route&client_secret={secret}")),
        ("two methods", *form(f"grant_type=client_credentials&client_id=route&client_secret={secret}", ok)),
        ("no grant type", *form("scope=edit", ok)),
        ("other grant type", *form("grant_type=password", ok)),
        ("invalid scope", *form("grant_type=client_credentials&scope=admin", ok)),
        ("wrong secret", *form("grant_type=client_credentials", basic("route", "nope"))),
        ("no credentials", *form("grant_type=client_credentials")),
        ("bad target", *form("grant_type=client_credentials&resource=https://x", ok)),
        ("empty body", [ok, (b"content-length", b"0")], b""),
        ("not a form", [ok, (b"content-type", b"text/plain"), (b"content-length", b"3")], b"abc"),
        ("latin-1 charset", [ok, (b"content-type", b"application/x-www-form-urlencoded; charset=latin-1"), (b"content-length", b"29")], b"grant_type=client_credentials"),
        ("not utf-8", [ok, FORM, (b"content-length", b"31")], b"grant_type=client_credentials&\xff"),
    ]
    return [(name, headers, body, b"") for name, headers, body in cases]


def test_seed_endpoint_answers_as_the_starlette_route_does(harness: Harness) -> None:
    for name, headers, body, query in seed_cases(harness.secret):
        try:
            both(harness, SEED, headers, body, query)
        except AssertionError as exc:
            raise AssertionError(f"seed endpoint, {name}: {exc}") from None


def test_standard_endpoint_answers_as_the_starlette_route_does(harness: Harness) -> None:
    for name, headers, body, query in oauth_cases(harness.secret):
        try:
            both(harness, OAUTH, headers, body, query)
        except AssertionError as exc:
            raise AssertionError(f"standard endpoint, {name}: {exc}") from None


def test_thin_route_answers_with_the_expected_fields(harness: Harness) -> None:
    answer = both(harness, SEED, [basic("route", harness.secret), (b"content-length", b"0"), (b"x-request-id", b"given-1")], b"", b"scope=edit")
    assert answer["status"] == 200
    headers = dict(answer["headers"])
    assert headers == {
        "cache-control": "no-store", "pragma": "no-cache", "content-length": str(len(answer["body"])),
        "content-type": "application/json", "x-request-id": "given-1",
    }  # fmt: skip
    assert list(json.loads(answer["body"])) == ["access_token", "expires_in", "token_type"]
    refused = harness.call(harness.app, SEED, [basic("route", "wrong"), (b"content-length", b"0")], query=b"scope=edit")
    assert refused["status"] == 401
    assert dict(refused["headers"])["www-authenticate"].startswith("Basic")
    assert len(dict(refused["headers"])["x-request-id"]) == 16


def test_rate_limited_client_gets_429_with_retry_after_on_both(harness: Harness) -> None:
    auth = [basic("limited", harness.limited_secret), (b"content-length", b"0")]
    assert harness.received(SEED, auth, query=b"scope=edit") is None  # its limit is consulted by the ASGI route
    for app in (harness.app, harness.reference):
        harness.node.issuance = type(harness.node.issuance)()  # a fresh per-minute window
        assert harness.call(app, SEED, auth, query=b"scope=edit")["status"] == 200
        refused = harness.call(app, SEED, auth, query=b"scope=edit")
        assert refused["status"] == 429
        assert int(dict(refused["headers"])["retry-after"]) >= 1


def test_other_methods_and_paths_still_reach_starlette(harness: Harness) -> None:
    assert harness.call(harness.app, SEED, [], method="GET")["status"] == 405
    assert dict(harness.call(harness.app, OAUTH, [], method="GET")["headers"])["allow"] == "POST"
    assert harness.call(harness.app, SEED + "\n", [basic("route", harness.secret)], query=b"scope=edit")["status"] == 404
    assert harness.call(harness.app, OAUTH + "/", [basic("route", harness.secret)])["status"] == 404
    assert harness.call(harness.app, "/healthz", [], method="GET")["status"] == 200


def test_an_unexpected_failure_is_a_clean_500_with_the_request_id(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(harness.node.key_cache, "refresh_if_stale", broken)
    monkeypatch.setattr(harness.node.key_cache, "is_fresh", lambda: False)  # so the ring is re-read
    answer = harness.call(harness.app, SEED, [basic("route", harness.secret), (b"content-length", b"0"), (b"x-request-id", b"oops-1")], query=b"scope=edit")
    assert answer["status"] == 500
    assert dict(answer["headers"])["x-request-id"] == "oops-1"
    problem = json.loads(answer["body"])[0]
    assert problem["errorCode"] == "240113" and "oops-1" in problem["invalid-params"][0]
    assert b"boom" not in answer["body"]


def test_the_no_io_path_leaves_cold_clients_blocks_and_stale_keys_to_the_asgi_route(harness: Harness) -> None:
    auth = [basic("route", harness.secret), (b"content-length", b"0")]
    assert harness.call(harness.app, SEED, auth, query=b"scope=edit")["status"] == 200
    assert harness.received(SEED, auth, query=b"scope=edit") is not None
    harness.node.client_cache.forget("route")  # a change announcement: the next answer needs the store
    assert harness.received(SEED, auth, query=b"scope=edit") is None
    assert harness.call(harness.app, SEED, auth, query=b"scope=edit")["status"] == 200
    harness.node.key_cache.invalidate()  # the ring must be re-read first
    assert harness.received(SEED, auth, query=b"scope=edit") is None
    assert harness.call(harness.app, SEED, auth, query=b"scope=edit")["status"] == 200
    assert harness.received(SEED, auth, query=b"scope=edit") is not None
