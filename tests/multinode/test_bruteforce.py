"""Brute-force protection across nodes, and per-client issuance limits.

Two nodes share PostgreSQL and Redis. The attacker calls from 127.0.0.2 (the test
binds its HTTP client's local address), alternating between the nodes; the real
client calls from 127.0.0.3 and must never be locked out by the attacker."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.multinode.cluster import (
    INTROSPECT,
    SEED,
    client_for,
    make_nodes,
    node_env,
    oauth_token,
    seed_token,
    start_all,
    stop_all,
    wait_until,
)
from tests.support.server import Tokensmith
from tests.support.services import REDIS_URL, fresh_postgres_database, fresh_redis_prefix
from tokensmith.domain.key_encryption import generate_kek

CLIENT_FAILURES = 5
ADDRESS_FAILURES = 8
BLOCK_SECONDS = 2


@pytest.fixture(scope="module")
def nodes(
    postgres_service: None, redis_service: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Tokensmith]]:
    """One deployment for the module; each test uses its own clients and its own
    attacker address, so that no test meets another's blocks."""
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:
        yield from _deployment(database, prefix, tmp_path_factory.mktemp("bruteforce"))


def _deployment(database: str, prefix: str, root: Any) -> Iterator[list[Tokensmith]]:
    env = node_env(
        database,
        generate_kek(),
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        bruteforce_client_failures=str(CLIENT_FAILURES),
        bruteforce_address_failures=str(ADDRESS_FAILURES),
        bruteforce_block_seconds=str(BLOCK_SECONDS),
        bruteforce_backoff_factor="2",
        bruteforce_window_seconds="60",
        trusted_proxies="127.0.0.4/32",
        max_connections_per_address="1000",
    )
    cluster = make_nodes(root, 2, env)
    cluster[0].cli("db", "upgrade")
    try:
        start_all(cluster)
        yield cluster
    finally:
        stop_all(cluster)


_ATTACKERS = {
    "test_guessing_one_clients_secret_across_two_nodes_is_cut_off": "127.0.0.2",
    "test_blocks_grow_when_the_guessing_goes_on": "127.0.0.12",
    "test_an_address_trying_many_clients_is_cut_off_for_all_of_them": "127.0.0.13",
    "test_introspection_and_revocation_are_guarded_too": "127.0.0.14",
    "test_a_burst_released_together_across_two_nodes_is_cut_off_at_the_bound": "127.0.0.15",
}


@pytest.fixture
def attacker(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    with client_for(_ATTACKERS[request.node.name]) as http:
        yield http


@pytest.fixture
def legitimate() -> Iterator[httpx.Client]:
    with client_for("127.0.0.3") as http:
        yield http


def _attack(http: httpx.Client, nodes: list[Tokensmith], client_id: str, attempts: int, path: str = SEED) -> list[int]:
    statuses = []
    for attempt in range(attempts):
        node = nodes[attempt % len(nodes)]
        if path == SEED:
            response = http.post(f"{node.url}{SEED}", params={"scope": "edit"}, auth=(client_id, f"tks_guess-{attempt}"))
        else:
            response = http.post(f"{node.url}{path}", data={"token": "x", "grant_type": "client_credentials"}, auth=(client_id, f"tks_guess-{attempt}"))
        statuses.append(response.status_code)
    return statuses


def test_guessing_one_clients_secret_across_two_nodes_is_cut_off(
    nodes: list[Tokensmith], attacker: httpx.Client, legitimate: httpx.Client
) -> None:
    victim = nodes[0].create_client("victim")
    statuses = _attack(attacker, nodes, "victim", 12)
    first_block = statuses.index(429)
    # The limit counts across both nodes: cut off right after CLIENT_FAILURES failures.
    assert statuses[:first_block] == [401] * first_block
    assert first_block == CLIENT_FAILURES + 1 or first_block == CLIENT_FAILURES, statuses
    assert set(statuses[first_block:]) == {429}

    for node in nodes:
        # The block holds whatever the attacker presents, the right secret included...
        response = seed_token(attacker, node, victim)
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= BLOCK_SECONDS
        body = response.json()
        assert body[0]["errorCode"] == "240112" and body[0]["status"] == 429 and body[0]["instance"] == SEED
        response = oauth_token(attacker, node, victim)
        assert response.status_code == 429 and response.json()["error"] == "slow_down"
        assert "retry-after" in response.headers
        # ... and the real client, calling from its own address, is not locked out.
        assert seed_token(legitimate, node, victim).status_code == 200
        assert oauth_token(legitimate, node, victim).status_code == 200


def test_a_burst_released_together_across_two_nodes_is_cut_off_at_the_bound(nodes: list[Tokensmith], attacker: httpx.Client) -> None:
    """The audit's attack: guesses sent all at once, half to each node. Each process
    checks at most one guess before it counts attempts ahead (exchange/authentication/
    authenticate.py), so at most limit + 1 + processes guesses are ever checked."""
    nodes[0].create_client("burst-victim")
    burst = 200

    async def release() -> Counter[int]:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.15", limits=httpx.Limits(max_connections=burst))
        async with httpx.AsyncClient(transport=transport, timeout=60) as http:
            answers = await asyncio.gather(*(
                http.post(f"{nodes[n % 2].url}{SEED}", params={"scope": "edit"}, auth=("burst-victim", f"tks_guess-{n}"))
                for n in range(burst)
            ))  # fmt: skip
        return Counter(answer.status_code for answer in answers)

    statuses = asyncio.run(release())
    assert set(statuses) <= {401, 429}
    assert statuses[401] <= CLIENT_FAILURES + 1 + len(nodes), statuses


def test_blocks_grow_when_the_guessing_goes_on(nodes: list[Tokensmith], attacker: httpx.Client) -> None:
    nodes[0].create_client("patient")
    statuses = _attack(attacker, nodes, "patient", CLIENT_FAILURES + 1)
    assert statuses[-1] in (401, 429)
    response = attacker.post(f"{nodes[1].url}{SEED}", params={"scope": "edit"}, auth=("patient", "tks_again"))
    assert response.status_code == 429
    first = int(response.headers["retry-after"])
    assert first <= BLOCK_SECONDS
    # When the block ends the failures of this window still count: one more blocks
    # again, for twice as long.
    wait_until(
        lambda: attacker.post(f"{nodes[0].url}{SEED}", params={"scope": "edit"}, auth=("patient", "tks_more")).status_code == 401,
        timeout=BLOCK_SECONDS + 3,
        interval=0.2,
        what="first block ends",
    )
    response = attacker.post(f"{nodes[1].url}{SEED}", params={"scope": "edit"}, auth=("patient", "tks_more"))
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > BLOCK_SECONDS


def test_an_address_trying_many_clients_is_cut_off_for_all_of_them(
    nodes: list[Tokensmith], attacker: httpx.Client, legitimate: httpx.Client
) -> None:
    real = nodes[0].create_client("bystander")
    statuses = []
    for attempt in range(ADDRESS_FAILURES + 4):
        node = nodes[attempt % 2]
        statuses.append(attacker.post(f"{node.url}{SEED}", params={"scope": "edit"}, auth=(f"guess-{attempt}", "tks_x")).status_code)
    assert statuses.index(429) in (ADDRESS_FAILURES, ADDRESS_FAILURES + 1), statuses
    assert seed_token(attacker, nodes[1], real).status_code == 429
    assert seed_token(legitimate, nodes[1], real).status_code == 200


def test_introspection_and_revocation_are_guarded_too(nodes: list[Tokensmith], attacker: httpx.Client) -> None:
    nodes[0].create_client("prober")
    statuses = _attack(attacker, nodes, "prober", CLIENT_FAILURES + 3, path=INTROSPECT)
    assert statuses[0] == 401 and statuses[-1] == 429
    response = attacker.post(f"{nodes[0].url}/oauth2/revoke", data={"token": "x"}, auth=("prober", "tks_x"))
    assert response.status_code == 429 and response.json()["error"] == "slow_down"


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(nodes: list[Tokensmith]) -> None:
    real = nodes[0].create_client("proxied")
    node = nodes[0]
    with client_for("127.0.0.4") as proxy, client_for("127.0.0.6") as spoofer:
        # Behind the trusted proxy, the attacker is 203.0.113.9 ...
        for attempt in range(CLIENT_FAILURES + 1):
            proxy.post(
                f"{node.url}{SEED}",
                params={"scope": "edit"},
                auth=("proxied", f"tks_{attempt}"),
                headers={"x-forwarded-for": "203.0.113.9"},
            )
        blocked = seed_token_via(proxy, node, real, "203.0.113.9")
        assert blocked.status_code == 429
        # ... and another caller behind the same proxy is not.
        assert seed_token_via(proxy, node, real, "198.51.100.7").status_code == 200
        # A client not behind a trusted proxy cannot choose its address by header.
        for attempt in range(CLIENT_FAILURES + 1):
            spoofer.post(
                f"{node.url}{SEED}",
                params={"scope": "edit"},
                auth=("proxied", f"tks_{attempt}"),
                headers={"x-forwarded-for": f"192.0.2.{attempt}"},
            )
        assert seed_token_via(spoofer, node, real, "192.0.2.200").status_code == 429


def seed_token_via(http: httpx.Client, node: Tokensmith, client: dict[str, Any], forwarded_for: str) -> httpx.Response:
    return http.post(
        f"{node.url}{SEED}",
        params={"scope": "edit"},
        auth=(client["client_id"], client["client_secret"]),
        headers={"x-forwarded-for": forwarded_for},
    )


def test_a_clients_issuance_limit_holds_across_nodes(nodes: list[Tokensmith], legitimate: httpx.Client) -> None:
    client = nodes[0].create_client("metered", "--rate-limit", "4")
    statuses = [seed_token(legitimate, nodes[i % 2], client).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 200]
    refused = seed_token(legitimate, nodes[0], client)
    assert refused.status_code == 429
    assert refused.json()[0]["errorCode"] == "240112"
    assert 1 <= int(refused.headers["retry-after"]) <= 120  # the sliding window spans two fixed minutes
    refused = oauth_token(legitimate, nodes[1], client)
    assert refused.status_code == 429 and refused.json()["error"] == "slow_down"
    assert "retry-after" in refused.headers
    # Lifting the limit takes effect at once.
    nodes[0].cli("clients", "update", "metered", "--no-rate-limit")
    wait_until(lambda: seed_token(legitimate, nodes[1], client).status_code == 200, timeout=5, what="limit lifted")
