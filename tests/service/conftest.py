"""The application layer on a real node: SQLite store on disk, real repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import fresh_redis_prefix, redis_problem, require
from tokensmith.cli.context import open_node
from tokensmith.config import Settings
from tokensmith.domain.audit import Actor
from tokensmith.domain.key_encryption import generate_kek
from tokensmith.node import Node
from tokensmith.service.changes import Changes
from tokensmith.store.database import upgrade


def make_node(tmp_path: Path, **settings: object) -> Node:
    """A node on a new SQLite store, made on purpose (as `tokensmith db upgrade` does)."""
    node = open_node(
        Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}", key_encryption_key=generate_kek(), **settings),  # type: ignore[arg-type]
        create=True,
    )
    upgrade(node.engine)
    return node


@pytest.fixture
def changes(tmp_path: Path) -> Iterator[Changes]:
    node = make_node(tmp_path, audit_log="off")
    notices: list[str] = []
    yield Changes(node, Actor("ops@example", "admin-host"), notices.append)
    node.engine.dispose()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own (skipped without Redis, but under CI)."""
    require("Redis", redis_problem())
    with fresh_redis_prefix() as prefix:
        yield prefix
