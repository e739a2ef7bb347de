"""Real tokensmith processes for tests: `tokensmith serve` on a free loopback port,
each with its own store, and the command line run against that same store."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.processes import start_logged, stop_process, wait_until_healthy

TOKENSMITH = [sys.executable, "-m", "tokensmith"]
# The commands that make a SQLite store on purpose; every other one refuses a missing store.
CREATING = (("db", "upgrade"), ("demo",))
# Where every server log and every client secret the suite makes are listed, one JSON
# string a line, for tests/security/test_log_scanner.py (set by tests/conftest.py).
REGISTRY: Path | None = None


def record(kind: str, value: str) -> None:
    """Adds `value` to the registry's `kind` list ("logs" or "secrets")."""
    if REGISTRY is not None and value:
        with open(REGISTRY / f"{kind}.jsonl", "a", encoding="utf-8") as registry:
            registry.write(json.dumps(value) + "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Tokensmith:
    """A store directory plus, once started, a server process using it. Like an
    operator, it makes a missing SQLite store with `tokensmith db upgrade` before the
    first other command (unless `create_store` is False)."""

    workdir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    create_store: bool = True
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    server_ca: Path | None = None  # the CA of a TLS server's certificate (tests/support/certificates.py)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
        env.update(
            TOKENSMITH_DATABASE_URL=f"sqlite:///{self.workdir / 'tokensmith.db'}",
            TOKENSMITH_ISSUER=self.issuer,
            TOKENSMITH_PORT=str(self.port),
            # Tests change clients with the command line and expect the server to notice.
            TOKENSMITH_CLIENT_CACHE_SECONDS="0",
            TOKENSMITH_KEY_CACHE_SECONDS="0",
            # Many tests fail authentication on purpose; brute-force protection is
            # tested with its own thresholds (tests/multinode/test_bruteforce.py).
            TOKENSMITH_BRUTEFORCE_ADDRESS_FAILURES="1000000",
            TOKENSMITH_BRUTEFORCE_CLIENT_FAILURES="1000000",
        )
        env.update(self.env_overrides)
        return env

    @property
    def issuer(self) -> str:
        return self.env_overrides.get("TOKENSMITH_ISSUER", f"{self.scheme}://127.0.0.1:{self.port}")

    @property
    def scheme(self) -> str:
        return "https" if self.server_ca is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What a client verifies this server's certificate with (httpx `verify`)."""
        return ssl.create_default_context(cafile=str(self.server_ca)) if self.server_ca is not None else True

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def database(self) -> Path | None:
        """The SQLite database file, or None for another store."""
        url = self.env["TOKENSMITH_DATABASE_URL"]
        return Path(url.split(":///", 1)[1]) if url.startswith("sqlite:///") else None

    def _ensure_store(self, args: Sequence[str]) -> None:
        if not self.create_store or self.database is None or self.database.exists():
            return
        if "--help" in args or any(tuple(args[: len(command)]) == command for command in CREATING):
            return
        # Not checked: a bad setting fails here and again, reported, in the command itself.
        self._run("db", "upgrade")

    def _run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TOKENSMITH, *args], env=self.env, cwd=self.workdir, input=input, capture_output=True, text=True, timeout=60
        )

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        self._ensure_store(args)
        result = self._run(*args, input=input)
        if "--secret-stdin" in args and input:
            record("secrets", input.strip())
        if check and result.returncode != 0:
            raise AssertionError(f"tokensmith {' '.join(args)} failed: {result.stderr}")
        return result

    def create_client(self, client_id: str, *extra: str, scopes: Sequence[str] = ("edit",)) -> dict[str, Any]:
        args = ["clients", "create", "--client-id", client_id, "--json"]
        for scope in scopes:
            args += ["--scope", scope]
        created = json.loads(self.cli(*args, *extra).stdout)
        record("secrets", created.get("client_secret") or "")
        return created

    def start(self, *extra_args: str) -> None:
        if not self.port:
            self.port = free_port()
        self._ensure_store(["serve"])
        record("logs", str(self.log_path))
        self.process = start_logged([*TOKENSMITH, "serve", *extra_args], log_path=self.log_path, cwd=self.workdir, env=self.env)
        wait_until_healthy(self.process, name="tokensmith serve", health_url=f"{self.url}/healthz", log_path=self.log_path, verify=self.verify)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                lines.append({"unparsed": line})
        return lines
