"""Opening the store: the engine, SQLite's settings, and schema upgrades.

Alembic is imported only by the functions that migrate or name revisions: the
process that serves requests never needs it (about 10 MB per worker)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

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


def _existing_file_only(url: str) -> sa.URL:
    """The SQLite URL opened read-write but never created (URI `mode=rw`): only the
    commands that make a store on purpose create its file (store/sqlite_files.py)."""
    parsed = sa.make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri"):
        return parsed
    return parsed.set(database=f"file:{quote(database)}", query={**parsed.query, "mode": "rw", "uri": "true"})


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
        engine = sa.create_engine(_existing_file_only(url), connect_args={"check_same_thread": False})
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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    from alembic import command

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
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


_REVISION_LINE = re.compile(r'^(revision|down_revision)\s*=\s*(?:"([^"]*)"|None)\s*$', re.MULTILINE)


def _head_without_alembic() -> str | None:
    """The one head of the migration files, read from their `revision` and
    `down_revision` lines; None when that is not plain (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((name, value) for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if not found.get("revision"):
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_at_head(engine: sa.Engine) -> bool:
    """Whether the store's schema is already this version's, asked without Alembic.
    False whenever that is not certain (an upgrade then settles it)."""
    head = _head_without_alembic()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.SQLAlchemyError:
        return False  # no version table yet, or the store cannot say
    return [row[0] for row in rows] == [head]
