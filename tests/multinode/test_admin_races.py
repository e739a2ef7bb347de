"""The admin API's races on two nodes sharing PostgreSQL: a login link redeemed on
both at once opens one session; two PATCHes from one ETag, one per node, write one
change; a console session opened on one node works on the other."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.multinode.cluster import make_nodes, node_env, start_all, stop_all
from tests.support.server import Tokensmith, record
from tokensmith.domain.key_encryption import generate_kek


@pytest.fixture
def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Tokensmith], str]]:
    nodes = make_nodes(tmp_path_factory.mktemp("admin-races"), 2, node_env(postgres_url, generate_kek()))
    secret = nodes[0].create_client("ops", scopes=("tokensmith:admin",))["client_secret"]
    start_all(nodes)
    try:
        token = httpx.post(f"{nodes[0].url}/v1/api/oauth/token", params={"scope": "tokensmith:admin"}, auth=("ops", secret)).json()["access_token"]
        yield nodes, token
    finally:
        stop_all(nodes)


def _at_once(calls: list[Callable[[], int]]) -> list[int]:
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []

    def run(call: Callable[[], int]) -> None:
        barrier.wait()
        statuses.append(call())

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_one_login_link_redeemed_on_two_nodes_at_once_opens_one_session(cluster: tuple[list[Tokensmith], str]) -> None:
    nodes, _ = cluster
    for _ in range(3):
        code = nodes[0].cli("console", "login-link").stdout.strip().partition("#")[2]
        calls = [lambda node=node, code=code: httpx.post(f"{node.url}/console/login", json={"code": code}, timeout=15).status_code for node in nodes * 3]
        assert _at_once(calls) == [204] + [401] * 5


def test_two_patches_from_one_etag_on_two_nodes_write_one_change(cluster: tuple[list[Tokensmith], str]) -> None:
    nodes, token = cluster
    auth = {"Authorization": f"Bearer {token}"}
    made = httpx.post(f"{nodes[0].url}/admin/v1/clients", json={"client_id": "shared", "scopes": ["read"]}, headers=auth)
    assert made.status_code == 201
    record("secrets", made.json()["client_secret"])
    etag = made.headers["etag"]
    calls = [
        lambda node=node, n=n: httpx.patch(
            f"{node.url}/admin/v1/clients/shared", json={"name": f"writer {n}"}, headers={**auth, "If-Match": etag}, timeout=15
        ).status_code
        for n, node in enumerate(nodes * 2)
    ]
    assert _at_once(calls) == [200, 412, 412, 412]
    events = httpx.get(f"{nodes[1].url}/admin/v1/audit", params={"client": "shared", "action": "client.changed"}, headers=auth).json()
    assert len(events["items"]) == 1


def test_a_session_opened_on_one_node_works_on_the_other(cluster: tuple[list[Tokensmith], str]) -> None:
    nodes, _ = cluster
    code = nodes[0].cli("console", "login-link").stdout.strip().partition("#")[2]
    opened = httpx.post(f"{nodes[0].url}/console/login", json={"code": code})
    assert opened.status_code == 204
    cookie = opened.cookies["tokensmith_console"]
    session = httpx.get(f"{nodes[1].url}/console/session", cookies={"tokensmith_console": cookie})
    assert session.status_code == 200
    csrf = session.json()["csrf_token"]
    logout = httpx.post(f"{nodes[1].url}/console/logout", cookies={"tokensmith_console": cookie}, headers={"X-CSRF-Token": csrf})
    assert logout.status_code == 204
    assert httpx.get(f"{nodes[0].url}/admin/v1/clients", cookies={"tokensmith_console": cookie}).status_code == 401
