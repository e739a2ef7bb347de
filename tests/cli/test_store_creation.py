"""Only a creating command (`tokensmith db upgrade`, `tokensmith demo`) makes a SQLite
store; every other command refuses a missing one, so a mistyped path never becomes a
new, empty store with a new key-encryption key. The store's files are owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import assert_one_line_error
from tests.support.server import TOKENSMITH, Tokensmith, free_port


def mistyped(tmp_path: Path) -> Tokensmith:
    """A store configured at a path where nothing exists, in a directory of its own."""
    (tmp_path / "stores").mkdir()
    return Tokensmith(
        tmp_path, {"TOKENSMITH_DATABASE_URL": f"sqlite:///{tmp_path / 'stores' / 'tokensmlth.db'}"}, create_store=False
    )


def run(store: Tokensmith, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TOKENSMITH, *args], env=store.env, cwd=store.workdir, capture_output=True, text=True, timeout=60, umask=umask
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "args",
    [
        ("serve",),
        ("clients", "list"),
        ("clients", "create", "--client-id", "someone", "--scope", "edit"),
        ("clients", "show", "someone"),
        ("keys", "list"),
        ("keys", "rotate"),
        ("audit", "list"),
    ],
)
def test_a_command_on_a_missing_sqlite_store_refuses_and_creates_nothing(tmp_path: Path, args: tuple[str, ...]) -> None:
    store = mistyped(tmp_path)
    store.env_overrides["TOKENSMITH_PORT"] = str(free_port())  # `serve`, were it to start
    message = assert_one_line_error(run(store, *args))
    assert message == f"tokensmith: no store at {store.database}; create it with `tokensmith db upgrade`"
    assert list((tmp_path / "stores").iterdir()) == []


def test_a_creating_command_refuses_a_missing_directory_and_creates_nothing(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path, {"TOKENSMITH_DATABASE_URL": f"sqlite:///{tmp_path / 'nowhere' / 't.db'}"}, create_store=False)
    message = assert_one_line_error(run(store, "db", "upgrade"))
    assert "directory" in message and "does not exist" in message
    assert not (tmp_path / "nowhere").exists()


def test_an_existing_store_without_its_kek_file_is_refused_not_given_a_new_key(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    store.create_client("made-with-the-first-kek")
    kek = tmp_path / "tokensmith.db.kek"
    kek.unlink()
    for args in (("clients", "list"), ("db", "upgrade"), ("demo",), ("serve",)):
        message = assert_one_line_error(run(store, *args))
        assert "key-encryption key" in message and "missing" in message, args
        assert not kek.exists(), args


@pytest.mark.parametrize("creating", [("db", "upgrade"), ("demo",)])
def test_the_creating_commands_make_a_store_the_others_then_use(tmp_path: Path, creating: tuple[str, ...]) -> None:
    store = Tokensmith(tmp_path, create_store=False)
    assert run(store, *creating).returncode == 0
    assert store.database is not None and store.database.is_file()
    assert (tmp_path / "tokensmith.db.kek").is_file()
    assert store.cli("keys", "list").returncode == 0
    # Run again on the store they made, they change nothing about its key.
    before = (tmp_path / "tokensmith.db.kek").read_text()
    assert run(store, *creating).returncode == 0
    assert (tmp_path / "tokensmith.db.kek").read_text() == before


@contextmanager
def umask(value: int) -> Iterator[None]:
    """The test process's umask, inherited by the server it starts."""
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


def store_files(tmp_path: Path) -> dict[str, int]:
    return {path.name: mode(path) for path in tmp_path.iterdir() if path.name.startswith("tokensmith.db")}


@pytest.mark.parametrize("creating", [("db", "upgrade"), ("demo",)])
def test_store_files_are_owner_only_whatever_the_umask(tmp_path: Path, creating: tuple[str, ...]) -> None:
    store = Tokensmith(tmp_path, create_store=False)
    assert run(store, *creating, umask=0).returncode == 0
    made = store_files(tmp_path)
    assert {"tokensmith.db", "tokensmith.db.kek"} <= made.keys()
    assert set(made.values()) == {0o600}, made

    # `tokensmith serve` on the fresh store, writing through its WAL (a revocation).
    with umask(0):
        store.start()
    try:
        client = store.create_client("writer")
        auth = (client["client_id"], client["client_secret"])
        token = httpx.post(f"{store.url}/v1/api/oauth/token?scope=edit", auth=auth).json()["access_token"]
        assert httpx.post(f"{store.url}/oauth2/revoke", data={"token": token}, auth=auth).status_code == 200
        served = store_files(tmp_path)
    finally:
        store.stop()
    assert {"tokensmith.db", "tokensmith.db-wal", "tokensmith.db-shm", "tokensmith.db.kek"} <= served.keys()
    assert set(served.values()) == {0o600}, served


def test_a_store_made_readable_by_others_is_made_owner_only_when_opened(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    store.cli("db", "upgrade")
    assert store.database is not None
    store.database.chmod(0o644)
    store.cli("clients", "list")
    assert mode(store.database) == 0o600
