"""Fixtures for the several-node tests: the real PostgreSQL and Redis (skipped with a
reason when absent, a failure under CI=true: tests/support/services.py), a fresh
database and Redis prefix per test, and a report of the propagation times measured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.multinode.cluster import MEASUREMENTS
from tests.support.services import (
    fresh_postgres_database,
    fresh_redis_prefix,
    postgres_problem,
    redis_problem,
    require,
)


@pytest.fixture(scope="session")
def postgres_service() -> None:
    require("PostgreSQL", postgres_problem())


@pytest.fixture(scope="session")
def redis_service() -> None:
    require("Redis", redis_problem())


@pytest.fixture
def postgres_url(postgres_service: None) -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def redis_prefix(redis_service: None) -> Iterator[str]:
    with fresh_redis_prefix() as prefix:
        yield prefix


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MEASUREMENTS:
        return
    terminalreporter.section("tokensmith: measured propagation")
    for name, seconds, bound in MEASUREMENTS:
        terminalreporter.write_line(f"{name:60} {seconds * 1000:9.1f} ms   (bound {bound:g} s)")
