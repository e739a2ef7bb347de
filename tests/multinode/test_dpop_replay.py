"""A DPoP proof is single use across every node sharing Redis (RFC 9449 §11.1): sent
to two nodes, even at the same moment, it gets one token; and with nonces on, one
node's nonce is good at the other without any store write (RFC 9449 §8)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.wire import basic
from tests.multinode.cluster import ISSUER, OAUTH, client_for, make_nodes, node_env, start_all, stop_all
from tests.support.dpop import ProofKey
from tests.support.server import Tokensmith
from tests.support.services import REDIS_URL, fresh_postgres_database, fresh_redis_prefix
from tokensmith.domain.key_encryption import generate_kek

SECRET = "dpop-replay-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def nodes(postgres_service: None, redis_service: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Tokensmith]]:
    with fresh_postgres_database() as database, fresh_redis_prefix() as prefix:
        env = node_env(database, generate_kek(), redis_url=REDIS_URL, redis_prefix=prefix) | {"TOKENSMITH_DPOP_NONCES": "true"}
        root: Path = tmp_path_factory.mktemp("dpop-replay")
        cluster = make_nodes(root, 2, env)
        cluster[0].cli("db", "upgrade")
        cluster[0].cli("clients", "create", "--client-id", "prover", "--scope", "edit", "--token-binding", "dpop", "--secret-stdin", input=SECRET)
        try:
            start_all(cluster)
            yield cluster
        finally:
            stop_all(cluster)


def request(http: httpx.Client, node: Tokensmith, proof: str) -> httpx.Response:
    headers = {"Authorization": basic("prover", SECRET), "DPoP": proof}
    return http.post(f"{node.url}{OAUTH}", headers=headers, data={"grant_type": "client_credentials"})


def nonce(http: httpx.Client, node: Tokensmith, key: ProofKey) -> str:
    challenge = request(http, node, key.proof(ISSUER + OAUTH))
    assert challenge.status_code == 400 and challenge.json()["error"] == "use_dpop_nonce"
    return challenge.headers["dpop-nonce"]


def test_a_proof_replayed_at_another_node_is_refused(nodes: list[Tokensmith]) -> None:
    key = ProofKey.es256()
    with client_for() as http:
        proof = key.proof(ISSUER + OAUTH, nonce=nonce(http, nodes[0], key))  # node 0's nonce
        assert request(http, nodes[1], proof).status_code == 200  # good at node 1
        for node in (nodes[0], nodes[1]):
            replayed = request(http, node, proof)
            assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_dpop_proof"


def test_one_proof_sent_to_both_nodes_at_once_gets_one_token(nodes: list[Tokensmith]) -> None:
    key = ProofKey.es256()
    with client_for() as http:
        for _ in range(3):
            proof = key.proof(ISSUER + OAUTH, nonce=nonce(http, nodes[1], key))
            with ThreadPoolExecutor(10) as pool:
                statuses = list(pool.map(lambda n, p=proof: request(http, nodes[n % 2], p).status_code, range(10)))
            assert statuses.count(200) == 1 and statuses.count(400) == 9, statuses
