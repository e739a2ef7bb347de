"""Several tokensmith nodes sharing one store, for tests: start them together,
talk to each, and measure how long a change takes to reach all of them."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import Tokensmith

ISSUER = "https://tokensmith.test"
SEED = "/v1/api/oauth/token"
OAUTH = "/oauth2/token"
INTROSPECT = "/oauth2/introspect"
REVOKE = "/oauth2/revoke"

# (what, seconds, bound): printed at the end of the run (conftest.py).
MEASUREMENTS: list[tuple[str, float, float]] = []


def node_env(
    database_url: str,
    kek: str,
    *,
    redis_url: str | None = None,
    redis_prefix: str | None = None,
    **settings: str,
) -> dict[str, str]:
    """The environment every node of one deployment shares. Cache times are the
    production defaults, not the 0 s that single-node tests use, so that what the
    tests measure is what an operator gets."""
    env = {
        "TOKENSMITH_DATABASE_URL": database_url,
        "TOKENSMITH_KEY_ENCRYPTION_KEY": kek,
        "TOKENSMITH_ISSUER": ISSUER,
        "TOKENSMITH_CLIENT_CACHE_SECONDS": "2",
        "TOKENSMITH_KEY_CACHE_SECONDS": "10",
        "TOKENSMITH_ACCESS_LOG": "false",
        "TOKENSMITH_BRUTEFORCE_ADDRESS_FAILURES": "1000000",
        "TOKENSMITH_BRUTEFORCE_CLIENT_FAILURES": "1000000",
    }
    if redis_url is not None:
        env["TOKENSMITH_REDIS_URL"] = redis_url
        env["TOKENSMITH_REDIS_PREFIX"] = redis_prefix or "tokensmith-test:"
    env.update({f"TOKENSMITH_{name.upper()}": value for name, value in settings.items()})
    return env


def make_nodes(root: Path, count: int, env: dict[str, str]) -> list[Tokensmith]:
    nodes = []
    for index in range(count):
        workdir = root / f"node{index}"
        workdir.mkdir(parents=True, exist_ok=True)
        nodes.append(Tokensmith(workdir, env_overrides=dict(env)))
    return nodes


def start_all(nodes: Sequence[Tokensmith], *extra_args: str) -> None:
    """Starts the nodes at once (they take the schema lock in turn)."""
    with ThreadPoolExecutor(len(nodes)) as pool:
        for future in [pool.submit(node.start, *extra_args) for node in nodes]:
            future.result()


def stop_all(nodes: Sequence[Tokensmith]) -> None:
    for node in nodes:
        node.stop()


def client_for(local_address: str | None = None, timeout: float = 10.0) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    return httpx.Client(transport=transport, timeout=timeout)


def seed_token(http: httpx.Client, node: Tokensmith, client: dict[str, Any], scope: str = "edit") -> httpx.Response:
    return http.post(f"{node.url}{SEED}", params={"scope": scope}, auth=(client["client_id"], client["client_secret"]))


def oauth_token(http: httpx.Client, node: Tokensmith, client: dict[str, Any], **form: str) -> httpx.Response:
    return http.post(
        f"{node.url}{OAUTH}",
        data={"grant_type": "client_credentials", **form},
        auth=(client["client_id"], client["client_secret"]),
    )


def introspect(http: httpx.Client, node: Tokensmith, client: dict[str, Any], token: str) -> httpx.Response:
    return http.post(f"{node.url}{INTROSPECT}", data={"token": token}, auth=(client["client_id"], client["client_secret"]))


def is_active(http: httpx.Client, node: Tokensmith, client: dict[str, Any], token: str) -> bool:
    response = introspect(http, node, client, token)
    assert response.status_code == 200, response.text
    return bool(response.json()["active"])


def key_id(token: str) -> str:
    """The kid in a JWT's header."""
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02, what: str = "condition") -> float:
    """Polls until `condition` holds; returns the seconds it took."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not true within {timeout} s")
        time.sleep(interval)


def measure_everywhere(
    what: str, nodes: Sequence[Tokensmith], condition: Callable[[Tokensmith], bool], bound: float
) -> float:
    """Polls every node until `condition` holds on all of them; the time until the
    last one got there must be within `bound`. Returns and records it."""
    started = time.monotonic()
    pending = list(nodes)
    while pending:
        pending = [node for node in pending if not condition(node)]
        elapsed = time.monotonic() - started
        if pending and elapsed > bound + 2:
            break
        if pending:
            time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert not pending, f"{what}: {len(pending)} node(s) still not there after {elapsed:.2f} s"
    assert elapsed <= bound, f"{what}: took {elapsed:.3f} s, bound {bound} s"
    MEASUREMENTS.append((what, elapsed, bound))
    return elapsed
