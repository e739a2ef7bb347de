"""What the serving process loads: the migration machinery (Alembic, Mako) stays out of
it until used, and PyJWT never comes in (tokens are read back with tokensmith.jose);
`tokensmith serve` upgrades the store in a child process when, and only when, the
schema is not current."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from tokensmith.cli.context import open_node
from tokensmith.config import Settings
from tokensmith.store.database import create_engine, current_revision, head_revision, is_at_head, upgrade


def empty_store(database: Path) -> sa.Engine:
    """A store made as `tokensmith db upgrade` begins one (the file and its key), with no schema yet."""
    open_node(Settings(database_url=f"sqlite:///{database}"), create=True).engine.dispose()
    return create_engine(f"sqlite:///{database}")


def run(program: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(TOKENSMITH_DATABASE_URL=f"sqlite:///{database}", TOKENSMITH_AUDIT_LOG="off")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(program)], env=env, capture_output=True, text=True, timeout=120)


def test_serving_modules_do_not_import_alembic(tmp_path: Path) -> None:
    done = run(
        """
        import sys
        import tokensmith.cli.main, tokensmith.http.app, tokensmith.http.protocol
        print(sorted(m for m in ("alembic", "mako", "jwt") if m in sys.modules))
        """,
        tmp_path / "unused.db",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_serve_upgrades_a_store_without_schema_in_a_child_and_loads_no_alembic(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    empty_store(database).dispose()
    done = run(
        """
        import sys
        from tokensmith.cli.main import _prepare_store
        from tokensmith.config import Settings
        _prepare_store(Settings())
        print("alembic" in sys.modules)
        """,
        database,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert is_at_head(engine)
        with engine.connect() as connection:
            states = {row[0] for row in connection.execute(sa.text("SELECT state FROM signing_keys"))}
        assert states == {"active", "next"}
    finally:
        engine.dispose()


def test_is_at_head_knows_an_old_or_empty_schema(tmp_path: Path) -> None:
    engine = empty_store(tmp_path / "old.db")
    try:
        assert not is_at_head(engine)  # empty: no version table
        upgrade(engine, "0004")
        assert not is_at_head(engine)
        upgrade(engine)
        assert is_at_head(engine)
        # The newest migration, whichever it is (branches add theirs).
        assert head_revision() == current_revision(engine) is not None
    finally:
        engine.dispose()


def test_serve_reports_a_failing_upgrade_on_one_line(tmp_path: Path) -> None:
    database = tmp_path / "broken.db"
    engine = empty_store(database)
    with engine.begin() as connection:  # a version no migration knows
        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(sa.text("INSERT INTO alembic_version VALUES ('9999')"))
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update(TOKENSMITH_DATABASE_URL=f"sqlite:///{database}", TOKENSMITH_PORT="1")
    done = subprocess.run([sys.executable, "-m", "tokensmith", "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tokensmith: "), done.stderr
