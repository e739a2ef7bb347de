"""The servers under test: how each is prepared, started, watched and stopped.

Every server runs in its own process group (so its workers are found and stopped by
the group id the harness created), pinned with taskset, with its own scratch store.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import BENCH_DIR, REPO, SERVER_CPU, STATE, VENV_BIN, VENV_PYTHON, free_port

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STANDARD_BODY = "grant_type=client_credentials&scope=edit"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Endpoint:
    name: str  # "seed" or "standard"
    path: str  # with the query string
    body: str = ""
    content_type: str = FORM


SEED = Endpoint("seed", "/v1/api/oauth/token?scope=edit")
STANDARD_TOKENSMITH = Endpoint("standard", "/oauth2/token", STANDARD_BODY)


@dataclass(frozen=True)
class TokenCheck:
    """How a sampled token is checked: a JWT against the server's JWKS, or (DOT's
    opaque tokens) by finding it in the server's database."""

    kind: str  # "jwt" or "dot"
    algorithm: str = "RS256"
    jwks_path: str = ""
    issuer: str = ""
    audience: str | None = None
    database: str = ""


@dataclass
class Server:
    label: str
    command: list[str]
    env: dict[str, str]
    port: int
    client_id: str
    client_secret: str
    endpoints: dict[str, Endpoint]
    check: TokenCheck
    health_path: str
    pinning: str
    scratch: Path | None = None
    cwd: Path = REPO
    details: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authorization(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    # -- life cycle ---------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> None:
        log_dir = self.scratch or Path(tempfile.mkdtemp(prefix="bench-log-", dir=STATE / "tmp"))
        self.log_path = log_dir / "server.log"
        env = {**os.environ, **self.env}
        with open(self.log_path, "wb") as sink:
            self.process = subprocess.Popen(
                ["taskset", "-c", self.pinning, *self.command],
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers included
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited at start ({self.process.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + self.health_path, timeout=2) as response:
                    if response.status == 200 and self._workers_ready():
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.label} did not become ready in {timeout:.0f}s: {self.log_tail()}")

    def _workers_ready(self) -> bool:
        wanted = self.details.get("processes")
        return wanted is None or len(self.pids()) >= wanted

    def stop(self) -> None:
        if self.process is None:
            return
        group = self.process.pid
        if self.process.poll() is None or self.pids():
            try:
                os.killpg(group, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + 5
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pids():
                try:
                    os.killpg(group, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=10)
        self.process = None

    def cleanup(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def log_tail(self, lines: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- observation --------------------------------------------------------------

    def pids(self) -> list[int]:
        """Every live process of this server (its process group)."""
        if self.process is None:
            return []
        group = self.process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            # fields[0] is the state, fields[2] the process group
            if fields[0] != "Z" and int(fields[2]) == group:
                found.append(int(entry.name))
        return found

    def rss_kib(self) -> int:
        """Resident memory of all the server's processes (VmRSS, summed)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time of all the server's processes so far."""
        ticks = 0
        for pid in self.pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / CLOCK_TICKS

    def main_pid(self) -> int:
        """The process that serves requests (the only worker when there is one)."""
        pids = sorted(self.pids())
        if self.process is None or not pids:
            raise RuntimeError(f"{self.label} is not running")
        workers = [pid for pid in pids if pid != self.process.pid]
        return workers[0] if workers and self.details.get("worker_is_child") else self.process.pid


def _scratch(prefix: str) -> Path:
    (STATE / "tmp").mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=STATE / "tmp"))


def _run(command: list[str], env: dict[str, str], cwd: Path = REPO) -> str:
    result = subprocess.run(command, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-800:]}")
    return result.stdout


def _run_json(command: list[str], env: dict[str, str], cwd: Path = REPO) -> dict[str, Any]:
    return json.loads(_run(command, env, cwd))


# -- tokensmith ---------------------------------------------------------------------


def tokensmith(
    algorithm: str,
    *,
    workers: int = 1,
    access_log: bool = True,
    runner: str = "uvicorn",
    app: str = "full",
    reuse_tokens: bool = False,
    cli: list[str] | None = None,
    client_id: str = "bench",
    scratch_prefix: str | None = None,
    extra_env: dict[str, str] | None = None,
    source: Path | None = None,
) -> Server:
    """tokensmith on a fresh SQLite store whose keys use `algorithm`. `reuse_tokens`
    turns token reuse on for the benchmark's client (docs/configuration.md).

    runner "uvicorn" is `tokensmith serve` itself; "granian" serves the same app
    factory with granian.

    `cli` is the tokensmith command that creates the client and serves (default: the
    benchmark's own environment's; `make soak` and `make timing` pass
    `[sys.executable, "-m", "tokensmith"]`); `extra_env` is added to the settings;
    `source` serves the tokensmith of another tree (its `src/` first on the path: the
    baseline of `bench/run.py --baseline REF`)."""
    cli = cli or [str(VENV_BIN / "tokensmith")]
    scratch = _scratch(scratch_prefix or f"tokensmith-{algorithm}-")
    port = free_port()
    env = {
        "TOKENSMITH_DATABASE_URL": f"sqlite:///{scratch}/t.db",
        "TOKENSMITH_SIGNING_ALGORITHM": algorithm,
        "TOKENSMITH_ACCESS_LOG": "true" if access_log else "false",
        "TOKENSMITH_ISSUER": f"http://127.0.0.1:{port}",
        "TOKENSMITH_PORT": str(port),
        "TOKENSMITH_HOST": "127.0.0.1",
        **(extra_env or {}),
        **({"PYTHONPATH": str(source / "src")} if source is not None else {}),
    }
    _run([*cli, "db", "upgrade"], env)  # only the creating commands make a SQLite store
    created = _run_json(
        [*cli, "clients", "create", "--client-id", client_id, "--scope", "edit", "--json",
         *(["--reuse-tokens"] if reuse_tokens else [])],
        env,
    )  # fmt: skip
    factory = "tokensmith.http.app:app_from_environment"
    if runner == "uvicorn" and app == "full":
        command = [*cli, "serve", "--port", str(port), "--workers", str(workers)]
    elif runner == "uvicorn":
        command = [str(VENV_PYTHON), str(BENCH_DIR / "experiments" / "serve_uvicorn.py"), factory, str(port), str(workers)]
    elif runner == "granian":
        command = [
            str(VENV_BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--loop", "uvloop", "--http", "1", "--no-ws", factory,
        ]  # fmt: skip
    else:
        raise ValueError(runner)
    pinning = SERVER_CPU if workers == 1 else "0,1"
    label = f"tokensmith {algorithm}" + (f" {workers} workers" if workers > 1 else "")
    return Server(
        label=label,
        command=command,
        env=env,
        port=port,
        client_id=created["client_id"],
        client_secret=created["client_secret"],
        endpoints={"seed": SEED, "standard": STANDARD_TOKENSMITH},
        check=TokenCheck("jwt", algorithm, "/.well-known/jwks.json", env["TOKENSMITH_ISSUER"], env["TOKENSMITH_ISSUER"]),
        health_path="/healthz",
        pinning=pinning,
        scratch=scratch,
        details={
            "algorithm": algorithm,
            "workers": workers,
            "access_log": access_log,
            "runner": runner,
            "app": app,
            "reuse_tokens": reuse_tokens,
            # uvicorn with several workers (and granian always) serves from children.
            "processes": (workers + 1) if (workers > 1 or runner == "granian") else 1,
            "worker_is_child": workers > 1 or runner == "granian",
        },
    )


# -- peers --------------------------------------------------------------------------


def gunicorn_command(app: str, chdir: Path, port: int, threads: int) -> list[str]:
    # One worker. gthread, because gunicorn's default sync worker closes the
    # connection after every response (no keep-alive without a proxy in front).
    return [
        str(VENV_BIN / "gunicorn"), "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}", "--chdir", str(chdir), "--no-control-socket", app,
    ]  # fmt: skip


def authlib(threads: int = 4) -> Server:
    scratch = _scratch("authlib-")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        "AUTHLIB_BENCH_DB": str(scratch / "authlib.db"),
        "AUTHLIB_BENCH_KEY": str(scratch / "jwks.json"),
        "AUTHLIB_BENCH_ISSUER": issuer,
    }
    created = _run_json([str(VENV_PYTHON), str(BENCH_DIR / "peers" / "authlib_server.py"), "init"], env)
    return Server(
        label="Authlib (Flask, gunicorn)",
        command=gunicorn_command("authlib_server:app", BENCH_DIR / "peers", port, threads),
        env=env,
        port=port,
        client_id=created["client_id"],
        client_secret=created["client_secret"],
        endpoints={"standard": Endpoint("standard", "/oauth/token", STANDARD_BODY)},
        check=TokenCheck("jwt", "RS256", "/jwks", issuer, None),
        health_path="/healthz",
        pinning=SERVER_CPU,
        scratch=scratch,
        details={"processes": 2, "worker_is_child": True, "threads": threads},
    )


DOT_DATABASE = "tokensmith_bench_dot"


def dot(*, hashed_secret: bool, threads: int = 4) -> Server:
    """django-oauth-toolkit on PostgreSQL (database DOT_DATABASE, recreated)."""
    scratch = _scratch("dot-")
    port = free_port()
    project = BENCH_DIR / "peers" / "dot_project"
    env = {"DOT_BENCH_DB": DOT_DATABASE, "DOT_BENCH_SECRET_KEY": base64.b64encode(os.urandom(32)).decode()}
    client_id = "bench" if hashed_secret else "bench_plain"
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    _recreate_database(DOT_DATABASE)
    manage = [str(VENV_PYTHON), "manage.py"]
    for step in (
        [*manage, "migrate", "-v", "0"],
        [*manage, "createapplication", "--client-id", client_id, "--client-secret", secret, "--name", client_id,
         *([] if hashed_secret else ["--no-hash-client-secret"]), "confidential", "client-credentials"],
    ):  # fmt: skip
        result = subprocess.run(step, cwd=project, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"DOT setup step {step[2]} failed: {result.stderr.strip()[-800:]}")
    label = "django-oauth-toolkit (gunicorn, PostgreSQL" + (", default hashed secret)" if hashed_secret else ", plain secret)")
    return Server(
        label=label,
        command=gunicorn_command("benchsite.wsgi:application", project, port, threads),
        env=env,
        port=port,
        client_id=client_id,
        client_secret=secret,
        endpoints={"standard": Endpoint("standard", "/o/token/", STANDARD_BODY)},
        check=TokenCheck("dot", database=DOT_DATABASE),
        health_path="/healthz",
        pinning=SERVER_CPU,
        scratch=scratch,
        cwd=project,
        details={"processes": 2, "worker_is_child": True, "threads": threads, "hashed_secret": hashed_secret},
    )


def _recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_dot_database() -> None:
    import psycopg

    try:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{DOT_DATABASE}" WITH (FORCE)')
    except psycopg.Error:
        pass


OIDC_DIR = STATE / "oidc_provider"
OIDC_RESOURCE = "https://api.bench.example"


def oidc_provider() -> Server:
    port = free_port()
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    env = {
        "PORT": str(port),
        "BENCH_CLIENT_ID": "bench",
        "BENCH_CLIENT_SECRET": secret,
        "BENCH_RESOURCE": OIDC_RESOURCE,
        "NODE_ENV": "production",
    }
    return Server(
        label="node-oidc-provider",
        command=["node", str(OIDC_DIR / "server.js")],
        env=env,
        port=port,
        client_id="bench",
        client_secret=secret,
        endpoints={"standard": Endpoint("standard", "/token", STANDARD_BODY)},
        check=TokenCheck("jwt", "RS256", "/jwks", f"http://127.0.0.1:{port}", OIDC_RESOURCE),
        health_path="/.well-known/openid-configuration",
        pinning=SERVER_CPU,
        scratch=_scratch("oidc-"),
        cwd=OIDC_DIR,
        details={"processes": 1, "worker_is_child": False},
    )


def floor(kind: str, runner: str = "uvicorn") -> Server:
    """bench/experiments/floor_app.py: the HTTP stack's own ceiling (kind "static": no
    work; "sign": one RS256 signature per request). Not tokensmith."""
    port = free_port()
    factory = f"floor_app:{kind}_app_from_environment"
    env = {"PYTHONPATH": str(BENCH_DIR / "experiments")}
    if runner == "uvicorn":
        command = [str(VENV_PYTHON), str(BENCH_DIR / "experiments" / "serve_uvicorn.py"), factory, str(port), "1"]
    else:
        command = [
            str(VENV_BIN / "granian"), "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--http", "1", "--no-ws", factory,
        ]  # fmt: skip
    return Server(
        label=f"floor {kind} ({runner})",
        command=command,
        env=env,
        port=port,
        client_id="bench",
        client_secret="not-checked",
        endpoints={"seed": SEED},
        check=TokenCheck("none"),
        health_path="/",
        pinning=SERVER_CPU,
        scratch=_scratch("floor-"),
        details={"runner": runner, "app": f"floor-{kind}", "workers": 1,
                 "processes": 2 if runner == "granian" else 1, "worker_is_child": runner == "granian"},
    )
