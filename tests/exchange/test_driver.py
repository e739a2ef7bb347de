"""The driver of the token exchange, on a real node and store: what it answers without
waiting, where it stops, and that a blocking check never runs on the event loop."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokensmith.config import Settings
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.exchange.authentication.authenticate import Trace
from tokensmith.exchange.driver import Driver, Suspended
from tokensmith.exchange.flow import TokenRequest, token_exchange
from tokensmith.exchange.needs import Admit, InThread
from tokensmith.http.parsing import body_head
from tokensmith.http.seed_token import ENDPOINT as SEED
from tokensmith.http.token_route import exchange_context
from tokensmith.node import Node

IMPORTED = "an-imported-password"
SECRETS: dict[str, str] = {}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    root: Path = tmp_path_factory.mktemp("driver")
    url = f"sqlite:///{root / 'driver.db'}"
    env = {"TOKENSMITH_DATABASE_URL": url, "TOKENSMITH_AUDIT_LOG": "off", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "tokensmith", "db", "upgrade"], env=env, capture_output=True, check=True, cwd=root)
    run = [sys.executable, "-m", "tokensmith", "clients", "create", "--scope", "edit", "--json", "--client-id"]
    subprocess.run([*run, "legacy", "--secret-stdin"], input=IMPORTED + "\n", env=env, capture_output=True, text=True, check=True, cwd=root)
    made = subprocess.run([*run, "fresh"], env=env, capture_output=True, text=True, check=True, cwd=root)
    node = Node.from_settings(Settings(database_url=url, client_cache_seconds=60, key_cache_seconds=60))
    node.key_cache.reload()
    SECRETS["fresh"] = json.loads(made.stdout)["client_secret"]
    yield node
    node.engine.dispose()


def exchange(node: Node, client_id: str, secret: str) -> Any:
    authorization = b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode())
    request = TokenRequest(body_head([(b"authorization", authorization)]), b"scope=edit", b"")
    return token_exchange(SEED, request, exchange_context(node), Trace())


class Loopback:
    def of(self, scope: Any) -> str:
        return "127.0.0.1"


def driver(node: Node) -> Driver:
    return Driver(node, SEED.path, Loopback(), {})


def test_a_cold_client_stops_the_no_wait_run_at_its_admission_and_resumes_there(node: Node) -> None:
    node.client_cache.clear()
    run = driver(node)
    stopped = run.run_now(exchange(node, "fresh", SECRETS["fresh"]))
    assert isinstance(stopped, Suspended) and stopped.need == Admit("fresh", look_up=True)
    body = asyncio.run(run.resume(stopped))
    assert json.loads(body)["token_type"] == "Bearer"
    # Now warm: the whole exchange finishes without waiting.
    again = driver(node).run_now(exchange(node, "fresh", SECRETS["fresh"]))
    assert isinstance(again, bytes)


def test_a_wrong_secret_is_refused_by_the_no_wait_run_itself(node: Node) -> None:
    with pytest.raises(TokensmithError) as refused:
        result = driver(node).run_now(exchange(node, "fresh", "tks_wrong"))
        if isinstance(result, Suspended):  # cold cache: finish it
            asyncio.run(driver(node).resume(result))
    assert refused.value.problem is Problem.INVALID_CLIENT


def test_an_imported_secret_is_checked_off_the_event_loop(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    loop_was_free = threading.Event()
    checked_on: list[threading.Thread] = []
    real = node.checker._argon2

    def verify(digest: str, presented: str) -> bool:
        checked_on.append(threading.current_thread())
        # Waits for the event loop to run a task meanwhile: on the loop's own thread
        # this could never happen, and the check fails instead of hanging.
        if not loop_was_free.wait(10):
            raise AssertionError("the event loop could not run while the argon2 check ran")
        return real.verify(digest, presented)

    class Hasher:  # PasswordHasher's own attributes are read-only
        pass

    hasher = Hasher()
    hasher.verify = verify  # type: ignore[attr-defined]
    monkeypatch.setattr(node.checker, "_argon2", hasher)

    async def main() -> bytes:
        async def tick() -> None:
            await asyncio.sleep(0.01)
            loop_was_free.set()

        ticking = asyncio.create_task(tick())
        body = await driver(node).run(exchange(node, "legacy", IMPORTED))
        await ticking
        return body

    body = asyncio.run(main())
    assert json.loads(body)["token_type"] == "Bearer"
    assert checked_on and checked_on[0] is not threading.main_thread()


def test_the_flow_asks_for_a_thread_only_for_an_unchecked_imported_secret(node: Node) -> None:
    asyncio.run(driver(node).run(exchange(node, "legacy", IMPORTED)))  # remembered now
    flow = exchange(node, "legacy", "wrong-password")
    stopped = driver(node).run_now(flow)
    assert isinstance(stopped, Suspended) and isinstance(stopped.need, InThread)
    flow.close()
    assert isinstance(driver(node).run_now(exchange(node, "legacy", IMPORTED)), bytes)
