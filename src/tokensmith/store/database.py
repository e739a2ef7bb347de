"""Opening the store: the engine, SQLite's settings, and schema upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server read while the command line writes; busy_timeout makes a
    # writer wait for the lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3, the driver tokensmith ships with."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 2.0,
    connect_timeout: int = 3,
    statement_timeout_ms: int = 2000,
) -> sa.Engine:
    """SQLite for one machine; PostgreSQL (psycopg 3) for several nodes. For
    PostgreSQL every wait is bounded: for a pooled connection (pool_timeout), for a new
    connection (connect_timeout) and for each statement (statement_timeout, enforced
    by the server), so a slow database cannot pile up requests."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql"):
        connect_args = {
            "connect_timeout": connect_timeout,
            "application_name": "tokensmith",
            "options": f"-c statement_timeout={statement_timeout_ms} -c idle_in_transaction_session_timeout=60000",
        }
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args=connect_args,
    )


ADVISORY_LOCK_KEY = 0x746F6B656E  # "token": schema upgrades and key-ring changes


@contextmanager
def exclusive(engine: sa.Engine, wait_seconds: int = 120) -> Iterator[None]:
    """Holds a cluster-wide lock on PostgreSQL (an advisory lock), so that nodes
    starting together do not run the migrations or create the first keys twice.
    SQLite serialises writers itself; there this does nothing."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.exec_driver_sql(f"SET statement_timeout = {int(wait_seconds * 1000)}")
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            # Closing the session releases the lock, and its changed settings do not
            # go back into the pool.
            connection.invalidate()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    config = _alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A migration may take longer than a request's statement timeout.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            # Nodes starting together: one migrates, the others wait and find it done.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
