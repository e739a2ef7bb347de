"""Faults, each against real processes: a node killed under load, `keys rotate` under
load, SIGTERM in the middle of requests, and a full disk under the SQLite store.

The several-node tests use the real PostgreSQL and Redis (tests/support/services.py):
skipped with the reason when absent, a failure under CI=true. The full-disk test
mounts a small tmpfs (root and CAP_SYS_ADMIN needed): without that capability it is
skipped with the reason, in CI too, since it is the machine and not a service that is
missing. No test asserts how long anything took; loads are bounded by a request count
or a few seconds.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.wire import basic, oauth_error, parse_response, read_until_closed
from tests.multinode.cluster import ISSUER, key_id, make_nodes, node_env, start_all, stop_all
from tests.support.server import Tokensmith
from tests.support.services import (
    REDIS_URL,
    fresh_postgres_database,
    fresh_redis_prefix,
    postgres_problem,
    redis_problem,
    require,
)
from tokensmith.domain.key_encryption import generate_kek
from tokensmith.verify import TokenError, TokenVerifier

SEED = "/v1/api/oauth/token?scope=edit"
TRANSPORT_ERRORS = (httpx.TransportError,)


@pytest.fixture(scope="module")
def services() -> None:
    require("PostgreSQL", postgres_problem())
    require("Redis", redis_problem())


@pytest.fixture
def cluster(services: None, tmp_path: Path) -> Iterator[Callable[[int], list[Tokensmith]]]:
    """Starts `count` nodes on a fresh PostgreSQL database and Redis prefix."""
    started: list[Tokensmith] = []
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:

        def start(count: int) -> list[Tokensmith]:
            env = node_env(database, generate_kek(), redis_url=REDIS_URL, redis_prefix=prefix)
            nodes = make_nodes(tmp_path, count, env)
            nodes[0].cli("db", "upgrade")
            started.extend(nodes)
            start_all(nodes)
            return nodes

        try:
            yield start
        finally:
            stop_all(started)


def jwks_verifier(node: Tokensmith) -> TokenVerifier:
    """A resource server's verifier for the cluster's tokens (its audience is the issuer).
    Keys come from one node's JWKS URL (the issuer URL is not a real host here)."""
    return TokenVerifier(ISSUER, ISSUER, jwks_url=f"{node.url}/.well-known/jwks.json")


@dataclass
class Load:
    """Client threads fetching tokens round-robin over the nodes; a fetch that fails on
    one node (connection refused or cut, or a 5xx) is retried on the next. A fetch is
    failed only when every node failed it."""

    nodes: list[Tokensmith]
    client: dict[str, Any]
    threads: int = 4
    tokens: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    retries: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    sink: queue.Queue[str] | None = None

    def start(self) -> Load:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def count(self) -> int:
        with self._lock:
            return len(self.tokens)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < count:
            assert time.monotonic() < deadline, f"only {self.count()} tokens in {timeout} s"
            assert not self.failures, self.failures[:3]
            time.sleep(0.01)

    def _run(self, index: int) -> None:
        auth = (self.client["client_id"], self.client["client_secret"])
        with httpx.Client(timeout=10) as http:
            turn = index
            while not self._stop.is_set():
                self._fetch(http, auth, turn)
                turn += 1

    def _fetch(self, http: httpx.Client, auth: tuple[str, str], turn: int) -> None:
        problems = []
        for attempt in range(len(self.nodes)):
            node = self.nodes[(turn + attempt) % len(self.nodes)]
            try:
                response = http.post(f"{node.url}{SEED}", auth=auth)
            except TRANSPORT_ERRORS as exc:  # refused or cut: that node is down, try the next
                problems.append(f"{node.url}: {type(exc).__name__}")
                continue
            if response.status_code >= 500:
                problems.append(f"{node.url}: {response.status_code}")
                continue
            if response.status_code != 200:  # a refusal is a real failure, not a node down
                problems.append(f"{node.url}: {response.status_code} {response.text[:200]}")
                break
            token = response.json()["access_token"]
            with self._lock:
                self.tokens.append(token)
                self.retries += attempt
            if self.sink is not None:
                self.sink.put(token)
            return
        with self._lock:
            self.failures.append("; ".join(problems))


# -- a node killed under load -------------------------------------------------------


def test_a_node_killed_under_load_loses_no_client_request_and_every_token_verifies(cluster) -> None:
    nodes = cluster(3)
    client = nodes[0].create_client("fault-load")
    load = Load(nodes, client).start()
    try:
        load.wait_for(100)
        victim = nodes[1]
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
        killed_at = load.count()
        load.wait_for(killed_at + 300)
    finally:
        load.stop()

    assert load.failures == [], load.failures[:5]
    assert not victim.is_running()
    survivors = [node for node in nodes if node is not victim]
    # The survivors answer on their own, without any client noticing but by a retry.
    for node in survivors:
        assert httpx.get(f"{node.url}/readyz").status_code == 200
    verifier = jwks_verifier(survivors[0])
    invalid = []
    for token in load.tokens:
        try:
            verifier.verify(token)
        except TokenError as exc:
            invalid.append(str(exc))
    assert invalid == [], invalid[:3]
    assert len(load.tokens) >= killed_at + 300
    print(f"\nnode killed under load: {len(load.tokens)} tokens, {load.retries} client retries, 0 failures")


# -- keys rotate under load ------------------------------------------------------------


def test_keys_rotate_under_load_with_zero_verification_failures(cluster) -> None:
    nodes = cluster(2)
    client = nodes[0].create_client("fault-rotation")
    # A resource server that fetched the JWKS before the rotation and, as a real one
    # would, does not refetch for 30 s: it must already hold the key signing next.
    verifier = jwks_verifier(nodes[0])
    before = httpx.get(f"{nodes[0].url}/.well-known/jwks.json").json()["keys"]
    tokens: queue.Queue[str] = queue.Queue()
    failures: list[str] = []
    verified: list[str] = []
    done = threading.Event()

    def verify_all() -> None:
        while not (done.is_set() and tokens.empty()):
            try:
                token = tokens.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                verifier.verify(token)
                verified.append(token)
            except TokenError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

    checker = threading.Thread(target=verify_all, daemon=True)
    load = Load(nodes, client, threads=3, sink=tokens)
    checker.start()
    load.start()
    try:
        load.wait_for(100)
        rotated = nodes[1].cli("keys", "rotate")
        at_rotation = load.count()
        # Go on until well after both nodes sign with the new key.
        old_kid = key_id(load.tokens[0])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            recent = load.tokens[-100:]
            if len(load.tokens) > at_rotation + 300 and all(key_id(token) != old_kid for token in recent):
                break
            time.sleep(0.05)
    finally:
        load.stop()
        done.set()
        checker.join(timeout=60)

    assert "active key is now" in rotated.stdout
    assert load.failures == [], load.failures[:5]
    assert failures == [], failures[:5]
    assert len(verified) == len(load.tokens)
    kids_used = {key_id(token) for token in load.tokens}
    assert len(kids_used) == 2, "the load did not span the rotation"
    assert kids_used <= {key["kid"] for key in before}, "a key signed before it was published"
    # A verifier starting afresh after the rotation accepts every token too (the old
    # key stays published as retired).
    fresh = jwks_verifier(nodes[0])
    for token in load.tokens:
        fresh.verify(token)
    print(f"\nkeys rotate under load: {len(load.tokens)} tokens verified, kids {sorted(kids_used)}, 0 failures")


# -- SIGTERM drains in-flight requests ---------------------------------------------------


def test_sigterm_drains_requests_in_flight_then_refuses_new_connections(tmp_path: Path) -> None:
    server = Tokensmith(tmp_path)
    server.start()
    try:
        client = server.create_client("drained")
        authorization = basic(client["client_id"], client["client_secret"])
        keys = httpx.get(f"{server.url}/.well-known/jwks.json").json()
        body = b"grant_type=client_credentials&scope=edit"
        in_flight = []
        for index in range(5):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
            sock.sendall(
                f"POST /oauth2/token HTTP/1.1\r\nHost: t\r\nAuthorization: {authorization}\r\nX-Request-Id: drain-{index}\r\n".encode()
                + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body)
                + body[:10]
            )  # the handler is now reading the body: a request in flight
            in_flight.append(sock)
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=20)  # connected, nothing sent
        _wait_until_heads_are_read(server)

        server.process.send_signal(signal.SIGTERM)

        # New connections are refused from now on...
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except ConnectionRefusedError:
                break
            assert time.monotonic() < deadline, "the server still accepts connections after SIGTERM"
            time.sleep(0.02)
        assert server.process.poll() is None, "the server exited with requests in flight"
        # ...while every request in flight completes.
        answers = []
        for sock in in_flight:
            sock.sendall(body[10:])
            answers.append(parse_response(read_until_closed(sock)))
            sock.close()
        assert idle.recv(1) == b""  # an idle connection is simply closed
        idle.close()
        assert server.process.wait(timeout=20) == 128 + signal.SIGTERM  # 143: ended by SIGTERM, cleanly
    finally:
        server.stop()

    for answer in answers:
        assert answer.status_code == 200, answer.content
        assert answer.headers.get("connection") == "close"
    jwks = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200, json=keys)))
    verifier = TokenVerifier(server.issuer, server.issuer, jwks_url=f"{server.url}/.well-known/jwks.json", http_client=jwks)
    for answer in answers:
        verifier.verify(json.loads(answer.content)["access_token"])
    events = [line.get("event") for line in server.log_lines()]
    assert "Application shutdown complete." in events and "Finished server process" in " ".join(map(str, events))
    assert not [line for line in server.log_lines() if line.get("logger") == "tokensmith.error" or line.get("level") == "error"]


def _wait_until_heads_are_read(server: Tokensmith) -> None:
    """The requests sent so far have had their heads read: the server's one event loop
    answers a request made afterwards only once it has polled the earlier connections,
    whose bytes had arrived before this one even connected."""
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


# -- a full disk under the SQLite store --------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards; skipped where mounting is not allowed."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mountpoint)], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root and CAP_SYS_ADMIN): {result.stderr.strip()[:200]}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=30)


def fill(directory: Path) -> Path:
    """Writes a file until the filesystem has no byte left."""
    filler = directory / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == 28, exc  # ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_under_the_sqlite_store_gives_503_not_corruption(small_disk: Path, tmp_path: Path) -> None:
    database = small_disk / "tokensmith.db"
    workdir = tmp_path / "work"
    workdir.mkdir()
    server = Tokensmith(workdir, {"TOKENSMITH_DATABASE_URL": f"sqlite:///{database}"})
    server.start()
    try:
        client = server.create_client("full-disk")
        auth = (client["client_id"], client["client_secret"])
        with httpx.Client(base_url=server.url, timeout=10) as http:
            tokens = [http.post(SEED, auth=auth).json()["access_token"] for _ in range(30)]
            assert http.post("/oauth2/revoke", data={"token": tokens[0]}, auth=auth).status_code == 200
            filler = fill(small_disk)

            # Writes: revocation answers 503 in the RFC 6749 format, never 500.
            refused = []
            for token in tokens[1:11]:
                response = http.post("/oauth2/revoke", data={"token": token}, auth=auth)
                assert response.status_code in (200, 503), response.text
                if response.status_code == 503:
                    oauth_error(response, error="temporarily_unavailable", status=503)
                    assert response.headers["retry-after"] == "1"
                    refused.append(token)
            assert refused, "no write failed on a full disk"
            # The command line: one clean line and a non-zero exit, no traceback.
            for args in (("clients", "create", "--client-id", "on-a-full-disk", "--scope", "edit"), ("keys", "rotate")):
                result = server.cli(*args, check=False)
                assert result.returncode == 1, result.stdout
                assert result.stderr.startswith("tokensmith: ") and result.stderr.count("\n") == 1, result.stderr
                assert "full" in result.stderr
            # Issuing writes nothing: tokens keep coming.
            assert http.post(SEED, auth=auth).status_code == 200
            # A revoked token stays revoked.
            assert http.post("/oauth2/introspect", data={"token": tokens[0]}, auth=auth).json() == {"active": False}

            filler.unlink()

            # Everything works again once there is room, by itself.
            deadline = time.monotonic() + 15
            while http.post("/oauth2/revoke", data={"token": refused[0]}, auth=auth).status_code != 200:
                assert time.monotonic() < deadline, "revocation did not recover"
                time.sleep(0.2)
            for token in refused[1:]:
                assert http.post("/oauth2/revoke", data={"token": token}, auth=auth).status_code == 200
            for token in (tokens[0], *refused):
                assert http.post("/oauth2/introspect", data={"token": token}, auth=auth).json() == {"active": False}
            server.create_client("after-the-disk-filled")
            server.cli("keys", "rotate")
            assert http.post(SEED, auth=auth).status_code == 200
    finally:
        server.stop()

    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        revoked = connection.execute("SELECT count(*) FROM revocations").fetchone()[0]
    connection.close()
    assert revoked == 1 + len(refused)
    statuses = [line.get("status") for line in server.log_lines() if line.get("logger") == "tokensmith.access"]
    assert 500 not in statuses
    assert not [line for line in server.log_lines() if line.get("logger") == "tokensmith.error"]
