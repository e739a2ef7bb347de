"""Two nodes sharing PostgreSQL and no Redis: the in-process cache limits alone keep
the propagation bounds (clients 2 s < 5 s, keys 10 s < 15 s), and revocation, read
from the store on every introspection, is immediate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.multinode.cluster import (
    REVOKE,
    client_for,
    is_active,
    key_id,
    make_nodes,
    measure_everywhere,
    node_env,
    seed_token,
    start_all,
    stop_all,
)
from tests.support.server import Tokensmith
from tokensmith.domain.key_encryption import generate_kek


@pytest.fixture
def nodes(postgres_url: str, tmp_path: Any) -> Iterator[list[Tokensmith]]:
    cluster = make_nodes(tmp_path, 2, node_env(postgres_url, generate_kek()))
    try:
        start_all(cluster)
        yield cluster
    finally:
        stop_all(cluster)


def test_changes_reach_every_node_within_the_bounds_without_redis(nodes: list[Tokensmith]) -> None:
    with client_for() as http:
        ready = http.get(f"{nodes[0].url}/readyz").json()
        assert ready["redis"] == "disabled" and ready["fanout"] == "disabled"
        client = nodes[0].create_client("solo")
        token = seed_token(http, nodes[0], client).json()["access_token"]
        for node in nodes:
            assert seed_token(http, node, client).status_code == 200
            assert is_active(http, node, client, token)

        assert http.post(f"{nodes[0].url}{REVOKE}", data={"token": token}, auth=(client["client_id"], client["client_secret"])).status_code == 200
        measure_everywhere(
            "no redis: token revoked -> inactive on every node",
            nodes,
            lambda node: not is_active(http, node, client, token),
            2.0,
        )

        nodes[1].cli("keys", "rotate")
        measure_everywhere(
            "no redis: keys rotated -> every node signs with the new key",
            nodes,
            lambda node: key_id(seed_token(http, node, client).json()["access_token"]) != key_id(token),
            15.0,
        )
        for node in nodes:  # the revoked token stays revoked across the rotation
            assert not is_active(http, node, client, token)

        nodes[1].cli("clients", "disable", "solo")
        measure_everywhere(
            "no redis: client disabled -> refused on every node",
            nodes,
            lambda node: seed_token(http, node, client).status_code == 401,
            5.0,
        )

