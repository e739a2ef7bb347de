"""Shared fixtures: a real tokensmith server per test module, spoken to over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import Tokensmith


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
