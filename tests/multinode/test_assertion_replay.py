"""A private_key_jwt assertion is single use across every node sharing Redis: sent
to two nodes, even at the same moment, it gets one token. (Without an answer from
Redis the check fails closed: tests/store/test_replay.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.multinode.cluster import ISSUER, OAUTH, client_for, make_nodes, node_env, start_all, stop_all
from tests.support.assertions import ClientKey, assertion, form, jwks_file
from tests.support.server import Tokensmith
from tests.support.services import REDIS_URL, fresh_postgres_database, fresh_redis_prefix
from tokensmith.domain.key_encryption import generate_kek


@pytest.fixture(scope="module")
def key() -> ClientKey:
    return ClientKey.es256("replay-1")


@pytest.fixture(scope="module")
def nodes(postgres_service: None, redis_service: None, tmp_path_factory: pytest.TempPathFactory, key: ClientKey) -> Iterator[list[Tokensmith]]:
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:
        env = node_env(database, generate_kek(), redis_url=REDIS_URL, redis_prefix=prefix)
        root: Path = tmp_path_factory.mktemp("replay")
        cluster = make_nodes(root, 2, env)
        cluster[0].cli("db", "upgrade")
        cluster[0].cli("clients", "create", "--client-id", "signer", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file(root, key)))
        try:
            start_all(cluster)
            yield cluster
        finally:
            stop_all(cluster)


def request(http: httpx.Client, node: Tokensmith, token: str) -> int:
    return http.post(f"{node.url}{OAUTH}", data={"grant_type": "client_credentials", **form(token)}).status_code


def test_an_assertion_replayed_at_another_node_is_refused(nodes: list[Tokensmith], key: ClientKey) -> None:
    with client_for() as http:
        token = assertion(key, "signer", ISSUER)
        assert request(http, nodes[0], token) == 200
        assert request(http, nodes[1], token) == 401
        assert request(http, nodes[0], token) == 401


def test_one_assertion_sent_to_both_nodes_at_once_gets_one_token(nodes: list[Tokensmith], key: ClientKey) -> None:
    with client_for() as http:
        for _ in range(5):
            token = assertion(key, "signer", ISSUER)
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda n, t=token: request(http, nodes[n % 2], t), range(8)))
            assert statuses.count(200) == 1 and statuses.count(401) == 7, statuses
