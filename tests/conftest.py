"""Shared fixtures: a real tokensmith server per test module, spoken to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import server as server_support
from tests.support.server import Tokensmith

LAST_MODULES = ("test_log_scanner.py",)  # scans what every other test left behind


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name in LAST_MODULES)  # stable: order kept otherwise


@pytest.fixture(scope="session", autouse=True)
def log_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every server log and client secret the session makes is listed here
    (tests/support/server.py), for tests/security/test_log_scanner.py."""
    registry = tmp_path_factory.mktemp("log-registry")
    server_support.REGISTRY = registry
    return registry


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    """A running server with its own SQLite store; stopped after the module."""
    server = Tokensmith(tmp_path_factory.mktemp("tokensmith"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def http(tokensmith: Tokensmith) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tokensmith.url, timeout=10) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
