"""Schemathesis (v4) against a real `tokensmith serve`, driven by /openapi.json: every
check (`--checks all`) over the examples, coverage and fuzzing phases, with a real
client's credentials. Zero failures, with the fixed seed and with a random one.

What the run departs from Schemathesis's defaults in, and why, is in
tests/security/schemathesis.toml; no check is switched off. One run has a fixed seed
so that a failure in CI reproduces locally; the other a fresh seed each time, so that
CI explores beyond one sequence of cases (the seed is printed, and named in the failure:
`TOKENSMITH_SCHEMATHESIS_SEED=N` replays it). The numbers of examples keep each run to
well under a minute on two cores.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Tokensmith

REPO = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 300
SEED = 20240611
RANDOM_MAX_EXAMPLES = 400  # about 30 s on two cores
RUN_TIMEOUT_SECONDS = 240
ADMIN_MAX_EXAMPLES = 100

# The seed's example scope; the document's examples use it, so the examples phase
# gets tokens, not just refusals.
SCOPES = ("edit", "read")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tokensmith, str]]:
    """A server, and the secret of its client `schemathesis`."""
    server = Tokensmith(
        tmp_path_factory.mktemp("schemathesis"),
        {
            # Schemathesis sends thousands of wrong credentials on purpose (its
            # ignored_auth check among them): far below these, nobody is blocked.
            "TOKENSMITH_BRUTEFORCE_ADDRESS_FAILURES": "1000000",
            "TOKENSMITH_BRUTEFORCE_CLIENT_FAILURES": "1000000",
            "TOKENSMITH_CLIENT_CACHE_SECONDS": "30",
            "TOKENSMITH_KEY_CACHE_SECONDS": "30",
        },
    )
    secret = server.create_client("schemathesis", scopes=SCOPES)["client_secret"]
    server.start()
    yield server, secret
    server.stop()


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tokensmith, str]]:
    """A server, and an access token of its admin client `ops` (scope tokensmith:admin)."""
    server = Tokensmith(
        tmp_path_factory.mktemp("schemathesis-admin"),
        {"TOKENSMITH_BRUTEFORCE_ADDRESS_FAILURES": "1000000", "TOKENSMITH_BRUTEFORCE_CLIENT_FAILURES": "1000000"},
    )
    secret = server.create_client("ops", scopes=("tokensmith:admin",))["client_secret"]
    server.start()
    answer = httpx.post(f"{server.url}/v1/api/oauth/token", params={"scope": "tokensmith:admin"}, auth=("ops", secret), timeout=10)
    assert answer.status_code == 200, answer.text
    yield server, answer.json()["access_token"]
    server.stop()


def run_schemathesis(server: tuple[Tokensmith, str], seed: int, max_examples: int, *, admin: bool = False) -> None:
    """The public API with Basic credentials, or (`admin`) the admin API with a bearer token."""
    tokensmith, secret = server
    credentials = ["-H", f"Authorization: Bearer {secret}", "--include-path-regex", "^/admin/"] if admin else [
        "--auth", f"schemathesis:{secret}", "--exclude-path-regex", "^/admin/",
    ]  # fmt: skip
    command = [
        str(SCHEMATHESIS),
        "--config-file", str(CONFIG),
        "run", f"{tokensmith.url}/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing",
        *credentials,
        "--max-examples", str(max_examples),
        "--seed", str(seed),
        "--request-timeout", "10",
        "--generation-database", "none",
        "--no-color",
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(
        command, check=False, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL
    )
    elapsed = time.monotonic() - started
    output = (result.stdout + result.stderr).replace(secret, "[secret]")
    replay = f"seed {seed} (replay: TOKENSMITH_SCHEMATHESIS_SEED={seed})"
    assert result.returncode == 0, f"schemathesis failed after {elapsed:.0f}s with {replay}:\n{output[-20000:]}"
    # Warnings do not fail the run: the one it gives, that the seed endpoint refuses
    # most generated requests, is those same relations (schemathesis.toml).
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts is not None and counts[1] == counts[2], output[-5000:]
    assert int(counts[1]) >= (2 if admin else 5) * max_examples, "the run tested far fewer cases than it should"
    assert tokensmith.is_running()
    print(f"schemathesis, {replay}: {elapsed:.1f}s, {counts[0]}")


def test_schemathesis_finds_nothing(server: tuple[Tokensmith, str]) -> None:
    run_schemathesis(server, SEED, MAX_EXAMPLES)


def test_schemathesis_with_a_random_seed_finds_nothing(server: tuple[Tokensmith, str]) -> None:
    seed = int(os.environ.get("TOKENSMITH_SCHEMATHESIS_SEED") or secrets.randbelow(2**32))
    print(f"schemathesis random seed: {seed}")
    run_schemathesis(server, seed, RANDOM_MAX_EXAMPLES)


def test_schemathesis_finds_nothing_in_the_admin_api(admin_server: tuple[Tokensmith, str]) -> None:
    """Every admin operation with a valid admin token (schemathesis.toml says which
    refusals a schema-valid request may still get there, and why)."""
    run_schemathesis(admin_server, SEED, ADMIN_MAX_EXAMPLES, admin=True)
