"""The real PostgreSQL and Redis that the several-node tests run against.

Where they are: TOKENSMITH_TEST_POSTGRES (a libpq URL of a role that may create
databases; default postgresql://postgres@127.0.0.1:5432/postgres) and
TOKENSMITH_TEST_REDIS (default redis://127.0.0.1:6379/0). A test that needs one
that is not there is skipped with the reason, except under CI=true, where a missing
service is a failure: CI must run these tests, not skip them quietly.

Each test gets its own database (created fresh, dropped afterwards) and its own
Redis key prefix (its keys deleted afterwards), so tests never see each other.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_ADMIN_URL = os.environ.get("TOKENSMITH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TOKENSMITH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_unless_ci(message: str, ci_hint: str) -> NoReturn:
    """Skips the test with `message`; under CI=true fails it, adding `ci_hint`."""
    if in_ci():
        pytest.fail(f"{message}; CI=true requires it{ci_hint}", pytrace=False)
    pytest.skip(message)


def require(service: str, problem: str | None) -> None:
    """Skips (or, under CI, fails) the test when `problem` says the service is missing."""
    if problem is not None:
        skip_unless_ci(f"{service} is not available ({problem})", " (.ci/run must start it)")


def postgres_problem() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{POSTGRES_ADMIN_URL}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
    return None


def redis_problem() -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError) as exc:
        return f"{REDIS_URL}: {exc}"
    return None


def sqlalchemy_url(libpq_url: str, database: str) -> str:
    parts = urlsplit(libpq_url)
    return urlunsplit(("postgresql+psycopg", parts.netloc, "/" + database, parts.query, ""))


def database_via(sqlalchemy_url_text: str, host: str, port: int) -> str:
    """The same database reached through another host and port (a TCP forwarder)."""
    parts = urlsplit(sqlalchemy_url_text)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@{host}:{port}" if user else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it afterwards."""
    import psycopg

    name = f"tokensmith_test_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield sqlalchemy_url(POSTGRES_ADMIN_URL, name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_redis_prefix() -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    import redis

    prefix = f"tokensmith-test-{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def redis_host_port() -> tuple[str, int]:
    parts = urlsplit(REDIS_URL)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def postgres_host_port() -> tuple[str, int]:
    parts = urlsplit(POSTGRES_ADMIN_URL)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def redis_url_via(host: str, port: int) -> str:
    parts = urlsplit(REDIS_URL)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
