"""Every mistake an operator can make on the command line ends with a non-zero exit
and one line on stderr, never a traceback (DESIGN.md §6)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.cli.conftest import assert_one_line_error
from tests.support.server import Tokensmith


@pytest.fixture(scope="module")
def populated(store: Tokensmith) -> Tokensmith:
    store.create_client("existing")
    return store


@pytest.mark.parametrize(
    "args",
    [
        ("clients", "show", "nobody"),
        ("clients", "update", "nobody", "--name", "x"),
        ("clients", "disable", "nobody"),
        ("clients", "enable", "nobody"),
        ("clients", "delete", "nobody"),
        ("clients", "secret", "add", "nobody"),
        ("clients", "secret", "remove", "nobody", "sec_0"),
    ],
    ids=lambda args: " ".join(args[1:3]),
)
def test_unknown_client_is_named_in_one_line(populated: Tokensmith, args: tuple[str, ...]) -> None:
    assert "nobody" in assert_one_line_error(populated.cli(*args, check=False))


BAD_CREATE = {
    "duplicate id": (["--client-id", "existing", "--scope", "edit"], "already exists"),
    "bad scope token": (["--scope", 'quo"te'], "scope"),
    "scope with a space": (["--scope", "two words"], "scope"),
    "default scope not allowed": (["--scope", "edit", "--default-scope", "admin"], "default scope"),
    "claim overriding iss": (["--scope", "edit", "--claim", "iss=x"], "iss"),
    "claim overriding exp": (["--scope", "edit", "--claim", "exp:=1"], "exp"),
    "claim without a value": (["--scope", "edit", "--claim", "nameonly"], "claim"),
    "claim with bad json": (["--scope", "edit", "--claim", "n:={oops"], "JSON"),
    "zero lifetime": (["--scope", "edit", "--lifetime", "0"], "lifetime"),
    "lifetime over a day": (["--scope", "edit", "--lifetime", "86401"], "lifetime"),
    "lifetime not a number": (["--scope", "edit", "--lifetime", "an hour"], "lifetime"),
    "unknown time zone": (["--scope", "edit", "--lifetime", "00:00 Mars/Olympus"], "unknown time zone"),
    "zone that is a directory": (["--scope", "edit", "--lifetime", "00:00 America"], "unknown time zone"),
    "bad duration": (["--scope", "edit", "--secret-expires-in", "3 weeks"], "duration"),
    "huge duration": (["--scope", "edit", "--secret-expires-in", "99999999999d"], "expiry"),
    "zero duration": (["--scope", "edit", "--secret-expires-in", "0"], "future"),
    "bad client id": (["--client-id", "has space", "--scope", "edit"], "client id"),
    "short imported secret": (["--scope", "edit", "--secret-stdin"], "imported secret"),
    "missing scope option": (["--client-id", "x"], "--scope"),
}


@pytest.mark.parametrize("name", list(BAD_CREATE))
def test_bad_create_input_is_one_line(populated: Tokensmith, name: str) -> None:
    extra, expected = BAD_CREATE[name]
    result = populated.cli("clients", "create", *extra, check=False, input="short\n")
    assert expected in assert_one_line_error(result)


def test_bad_update_input_is_one_line_and_changes_nothing(populated: Tokensmith) -> None:
    before = populated.cli("clients", "show", "existing", "--json").stdout
    for extra in (["--claim", "sub=x"], ["--lifetime", "25:00 UTC"], ["--scope", "bad\\scope"]):
        assert_one_line_error(populated.cli("clients", "update", "existing", *extra, check=False))
    after = populated.cli("clients", "show", "existing", "--json").stdout
    assert after == before


def test_unknown_command_is_one_line(populated: Tokensmith) -> None:
    assert "nope" in assert_one_line_error(populated.cli("nope", check=False))


def test_bad_setting_in_the_environment_names_the_setting(tmp_path: Path) -> None:
    result = Tokensmith(tmp_path, {"TOKENSMITH_PORT": "abc"}).cli("clients", "list", check=False)
    assert "TOKENSMITH_PORT" in assert_one_line_error(result)


def test_bad_setting_for_serve_is_one_line(tmp_path: Path) -> None:
    result = Tokensmith(tmp_path, {"TOKENSMITH_SIGNING_ALGORITHM": "HS256"}).cli("serve", check=False)
    assert "TOKENSMITH_SIGNING_ALGORITHM" in assert_one_line_error(result)


@pytest.mark.parametrize("case", ["missing file", "directory", "not toml", "unknown key"])
def test_unreadable_config_file_is_one_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "tokensmith.toml"
    if case == "directory":
        path.mkdir()
    elif case == "not toml":
        path.write_text("issuer = \n")
    elif case == "unknown key":
        path.write_text('colour = "blue"\n')
    result = Tokensmith(tmp_path, {"TOKENSMITH_CONFIG": str(path)}).cli("clients", "list", check=False)
    message = assert_one_line_error(result)
    assert "configuration" in message or "tokensmith.toml" in message


def test_postgresql_store_without_a_kek_asks_for_one(tmp_path: Path) -> None:
    # Checked before any connection is tried, so no database needs to exist.
    env = {"TOKENSMITH_DATABASE_URL": "postgresql+psycopg://tokensmith@127.0.0.1:9/tokensmith"}
    result = Tokensmith(tmp_path, env).cli("clients", "list", check=False)
    assert "TOKENSMITH_KEY_ENCRYPTION_KEY" in assert_one_line_error(result)


def test_wrong_kek_for_an_existing_store_is_one_line_without_the_key(tmp_path: Path) -> None:
    Tokensmith(tmp_path).create_client("made-with-the-first-kek")
    wrong = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    result = Tokensmith(tmp_path, {"TOKENSMITH_KEY_ENCRYPTION_KEY": wrong}).cli("clients", "list", check=False)
    message = assert_one_line_error(result)
    assert "key-encryption key" in message
    assert wrong not in message
    assert (tmp_path / "tokensmith.db.kek").read_text().strip() not in message


def test_malformed_kek_is_one_line_without_the_key(tmp_path: Path) -> None:
    result = Tokensmith(tmp_path, {"TOKENSMITH_KEY_ENCRYPTION_KEY": "not-a-key"}).cli("keys", "list", check=False)
    assert "not-a-key" not in assert_one_line_error(result)


def test_kek_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    Tokensmith(tmp_path).cli("db", "upgrade")
    (tmp_path / "tokensmith.db.kek").chmod(0o644)
    result = Tokensmith(tmp_path).cli("clients", "list", check=False)
    assert "chmod 600" in assert_one_line_error(result)
