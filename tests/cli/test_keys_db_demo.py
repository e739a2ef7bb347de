"""`tokensmith keys`, `db upgrade`, `demo` and `--help`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.server import Tokensmith


def keys(store: Tokensmith) -> list[dict]:
    return json.loads(store.cli("keys", "list", "--json").stdout)


def test_module_entry_point_prints_help() -> None:
    result = subprocess.run([sys.executable, "-m", "tokensmith", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "clients", "keys", "db", "demo"):
        assert command in result.stdout


def test_every_group_has_help(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    for group in (("clients",), ("clients", "secret"), ("keys",), ("db",)):
        result = store.cli(*group, "--help")
        assert result.stdout.startswith(f"Usage: tokensmith {' '.join(group)}")


def test_db_upgrade_prepares_an_empty_store_and_is_repeatable(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    first = store.cli("db", "upgrade").stdout
    assert "was empty" in first
    revision = re.search(r"revision (\S+)", first)
    assert revision
    second = store.cli("db", "upgrade").stdout
    assert f"revision {revision[1]} (was {revision[1]})" in second


def test_a_fresh_store_has_one_active_and_one_next_key_both_published(tmp_path: Path) -> None:
    ring = keys(Tokensmith(tmp_path))
    assert sorted(k["state"] for k in ring) == ["active", "next"]
    assert all(k["published"] and k["algorithm"] == "RS256" for k in ring)


def test_rotate_promotes_next_and_keeps_the_retired_key_published(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    before = {k["state"]: k["kid"] for k in keys(store)}
    output = store.cli("keys", "rotate").stdout
    assert before["next"] in output
    after = {k["kid"]: k for k in keys(store)}
    assert after[before["next"]]["state"] == "active"
    assert after[before["active"]]["state"] == "retired" and after[before["active"]]["published"]
    [fresh] = [k for k in after.values() if k["state"] == "next"]
    assert fresh["kid"] not in before.values()
    text = store.cli("keys", "list").stdout
    assert all(kid in text for kid in after)


def test_rotation_uses_the_configured_algorithm_for_new_keys(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    store.cli("keys", "list")
    es256 = Tokensmith(tmp_path, {"TOKENSMITH_SIGNING_ALGORITHM": "ES256"})
    es256.cli("keys", "rotate")
    states = {k["state"]: k["algorithm"] for k in keys(es256)}
    # The next key made before the change becomes active; the new next key is ES256.
    assert states == {"retired": "RS256", "active": "RS256", "next": "ES256"}


def test_demo_creates_a_client_once_and_prints_a_working_curl_command(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    first = store.cli("demo")
    assert "Demo client created" in first.stdout
    curl = next(line.strip() for line in first.stdout.splitlines() if line.strip().startswith("curl "))
    assert "/v1/api/oauth/token?scope=" in curl
    credentials = re.search(r"-u (\S+):(tks_\S+)", curl)
    assert credentials and credentials[1] == "demo"

    second = store.cli("demo")
    assert second.returncode == 0
    assert "already has clients" in second.stdout + second.stderr
    assert credentials[2] not in second.stdout + second.stderr
    assert [line.split("\t")[0] for line in store.cli("clients", "list").stdout.splitlines()] == ["demo"]

    # The printed credentials get a token from a server on the same store.
    store.start()
    try:
        response = httpx.post(f"{store.url}/v1/api/oauth/token?scope=edit", auth=(credentials[1], credentials[2]))
    finally:
        store.stop()
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_demo_does_nothing_when_the_store_already_has_clients(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path)
    store.create_client("someone")
    assert "already has clients" in store.cli("demo").stdout
    assert store.cli("clients", "show", "demo", check=False).returncode != 0


def test_demo_command_points_at_a_connectable_address_when_serving_on_every_interface(tmp_path: Path) -> None:
    store = Tokensmith(tmp_path, {"TOKENSMITH_HOST": "0.0.0.0", "TOKENSMITH_PORT": "8080"})
    assert "'http://127.0.0.1:8080/v1/api/oauth/token?scope=edit'" in store.cli("demo").stdout
