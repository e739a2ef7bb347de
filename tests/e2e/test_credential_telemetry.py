"""When each credential last authenticated its client, as `clients show` tells it:
noted per token in memory, written by the server in batches (every
TOKENSMITH_CREDENTIAL_USE_WRITE_SECONDS), never a store write per token."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, auth_header
from tests.support.assertions import ClientKey, assertion, form, jwks_file
from tests.support.server import Tokensmith


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    server = Tokensmith(tmp_path_factory.mktemp("telemetry"), env_overrides={"TOKENSMITH_CREDENTIAL_USE_WRITE_SECONDS": "1"})
    server.start()
    yield server
    server.stop()


def shown(tokensmith: Tokensmith, client_id: str) -> dict[str, Any]:
    return json.loads(tokensmith.cli("clients", "show", client_id, "--json").stdout)


def eventually(check: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_the_secret_and_the_key_that_authenticated_show_when_they_were_last_used(tokensmith: Tokensmith, http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> None:
    secret_client = tokensmith.create_client("metered")
    spare = json.loads(tokensmith.cli("clients", "secret", "add", "metered", "--json").stdout)
    key, unused = ClientKey.es256("used"), ClientKey.es256("unused")
    tokensmith.create_client("metered-key", "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file(tmp_path_factory.mktemp("k"), key, unused)))
    before = int(time.time())
    assert shown(tokensmith, "metered")["secrets"][0]["last_used_at"] is None
    assert http.post(OAUTH_PATH, data={"grant_type": "client_credentials"}, headers=auth_header(secret_client)).status_code == 200
    assert http.post(OAUTH_PATH, data={"grant_type": "client_credentials", **form(assertion(key, "metered-key", tokensmith.issuer))}).status_code == 200

    def secret_used() -> dict[str, Any] | None:
        secrets = {s["secret_id"]: s for s in shown(tokensmith, "metered")["secrets"]}
        return secrets if secrets[secret_client["secret_id"]]["last_used_at"] is not None else None

    secrets = eventually(secret_used)
    assert secrets, "the secret's use was never written"
    assert secrets[secret_client["secret_id"]]["last_used_at"] >= before
    assert secrets[spare["secret_id"]]["last_used_at"] is None  # only the one that matched
    def key_used() -> dict[str, Any] | None:
        keys = {k["kid"]: k for k in shown(tokensmith, "metered-key")["keys"]}
        return keys if keys["used"]["last_used_at"] is not None else None

    keys = eventually(key_used)
    assert keys, "the key's use was never written"
    assert keys["used"]["last_used_at"] >= before
    assert keys["unused"]["last_used_at"] is None


def test_telemetry_counts_authentications_by_method_and_failures_by_reason_only(tokensmith: Tokensmith, http: httpx.Client) -> None:
    http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": "no-such-client-7f3a", "client_secret": "tks_x"})
    metrics = http.get("/metrics").text
    assert 'tokensmith_client_authentications_total{method="client_secret_basic"}' in metrics
    assert 'method="client_secret_post",reason="unknown_client"' in metrics
    assert "no-such-client-7f3a" not in metrics
