"""Disabling a client, revoking all of its tokens and removing a compromised key are
in force on every node through the Redis fan-out, not when caches expire: the nodes
here trust their caches for 300 s, so only the announcement can make them notice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.multinode.cluster import client_for, is_active, key_id, make_nodes, node_env, seed_token, start_all, stop_all, wait_until
from tests.support.server import Tokensmith
from tests.support.services import REDIS_URL, fresh_postgres_database, fresh_redis_prefix
from tokensmith.domain.key_encryption import generate_kek

# Far below the 300 s cache times: reached only through the announcement.
ANNOUNCED_WITHIN = 10.0


@pytest.fixture(scope="module")
def nodes(postgres_service: None, redis_service: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Tokensmith]]:
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:
        env = node_env(
            database, generate_kek(), redis_url=REDIS_URL, redis_prefix=prefix, client_cache_seconds="300", key_cache_seconds="300"
        )
        cluster = make_nodes(tmp_path_factory.mktemp("emergency"), 2, env)
        cluster[0].cli("db", "upgrade")
        try:
            start_all(cluster)
            yield cluster
        finally:
            stop_all(cluster)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with client_for() as client:
        yield client


@pytest.fixture(scope="module")
def introspector(nodes: list[Tokensmith]) -> dict[str, Any]:
    return nodes[0].create_client("resource-server", scopes=("introspect",))


def _token(http: httpx.Client, node: Tokensmith, client: dict[str, Any]) -> str:
    response = seed_token(http, node, client)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _inactive_everywhere(http: httpx.Client, nodes: list[Tokensmith], introspector: dict[str, Any], token: str, what: str) -> None:
    for node in nodes:
        wait_until(lambda node=node: not is_active(http, node, introspector, token), ANNOUNCED_WITHIN, what=f"{what} on {node.url}")


def test_a_disabled_clients_tokens_turn_inactive_on_every_node(
    nodes: list[Tokensmith], http: httpx.Client, introspector: dict[str, Any]
) -> None:
    client = nodes[0].create_client("switchable")
    token = _token(http, nodes[0], client)
    assert all(is_active(http, node, introspector, token) for node in nodes)  # cached everywhere
    nodes[1].cli("clients", "disable", "switchable")
    _inactive_everywhere(http, nodes, introspector, token, "disabled client's token")


def test_revoked_tokens_of_a_client_turn_inactive_on_every_node(
    nodes: list[Tokensmith], http: httpx.Client, introspector: dict[str, Any]
) -> None:
    client = nodes[0].create_client("leaky")
    token = _token(http, nodes[1], client)
    assert all(is_active(http, node, introspector, token) for node in nodes)
    nodes[0].cli("clients", "revoke-tokens", "leaky")
    _inactive_everywhere(http, nodes, introspector, token, "revoked client token")
    fresh = _token(http, nodes[1], client)
    assert all(is_active(http, node, introspector, fresh) for node in nodes)


def test_a_removed_keys_tokens_turn_inactive_and_it_leaves_every_jwks(
    nodes: list[Tokensmith], http: httpx.Client, introspector: dict[str, Any]
) -> None:
    client = nodes[0].create_client("signed")
    token = _token(http, nodes[1], client)
    compromised = key_id(token)
    assert all(is_active(http, node, introspector, token) for node in nodes)
    nodes[0].cli("keys", "remove", compromised, "--compromised")
    _inactive_everywhere(http, nodes, introspector, token, "removed key's token")
    for node in nodes:
        published = {key["kid"] for key in http.get(f"{node.url}/.well-known/jwks.json").json()["keys"]}
        assert compromised not in published
        assert key_id(_token(http, node, client)) != compromised
    events = json.loads(nodes[0].cli("audit", "list", "--json", "--action", "keys.removed").stdout)
    assert [event["details"]["kid"] for event in events] == [compromised]
