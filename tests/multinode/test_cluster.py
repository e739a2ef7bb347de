"""Three nodes sharing one PostgreSQL database and one Redis: one service.

Propagation is measured from the moment the command line returns (the change is
committed and announced) until every node behaves accordingly, polling each node.
The nodes run with the production cache times (clients 2 s, keys 10 s), so the
numbers are what an operator gets; the Redis fan-out is what makes them small."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.multinode.cluster import (
    REVOKE,
    client_for,
    introspect,
    is_active,
    key_id,
    make_nodes,
    measure_everywhere,
    node_env,
    oauth_token,
    seed_token,
    start_all,
    stop_all,
)
from tests.support.server import Tokensmith
from tests.support.services import REDIS_URL, fresh_postgres_database, fresh_redis_prefix
from tokensmith.domain.key_encryption import generate_kek

CLIENT_BOUND = 5.0
REVOCATION_BOUND = 2.0
ROTATION_BOUND = 15.0


@pytest.fixture(scope="module")
def nodes(
    postgres_service: None, redis_service: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Tokensmith]]:
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:
        env = node_env(database, generate_kek(), redis_url=REDIS_URL, redis_prefix=prefix)
        cluster = make_nodes(tmp_path_factory.mktemp("cluster"), 3, env)
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
def alpha(nodes: list[Tokensmith]) -> dict[str, Any]:
    return nodes[0].create_client("alpha", scopes=("edit", "read"))


def _token(http: httpx.Client, node: Tokensmith, client: dict[str, Any]) -> str:
    response = seed_token(http, node, client)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_every_node_is_ready_and_subscribed(nodes: list[Tokensmith], http: httpx.Client) -> None:
    for node in nodes:
        body = http.get(f"{node.url}/readyz").json()
        assert body == {
            "status": "ready",
            "store": "ok",
            "signing_key": "ok",
            "redis": "ok",
            "fanout": "subscribed",
        }


def test_a_token_from_one_node_is_active_on_every_node(
    nodes: list[Tokensmith], http: httpx.Client, alpha: dict[str, Any]
) -> None:
    for issuer in nodes:
        token = _token(http, issuer, alpha)
        for other in nodes:
            response = introspect(http, other, alpha, token)
            assert response.status_code == 200
            body = response.json()
            assert body["active"] is True
            assert body["client_id"] == "alpha"


def test_the_jwks_is_the_same_everywhere(nodes: list[Tokensmith], http: httpx.Client) -> None:
    bodies = {http.get(f"{node.url}/.well-known/jwks.json").content for node in nodes}
    assert len(bodies) == 1
    assert len(json.loads(bodies.pop())["keys"]) >= 2  # active and next


def test_a_new_client_works_on_every_node_within_the_bound(nodes: list[Tokensmith], http: httpx.Client) -> None:
    ghost = {"client_id": "latecomer", "client_secret": "tks_not-yet"}
    for node in nodes:  # every node has now cached "no such client"
        assert seed_token(http, node, ghost).status_code == 401
    client = nodes[1].create_client("latecomer")
    measure_everywhere(
        "client created -> works on every node",
        nodes,
        lambda node: seed_token(http, node, client).status_code == 200,
        CLIENT_BOUND,
    )


def test_a_disabled_client_stops_and_an_enabled_one_works_again(nodes: list[Tokensmith], http: httpx.Client) -> None:
    client = nodes[0].create_client("switchable")
    for node in nodes:
        assert seed_token(http, node, client).status_code == 200  # cached everywhere
    nodes[2].cli("clients", "disable", "switchable")
    measure_everywhere(
        "client disabled -> refused on every node",
        nodes,
        lambda node: seed_token(http, node, client).status_code == 401,
        CLIENT_BOUND,
    )
    nodes[2].cli("clients", "enable", "switchable")
    measure_everywhere(
        "client enabled -> works on every node",
        nodes,
        lambda node: seed_token(http, node, client).status_code == 200,
        CLIENT_BOUND,
    )


def test_secrets_added_and_removed_take_effect_on_every_node(nodes: list[Tokensmith], http: httpx.Client) -> None:
    first = nodes[0].create_client("rotating")
    for node in nodes:
        assert seed_token(http, node, first).status_code == 200
    added = json.loads(nodes[1].cli("clients", "secret", "add", "rotating", "--json").stdout)
    second = {"client_id": "rotating", "client_secret": added["client_secret"]}
    measure_everywhere(
        "secret added -> works on every node",
        nodes,
        lambda node: seed_token(http, node, second).status_code == 200,
        CLIENT_BOUND,
    )
    nodes[1].cli("clients", "secret", "remove", "rotating", first["secret_id"])
    measure_everywhere(
        "secret removed -> refused on every node",
        nodes,
        lambda node: seed_token(http, node, first).status_code == 401,
        CLIENT_BOUND,
    )
    for node in nodes:
        assert seed_token(http, node, second).status_code == 200


def test_a_scope_change_reaches_every_node(nodes: list[Tokensmith], http: httpx.Client) -> None:
    client = nodes[0].create_client("widening", scopes=("edit",))
    for node in nodes:
        assert seed_token(http, node, client, scope="admin").status_code == 401
    nodes[0].cli("clients", "update", "widening", "--scope", "edit", "--scope", "admin")
    measure_everywhere(
        "client changed -> new scope granted on every node",
        nodes,
        lambda node: seed_token(http, node, client, scope="admin").status_code == 200,
        CLIENT_BOUND,
    )


def test_a_revoked_token_is_inactive_on_every_node_within_the_bound(
    nodes: list[Tokensmith], http: httpx.Client, alpha: dict[str, Any]
) -> None:
    token = _token(http, nodes[0], alpha)
    for node in nodes:
        assert is_active(http, node, alpha, token)
    response = http.post(f"{nodes[1].url}{REVOKE}", data={"token": token}, auth=(alpha["client_id"], alpha["client_secret"]))
    assert response.status_code == 200
    measure_everywhere(
        "token revoked -> inactive on every node",
        nodes,
        lambda node: not is_active(http, node, alpha, token),
        REVOCATION_BOUND,
    )


def test_after_a_rotation_every_node_signs_with_the_new_key_and_old_tokens_stay_valid(
    nodes: list[Tokensmith], http: httpx.Client, alpha: dict[str, Any]
) -> None:
    before = {node.port: _token(http, node, alpha) for node in nodes}
    nodes[2].cli("keys", "rotate")
    keys = json.loads(nodes[2].cli("keys", "list", "--json").stdout)
    active = next(key["kid"] for key in keys if key["state"] == "active")
    assert all(key_id(token) != active for token in before.values())
    measure_everywhere(
        "keys rotated -> every node signs with the new key",
        nodes,
        lambda node: key_id(_token(http, node, alpha)) == active,
        ROTATION_BOUND,
    )
    for token in before.values():  # tokens signed before the rotation stay valid everywhere
        for node in nodes:
            assert is_active(http, node, alpha, token)
    published = {json.dumps(http.get(f"{node.url}/.well-known/jwks.json").json(), sort_keys=True) for node in nodes}
    assert len(published) == 1
    assert {key_id(token) for token in before.values()} <= {key["kid"] for key in json.loads(published.pop())["keys"]}


def test_when_one_node_is_killed_the_others_answer_every_request(
    nodes: list[Tokensmith], http: httpx.Client, alpha: dict[str, Any]
) -> None:
    victim = nodes[2]
    assert victim.process is not None
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    survivors = nodes[:2]
    statuses = []
    for round_ in range(25):
        node = survivors[round_ % 2]
        token_response = oauth_token(http, node, alpha, scope="read")
        statuses.append(token_response.status_code)
        token = token_response.json().get("access_token", "")
        statuses.append(introspect(http, survivors[(round_ + 1) % 2], alpha, token).status_code)
        statuses.append(http.get(f"{node.url}/.well-known/jwks.json").status_code)
    assert statuses == [200] * len(statuses)
    with pytest.raises(httpx.TransportError):
        http.get(f"{victim.url}/healthz", timeout=1)
