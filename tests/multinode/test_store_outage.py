"""PostgreSQL goes away while a node is serving (a TCP forwarder between the node
and PostgreSQL is cut, or turned into a black hole), then comes back.

While it is away: clients the node has cached keep getting tokens (past their cache
time, up to TOKENSMITH_CLIENT_MAX_STALE_SECONDS); whatever needs the store answers
503 in the endpoint's own error format, quickly; /readyz says the store is
unreachable; nothing is ever a 500. When it returns, the node recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.multinode.cluster import (
    INTROSPECT,
    MEASUREMENTS,
    REVOKE,
    client_for,
    make_nodes,
    node_env,
    oauth_token,
    seed_token,
    wait_until,
)
from tests.support.server import Tokensmith
from tests.support.services import database_via, postgres_host_port
from tests.support.tcp_proxy import TcpForwarder
from tokensmith.domain.key_encryption import generate_kek

STORE_TIMEOUT = 1.5
# The slowest a refusal may be: the store timeout, plus scheduling slack on a busy machine.
COLD_BOUND = STORE_TIMEOUT + 1.5


@pytest.fixture
def forwarder(postgres_service: None) -> Iterator[TcpForwarder]:
    proxy = TcpForwarder(*postgres_host_port())
    yield proxy
    proxy.stop()


@pytest.fixture
def node(postgres_url: str, forwarder: TcpForwarder, tmp_path: Any) -> Iterator[Tokensmith]:
    env = node_env(
        database_via(postgres_url, forwarder.host, forwarder.port),
        generate_kek(),
        client_cache_seconds="1",
        key_cache_seconds="1",
        client_max_stale_seconds="120",
        store_timeout_seconds=str(STORE_TIMEOUT),
        store_retry_seconds="0.5",
        db_connect_timeout_seconds="2",
        db_pool_timeout_seconds="1",
        db_statement_timeout_ms="1000",
    )
    (server,) = make_nodes(tmp_path, 1, env)
    server.start()
    yield server
    server.stop()


def _sample(exposition: str, series: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("outage", ["cut", "blackhole"])
def test_a_node_rides_out_a_store_outage_and_recovers_by_itself(
    outage: str, node: Tokensmith, forwarder: TcpForwarder
) -> None:
    warm = node.create_client("warm", scopes=("edit", "read"))
    cold = node.create_client("cold")
    seen: list[int] = []
    with client_for(timeout=15) as http:
        first = seed_token(http, node, warm)
        assert first.status_code == 200
        token = first.json()["access_token"]
        assert http.post(f"{node.url}{INTROSPECT}", data={"token": token}, auth=(warm["client_id"], warm["client_secret"])).json()["active"]

        getattr(forwarder, outage)()
        time.sleep(1.2)  # past the client and key cache times

        # A cached client keeps getting tokens, from both endpoints. (The first
        # request finds the store gone and waits for it at most the store timeout.)
        slowest = 0.0
        for _ in range(3):
            response, elapsed = _timed(lambda: seed_token(http, node, warm))
            seen.append(response.status_code)
            assert response.status_code == 200, response.text
            assert elapsed < COLD_BOUND
            slowest = max(slowest, elapsed)
        MEASUREMENTS.append((f"store {outage}: slowest cached-client token", slowest, COLD_BOUND))
        response = oauth_token(http, node, warm, scope="read")
        seen.append(response.status_code)
        assert response.status_code == 200, response.text

        # A client the node has not cached: 503 in the seed format, quickly.
        response, elapsed = _timed(lambda: seed_token(http, node, cold))
        seen.append(response.status_code)
        assert response.status_code == 503, response.text
        assert elapsed < COLD_BOUND
        body = response.json()
        assert body[0]["errorCode"] == "240114" and body[0]["status"] == 503
        assert int(response.headers["retry-after"]) >= 1
        MEASUREMENTS.append((f"store {outage}: cold client answered 503 in", elapsed, COLD_BOUND))

        # ... and in RFC 6749's format on the standard endpoint.
        response, elapsed = _timed(lambda: oauth_token(http, node, cold))
        seen.append(response.status_code)
        assert response.status_code == 503
        assert response.json()["error"] == "temporarily_unavailable"
        assert elapsed < COLD_BOUND

        # Introspection must ask the store whether the token was revoked: 503, not a guess.
        auth = (warm["client_id"], warm["client_secret"])
        response, elapsed = _timed(lambda: http.post(f"{node.url}{INTROSPECT}", data={"token": token}, auth=auth))
        seen.append(response.status_code)
        assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
        assert elapsed < COLD_BOUND
        response = http.post(f"{node.url}{REVOKE}", data={"token": token}, auth=auth)
        seen.append(response.status_code)
        assert response.status_code == 503

        # The public keys are served from the cached ring.
        response = http.get(f"{node.url}/.well-known/jwks.json")
        seen.append(response.status_code)
        assert response.status_code == 200 and response.json()["keys"]

        response, elapsed = _timed(lambda: http.get(f"{node.url}/readyz"))
        seen.append(response.status_code)
        assert response.status_code == 503
        assert response.json()["store"] == "unreachable"
        assert elapsed < 4

        forwarder.restore()
        recovery = wait_until(
            lambda: seed_token(http, node, cold).status_code == 200, timeout=15, interval=0.1, what="recovery"
        )
        MEASUREMENTS.append((f"store {outage}: restored -> cold client served again", recovery, 15))
        assert http.get(f"{node.url}/readyz").status_code == 200
        exposition = http.get(f"{node.url}/metrics").text
        assert _sample(exposition, 'tokensmith_store_errors_total{operation="client lookup"}') >= 1
        assert _sample(exposition, 'tokensmith_cache_lookups_total{cache="client",result="stale"}') >= 3
        assert http.post(f"{node.url}{REVOKE}", data={"token": token}, auth=auth).status_code == 200
        assert http.post(f"{node.url}{INTROSPECT}", data={"token": token}, auth=auth).json() == {"active": False}
    assert 500 not in seen
    assert node.is_running()
    # The log is written by a background thread in batches: on a loaded machine the
    # last lines may land a moment after the requests that caused them.
    wait_until(
        lambda: {"store unreachable", "store reachable again"} <= {line.get("event") for line in node.log_lines()},
        timeout=10,
        interval=0.1,
        what="outage and recovery logged",
    )
    events = [line.get("event") for line in node.log_lines()]
    assert "unhandled error" not in events
