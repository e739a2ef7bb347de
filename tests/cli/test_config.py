"""Configuration: a TOML file named by TOKENSMITH_CONFIG is read, and the
environment wins over it (DESIGN.md §6)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.server import Tokensmith


def demo_url(store: Tokensmith) -> str:
    match = re.search(r"'(http://[^']+)'", store.cli("demo").stdout)
    assert match
    return match[1]


def test_settings_in_the_toml_file_are_used(tmp_path: Path) -> None:
    config = tmp_path / "tokensmith.toml"
    config.write_text('host = "127.0.0.9"\ndefault_lifetime_seconds = 120\n')
    store = Tokensmith(tmp_path, {"TOKENSMITH_CONFIG": str(config)})
    assert demo_url(store).startswith("http://127.0.0.9:")
    assert '"lifetime": "120"' in store.cli("clients", "show", "demo", "--json").stdout


def test_the_environment_wins_over_the_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "tokensmith.toml"
    config.write_text('host = "127.0.0.9"\nkey_cache_seconds = 7\n')
    # The test harness also sets TOKENSMITH_KEY_CACHE_SECONDS=0 in the environment.
    store = Tokensmith(tmp_path, {"TOKENSMITH_CONFIG": str(config), "TOKENSMITH_HOST": "127.0.0.10"})
    assert demo_url(store).startswith("http://127.0.0.10:")
    assert "within 0 s" in store.cli("keys", "rotate").stdout


def test_the_server_reads_the_toml_file_too(tmp_path: Path) -> None:
    config = tmp_path / "tokensmith.toml"
    config.write_text('error_source = "FROMTOML"\n')
    server = Tokensmith(tmp_path, {"TOKENSMITH_CONFIG": str(config)})
    server.start()
    try:
        response = httpx.post(f"{server.url}/v1/api/oauth/token?scope=edit", auth=("nobody", "wrong-secret"))
    finally:
        server.stop()
    assert response.status_code == 401
    assert response.json()[0]["source"] == "FROMTOML"


def test_retired_keys_cannot_be_dropped_before_the_longest_token_expires(tmp_path: Path) -> None:
    # A daily-boundary token can live 25 hours; a shorter retention would unpublish
    # the key of a token still in flight.
    store = Tokensmith(tmp_path, {"TOKENSMITH_RETIRED_KEY_RETENTION_SECONDS": "3600"})
    result = store.cli("keys", "list", check=False)
    assert result.returncode != 0
    assert "TOKENSMITH_RETIRED_KEY_RETENTION_SECONDS" in result.stderr
