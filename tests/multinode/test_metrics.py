"""Prometheus metrics on /metrics, from a node serving with two worker processes on
PostgreSQL and Redis: the values of both workers are added up (multiprocess mode),
they move with the traffic, and their labels are bounded (route templates, known
client ids, problem names)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.multinode.cluster import SEED, make_nodes, node_env, wait_until
from tests.support.server import Tokensmith
from tests.support.services import REDIS_URL, fresh_postgres_database, fresh_redis_prefix
from tokensmith.domain.key_encryption import generate_kek

_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == name:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            found.append((labels, float(match["value"])))
    return found


def total(text: str, name: str, **wanted: str) -> float:
    return sum(value for labels, value in samples(text, name) if all(labels.get(k) == v for k, v in wanted.items()))


@pytest.fixture(scope="module")
def node(postgres_service: None, redis_service: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:
        env = node_env(database, generate_kek(), redis_url=REDIS_URL, redis_prefix=prefix)
        (server,) = make_nodes(tmp_path_factory.mktemp("metrics"), 1, env)
        server.start("--workers", "2")
        try:
            yield server
        finally:
            server.stop()


def _fresh_connection_post(url: str, **kwargs: Any) -> httpx.Response:
    # A new connection per request, so that the requests spread over the workers.
    return httpx.post(url, headers={"connection": "close"}, timeout=10, **kwargs)


def test_metrics_move_with_traffic_across_workers(node: Tokensmith) -> None:
    client = node.create_client("meter")
    auth = (client["client_id"], client["client_secret"])
    before = httpx.get(f"{node.url}/metrics", timeout=10)
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    assert total(before.text, "tokensmith_tokens_issued_total", client_id="meter") == 0

    for _ in range(20):
        assert _fresh_connection_post(f"{node.url}{SEED}", params={"scope": "edit"}, auth=auth).status_code == 200
    for _ in range(3):
        assert _fresh_connection_post(f"{node.url}{SEED}", params={"scope": "edit"}, auth=("meter", "tks_wrong")).status_code == 401
    assert httpx.get(f"{node.url}/no/such/path/12345", timeout=10).status_code == 404

    text = httpx.get(f"{node.url}/metrics", timeout=10).text
    assert total(text, "tokensmith_tokens_issued_total", endpoint=SEED, client_id="meter") == 20
    # Refused by reason; an unauthenticated caller's claimed id is never a label.
    assert total(text, "tokensmith_tokens_refused_total", endpoint=SEED, reason="invalid_client", client_id="") == 3
    assert total(text, "tokensmith_authentication_failures_total", endpoint=SEED) == 3
    assert total(text, "tokensmith_http_request_duration_seconds_count", endpoint=SEED, method="POST") == 23
    assert total(text, "tokensmith_http_requests_total", endpoint="unmatched", status="404") == 1
    assert "/no/such/path" not in text
    assert total(text, "tokensmith_cache_lookups_total", cache="client", result="hit") >= 1
    assert total(text, "tokensmith_cache_lookups_total", cache="client", result="miss") >= 1

    jwks = httpx.get(f"{node.url}/.well-known/jwks.json", timeout=10).json()
    active = {labels["kid"] for labels, value in samples(text, "tokensmith_signing_key") if value == 1}
    assert len(active) == 1 and active <= {key["kid"] for key in jwks["keys"]}

    node.cli("keys", "rotate")
    rotated = next(key["kid"] for key in json.loads(node.cli("keys", "list", "--json").stdout) if key["state"] == "active")

    def gauge_moved() -> bool:
        current = httpx.get(f"{node.url}/metrics", timeout=10).text
        return {labels["kid"] for labels, value in samples(current, "tokensmith_signing_key") if value == 1} == {rotated}

    wait_until(gauge_moved, timeout=15, interval=0.2, what="signing key gauge follows the rotation")


def test_readiness_reports_store_redis_and_fanout(node: Tokensmith) -> None:
    body = httpx.get(f"{node.url}/readyz", timeout=10).json()
    assert body == {"status": "ready", "store": "ok", "signing_key": "ok", "redis": "ok", "fanout": "subscribed"}
