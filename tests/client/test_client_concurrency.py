"""Single-flight token fetching under concurrency (threads and asyncio tasks)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest
import requests

CALLERS = 50


def run_in_threads(call, count=CALLERS):
    barrier = threading.Barrier(count)

    def worker(_):
        barrier.wait()  # release all callers at once to maximise contention
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_fifty_threads_share_one_token_fetch_with_httpx(token_server, make_auth, api_url):
    token_server.delay = 0.3  # keep the fetch in flight while the others arrive
    auth = make_auth()

    with httpx.Client(auth=auth, limits=httpx.Limits(max_connections=CALLERS)) as api:
        responses = run_in_threads(lambda: api.get(api_url))

    assert [r.status_code for r in responses] == [200] * CALLERS
    assert token_server.token_requests == 1


def test_fifty_threads_share_one_token_fetch_with_requests(token_server, make_auth, api_url):
    token_server.delay = 0.3
    auth = make_auth()

    statuses = run_in_threads(lambda: requests.get(api_url, auth=auth, timeout=10).status_code)

    assert statuses == [200] * CALLERS
    assert token_server.token_requests == 1


@pytest.mark.anyio
async def test_fifty_tasks_share_one_token_fetch(token_server, make_auth, api_url):
    token_server.delay = 0.3
    statuses: list[int] = []

    async with httpx.AsyncClient(auth=make_auth(), limits=httpx.Limits(max_connections=CALLERS)) as api:

        async def call() -> None:
            statuses.append((await api.get(api_url)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(CALLERS):
                group.start_soon(call)

    assert statuses == [200] * CALLERS
    assert token_server.token_requests == 1


@pytest.mark.anyio
async def test_many_simultaneous_401s_trigger_one_renewal(token_server, make_auth, api_url):
    auth = make_auth()
    await auth.aget_token()
    token_server.revoke_all()
    token_server.delay = 0.2
    statuses: list[int] = []

    async with httpx.AsyncClient(auth=auth, limits=httpx.Limits(max_connections=CALLERS)) as api:

        async def call() -> None:
            statuses.append((await api.get(api_url)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(call)

    assert statuses == [200] * 20
    assert token_server.token_requests == 2  # the initial token and exactly one replacement


@pytest.mark.anyio
async def test_late_401_for_an_already_replaced_token_keeps_the_replacement(token_server, make_auth, api_url):
    auth = make_auth()
    await auth.aget_token()
    token_server.revoke_all()
    statuses: list[int] = []

    async with httpx.AsyncClient(auth=auth) as api:

        async def call(url: str) -> None:
            statuses.append((await api.get(url)).status_code)

        async with anyio.create_task_group() as group:
            group.start_soon(call, api_url + "?delay=0.5")  # its 401 arrives after the renewal
            group.start_soon(call, api_url)  # 401 at once: renews token-1 -> token-2

    assert statuses == [200, 200]
    assert token_server.token_requests == 2  # the late 401 reused token-2 instead of discarding it


def test_one_auth_object_works_across_event_loops(token_server, make_auth, api_url):
    # asyncio.Lock binds to the first loop that waits on it; contention on a
    # second loop would raise if the auth object kept a single lock.
    token_server.delay = 0.1
    auth = make_auth()

    async def contended_refresh() -> list[int]:
        auth.invalidate()
        statuses: list[int] = []
        async with httpx.AsyncClient(auth=auth) as api:

            async def call() -> None:
                statuses.append((await api.get(api_url)).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(5):
                    group.start_soon(call)
        return statuses

    assert [anyio.run(contended_refresh) for _ in range(3)] == [[200] * 5] * 3
    assert token_server.token_requests == 3
