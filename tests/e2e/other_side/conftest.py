"""The other side of the token, end to end: a real tokensmith (tests/conftest.py), the
example accounts API (examples/accounts_api) run as its own process, and programs
fetching tokens with the client SDK."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.wire import access_line
from tests.support.processes import start_logged, stop_process, wait_until_healthy
from tests.support.server import Tokensmith, free_port

REPO = Path(__file__).resolve().parents[3]
AUDIENCE = "https://accounts.example.test"
OAUTH_PATH = "/oauth2/token"
SEED_PATH = "/v1/api/oauth/token"
INTROSPECT_PATH = "/oauth2/introspect"
REVOKE_PATH = "/oauth2/revoke"
TOKEN_PATHS = [pytest.param(OAUTH_PATH, id="standard-endpoint"), pytest.param(SEED_PATH, id="seed-endpoint")]

UVICORN = [sys.executable, "-m", "uvicorn", "examples.accounts_api.app:app", "--host", "127.0.0.1", "--no-access-log"]
PYTHON_M = [sys.executable, "-m", "examples.accounts_api"]


@dataclass
class AccountsApi:
    """examples/accounts_api as a real process on a free loopback port, run from the
    repository root exactly as its README says."""

    log_path: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    via_python_m: bool = False
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENSMITH_", "ACCOUNTS_"))}
        env.update(self.env_overrides)
        if self.via_python_m:
            command = PYTHON_M
            env["ACCOUNTS_PORT"] = str(self.port)
        else:
            command = [*UVICORN, "--port", str(self.port)]
        self.process = start_logged(command, log_path=self.log_path, cwd=REPO, env=env)
        wait_until_healthy(self.process, name="the accounts API", health_url=f"{self.url}/healthz", log_path=self.log_path)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@pytest.fixture(scope="module")
def start_accounts_api(
    tokensmith: Tokensmith, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., AccountsApi]]:
    """Starts example API processes verifying tokens of this module's tokensmith;
    all are stopped after the module."""
    started: list[AccountsApi] = []

    def start(*, via_python_m: bool = False, **env: str) -> AccountsApi:
        api = AccountsApi(
            tmp_path_factory.mktemp("accounts_api") / "api.log",
            {"TOKENSMITH_ISSUER": tokensmith.issuer, "ACCOUNTS_AUDIENCE": AUDIENCE, **env},
            via_python_m=via_python_m,
        )
        started.append(api)
        api.start()
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture(scope="module")
def accounts_api(start_accounts_api: Callable[..., AccountsApi]) -> AccountsApi:
    """The example API under `uvicorn examples.accounts_api.app:app`, no revocation check."""
    return start_accounts_api()


@pytest.fixture(scope="module")
def caller(tokensmith: Tokensmith) -> dict[str, Any]:
    """A client allowed `read` and `edit` whose tokens are meant for the accounts API."""
    return tokensmith.create_client("accounts-caller", "--audience", AUDIENCE, scopes=("read", "edit"))


@pytest.fixture(scope="module")
def es256_tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    """A second, independent tokensmith (its own issuer and keys) signing with ES256."""
    server = Tokensmith(tmp_path_factory.mktemp("tokensmith_es256"), {"TOKENSMITH_SIGNING_ALGORITHM": "ES256"})
    server.start()
    yield server
    server.stop()


def fetch_token(server: Tokensmith, client: dict[str, Any], scope: str, path: str = OAUTH_PATH) -> str:
    """A token straight from the server's standard (or seed) endpoint."""
    auth = (client["client_id"], client["client_secret"])
    if path == SEED_PATH:
        response = httpx.post(f"{server.url}{SEED_PATH}", params={"scope": scope}, auth=auth)
    else:
        response = httpx.post(f"{server.url}{OAUTH_PATH}", data={"grant_type": "client_credentials", "scope": scope}, auth=auth)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(server: Tokensmith, token: str, client: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}{INTROSPECT_PATH}", data={"token": token}, auth=(client["client_id"], client["client_secret"]))


def token_requests(server: Tokensmith, client_id: str) -> list[dict[str, Any]]:
    """The server's access-log lines for token requests by `client_id`, complete up to
    now: the log is written in order by one background thread, so once a fresh
    request's own line is there, every earlier line is too."""
    marker = httpx.get(f"{server.url}/healthz")
    access_line(server, marker.headers["x-request-id"])
    return [
        line
        for line in server.log_lines()
        if line.get("logger") == "tokensmith.access"
        and line.get("path") in (OAUTH_PATH, SEED_PATH)
        and line.get("client_id") == client_id
    ]
