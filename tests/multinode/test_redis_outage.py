"""Redis goes away (a TCP forwarder between the node and Redis is cut) and comes back.

Redis only makes tokensmith better: without it a node keeps issuing, counts failed
authentications in its own process, logs the outage once rather than per request,
and reports it in /readyz's details without becoming unready."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.multinode.cluster import SEED, client_for, make_nodes, node_env, seed_token, wait_until
from tests.support.server import Tokensmith
from tests.support.services import redis_host_port, redis_url_via
from tests.support.tcp_proxy import TcpForwarder
from tokensmith.domain.key_encryption import generate_kek


@pytest.fixture
def forwarder(redis_service: None) -> Iterator[TcpForwarder]:
    proxy = TcpForwarder(*redis_host_port())
    yield proxy
    proxy.stop()


@pytest.fixture
def node(postgres_url: str, redis_prefix: str, forwarder: TcpForwarder, tmp_path: Any) -> Iterator[Tokensmith]:
    env = node_env(
        postgres_url,
        generate_kek(),
        redis_url=redis_url_via(forwarder.host, forwarder.port),
        redis_prefix=redis_prefix,
        redis_retry_seconds="0.5",
        redis_timeout_seconds="0.2",
        bruteforce_client_failures="3",
        bruteforce_address_failures="50",
        bruteforce_block_seconds="30",
    )
    (server,) = make_nodes(tmp_path, 1, env)
    server.start()
    yield server
    server.stop()


def test_issuing_goes_on_without_redis_and_readiness_says_so(node: Tokensmith, forwarder: TcpForwarder) -> None:
    client = node.create_client("steady")
    with client_for("127.0.0.3") as http, client_for("127.0.0.2") as attacker:
        ready = http.get(f"{node.url}/readyz").json()
        assert ready["redis"] == "ok" and ready["fanout"] == "subscribed"

        forwarder.cut()
        statuses = [seed_token(http, node, client).status_code for _ in range(30)]
        assert statuses == [200] * 30

        response = http.get(f"{node.url}/readyz")
        assert response.status_code == 200  # ready: the store answers
        body = response.json()
        assert body["status"] == "ready" and body["redis"] == "unreachable" and body["fanout"] == "disconnected"

        # Failed authentications are still limited, by this process's own counters.
        failures = [
            attacker.post(f"{node.url}{SEED}", params={"scope": "edit"}, auth=("steady", f"tks_{i}")).status_code
            for i in range(6)
        ]
        assert failures[:3] == [401, 401, 401] and failures[-1] == 429

        # The outage is logged when it starts, not once per request.
        warnings = [line for line in node.log_lines() if line.get("event") == "redis unreachable; using per-process limits"]
        assert 1 <= len(warnings) <= 2, warnings

        forwarder.restore()
        wait_until(
            lambda: http.get(f"{node.url}/readyz").json()["fanout"] == "subscribed", timeout=10, interval=0.2, what="re-subscribed"
        )
        assert http.get(f"{node.url}/readyz").json()["redis"] == "ok"
        assert seed_token(http, node, client).status_code == 200
    assert any(line.get("event") == "redis reachable again" for line in node.log_lines())
