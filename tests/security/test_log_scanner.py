"""Every server log the test session wrote, run through a scanner: no client secret,
no token and no Authorization header value may appear in any of them.

It runs after every other test (tests/conftest.py puts this module last), so it sees
the logs of every server the session started: tests/support/server.py lists each
server's log and each client secret it made (generated or imported) in a registry,
and any other `*.log` under pytest's base temporary directory (the example API's
logs, for instance) is read too. It first makes a server of its own log at debug
level through every path that handles credentials and tokens, successful and
refused, so that it never passes by scanning nothing.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, basic
from tests.support.server import Tokensmith

IMPORTED_SECRET = "scanner-imported:Secret+with%odd chars"

# What must never be logged. Generated secrets are `tks_` and 43 base64url characters
# (domain/secrets.py); a JWT is three base64url segments, the first a JSON header.
GENERATED_SECRET = re.compile(r"tks_[A-Za-z0-9_-]{43}")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
AUTHORIZATION = re.compile(r"(?i)(\bbasic\s+[A-Za-z0-9+/=]{4,}|\bbearer\s+[A-Za-z0-9._~+/=-]{8,}|\bauthorization\b\W{0,3}\s*[:=])")
PATTERNS = {"client secret": GENERATED_SECRET, "JWT": JWT, "Authorization header": AUTHORIZATION}


@dataclass
class Finding:
    path: Path
    line_number: int
    what: str

    def __str__(self) -> str:  # never the matched text itself: the report must not leak it
        return f"{self.path}:{self.line_number}: {self.what}"


@dataclass
class Scan:
    files: list[Path] = field(default_factory=list)
    lines: int = 0
    findings: list[Finding] = field(default_factory=list)


def scan(paths: list[Path], secrets: set[str]) -> Scan:
    result = Scan()
    needles = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        result.files.append(path)
        for number, line in enumerate(text.splitlines(), 1):
            result.lines += 1
            for what, pattern in PATTERNS.items():
                if pattern.search(line):
                    result.findings.append(Finding(path, number, what))
            for needle in needles:
                if needle in line:
                    result.findings.append(Finding(path, number, "a secret made by the tests"))
    return result


def registered(registry: Path, kind: str) -> list[str]:
    path = registry / f"{kind}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def exercised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    """A server at debug level, taken through every path that handles a secret or a
    token, with successes and refusals; stopped (its log complete) before the scan."""
    server = Tokensmith(tmp_path_factory.mktemp("scanned"), {"TOKENSMITH_LOG_LEVEL": "debug", "TOKENSMITH_BODY_READ_TIMEOUT_SECONDS": "1"})
    server.start()
    try:
        client = server.create_client("scanned", scopes=("edit", "read"))
        server.cli("clients", "create", "--client-id", "scanned-imported", "--scope", "edit", "--secret-stdin", input=IMPORTED_SECRET + "\n")
        secret = client["client_secret"]
        added = server.cli("clients", "secret", "add", "scanned", "--json", check=False)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            good = {"Authorization": basic("scanned", secret)}
            token = http.post(f"{SEED_PATH}?scope=edit", headers=good).json()["access_token"]
            other = http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": "scanned", "client_secret": secret}).json()["access_token"]
            http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": basic("scanned-imported", IMPORTED_SECRET)})
            http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": basic("scanned-imported", IMPORTED_SECRET + "x")})
            http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": basic("scanned", secret[:-1] + "A")})
            http.post(f"{SEED_PATH}?scope=admin", headers=good)
            http.post(f"{SEED_PATH}?scope=edit&client_secret={secret}", headers=good)
            http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": f"Bearer {token}"})
            http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": "Basic !!" + secret})
            http.post(f"{SEED_PATH}?scope=edit", headers={**good, "X-Forwarded-Authorization": basic("scanned", secret)})
            http.post(f"{SEED_PATH}?scope=edit", headers=[("Authorization", good["Authorization"]), ("Authorization", good["Authorization"])])
            http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_secret": secret, "scope": token}, headers=good)
            http.post(OAUTH_PATH, data={"grant_type": "password", "password": secret, "username": "scanned"})
            http.post("/oauth2/introspect", data={"token": token}, headers=good)
            http.post("/oauth2/introspect", data={"token": token + "x"}, headers=good)
            http.post("/oauth2/introspect", data={"token": other}, headers={"Authorization": basic("scanned", "wrong")})
            http.post("/oauth2/revoke", data={"token": other}, headers=good)
            http.post("/oauth2/revoke", data={"token": token, "token_type_hint": "access_token"}, headers={"Authorization": basic("nobody", secret)})
            # Credentials put into the request *path* itself: the access log records
            # paths (never query strings) with secret- and token-shaped parts redacted.
            http.get("/no/such/path", headers=good)
            http.get(f"/no/such/path/{token}/{secret}")
            http.post(f"/oauth2/token/{secret}", headers=good)
            http.get(f"/.well-known/jwks.json?token={token}")
            http.get("/metrics")
        # A body that stalls (408), and a request head too large (431), carrying the secret.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"POST {OAUTH_PATH} HTTP/1.1\r\nHost: t\r\nAuthorization: {good['Authorization']}\r\n".encode()
                         + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 99\r\n\r\nclient_secret=" + secret.encode())  # fmt: skip
            while sock.recv(65536):
                pass
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"POST {SEED_PATH}?scope=edit HTTP/1.1\r\nHost: t\r\nAuthorization: {good['Authorization']}\r\nX-Pad: {'a' * 20000}\r\n\r\n".encode())
            try:
                while sock.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        assert added.returncode in (0, 1)
        yield server
    finally:
        server.stop()


def test_the_scanner_finds_what_it_looks_for() -> None:
    """The patterns themselves, on lines that do hold a secret, a token or a header."""
    secret = "tks_" + "a" * 43
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    for line in (
        f'{{"event":"x","secret":"{secret}"}}',
        f"got {token} from the client",
        "authorization: Basic c2Nhbm5lZDp4",
        '{"headers":{"Authorization":"x"}}',
        "Bearer eyJhbGciOiJ.x.y",
    ):
        assert any(pattern.search(line) for pattern in PATTERNS.values()), line
    for harmless in ('{"event":"request","path":"/oauth2/token","status":401,"client_id":"scanned"}', "Invalid HTTP request received."):
        assert not any(pattern.search(harmless) for pattern in PATTERNS.values()), harmless


def test_no_server_log_of_the_session_holds_a_secret_a_token_or_an_authorization_header(
    exercised: Tokensmith, log_registry: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    logs = {Path(path) for path in registered(log_registry, "logs")}
    logs |= set(tmp_path_factory.getbasetemp().rglob("*.log"))
    secrets = set(registered(log_registry, "secrets"))

    result = scan(sorted(logs), secrets)

    assert exercised.log_path in result.files
    assert IMPORTED_SECRET in secrets and any(GENERATED_SECRET.fullmatch(s) for s in secrets)
    assert result.lines > 0, "no log line was scanned"
    assert len(exercised.log_lines()) > 20  # the exercise above did produce a log
    assert not result.findings, "\n".join(str(finding) for finding in result.findings[:50])
    print(f"\nlog scanner: {len(result.files)} log files, {result.lines} lines, {len(secrets)} known secrets: clean")


def test_credential_shaped_path_parts_are_redacted_in_the_access_log() -> None:
    from tokensmith.http.request_context import loggable_path

    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert loggable_path("/oauth2/token") == "/oauth2/token"
    assert loggable_path("/a/eyJ-not-a-token") == "/a/eyJ-not-a-token"
    assert loggable_path(f"/x/{jwt}/tks_AbC-_9") == "/x/[redacted]/[redacted]"
    assert loggable_path(f"/x{jwt}/y") == "/x[redacted]/y"
