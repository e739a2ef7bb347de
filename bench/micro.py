"""Per-token costs of the pieces the profile points at, each timed alone on the pinned
core in CPU microseconds per call (process CPU time, so other work on the shared
machine does not inflate them). Backs the recommendations in docs/benchmarks.md.

Run pinned, as the orchestrator does:  taskset -c 1 python bench/micro.py --json

Each piece uses tokensmith's own code as it is in the tree; a piece whose code has
moved or changed shape is reported as not run, with the reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def cpu_us_per_call(function: Callable[[], object], seconds: float) -> float:
    for _ in range(200):
        function()
    count = 0
    cpu_started = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            function()
        count += 50
    return (time.process_time() - cpu_started) / count * 1e6


def pieces() -> dict[str, tuple[str, Callable[[], Callable[[], object]]]]:
    def access_log_line() -> Callable[[], object]:
        from tokensmith.logs import configure_logging

        configure_logging("info")
        log = logging.getLogger("tokensmith.access")
        extra = {"request_id": "0123456789abcdef", "method": "POST", "path": "/v1/api/oauth/token", "status": 200,
                 "client_id": "bench", "remote": "127.0.0.1", "latency_ms": 0.512}  # fmt: skip
        return lambda: log.info("request", extra=extra)

    def log_access_line() -> Callable[[], object]:
        from tokensmith.logs import configure_logging, log_access

        configure_logging("info")
        return lambda: log_access("0123456789abcdef", "POST", "/v1/api/oauth/token", 200, "bench", "127.0.0.1", 0.512)

    def direct_json_line() -> Callable[[], object]:
        import queue

        import orjson

        lines: queue.SimpleQueue[bytes] = queue.SimpleQueue()

        def write() -> None:
            now = time.time()
            entry = {"time": now, "level": "info", "logger": "tokensmith.access", "event": "request",
                     "request_id": "0123456789abcdef", "method": "POST", "path": "/v1/api/oauth/token", "status": 200,
                     "client_id": "bench", "remote": "127.0.0.1", "latency_ms": 0.512}  # fmt: skip
            lines.put(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
            if lines.qsize() > 10_000:
                while not lines.empty():
                    lines.get_nowait()

        return write

    def signer_and_client() -> tuple[Any, Any, Any]:
        from tokensmith.domain.clients import Client
        from tokensmith.domain.keys import KeyState, new_signing_key
        from tokensmith.domain.tokens import TokenSigner

        key = new_signing_key("RS256", KeyState.ACTIVE, int(time.time()))
        return key, TokenSigner(key), Client(client_id="bench", scopes=("edit",), default_scopes=("edit",))

    def issue_token_rs256() -> Callable[[], object]:
        from tokensmith.domain.tokens import issue_token

        _, signer, client = signer_and_client()
        return lambda: issue_token(signer, client, issuer="http://127.0.0.1:8080", audience="http://127.0.0.1:8080", scopes=("edit",), now=int(time.time()))

    def token_assembly() -> Callable[[], object]:
        from tokensmith.domain.tokens import issue_token

        _, signer, client = signer_and_client()
        signer._jws._sign = lambda data: b"\0" * 256  # everything issue_token does but the signature
        return lambda: issue_token(signer, client, issuer="http://127.0.0.1:8080", audience="http://127.0.0.1:8080", scopes=("edit",), now=int(time.time()))

    def raw_sign_rs256() -> Callable[[], object]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        key, _, _ = signer_and_client()
        data = b"e" * 330
        pkcs1 = padding.PKCS1v15()
        return lambda: key.private_key.sign(data, pkcs1, hashes.SHA256())

    def secret_check() -> Callable[[], object]:
        from tokensmith.domain.secrets import SecretChecker, SecretKind, StoredSecret, generate_secret

        checker = SecretChecker(os.urandom(32))
        secret = generate_secret()
        stored = (StoredSecret("sec_1", SecretKind.GENERATED, checker.hash_generated(secret), 0),)
        now = int(time.time())
        return lambda: checker.matches(secret, stored, now)

    def metrics_update() -> Callable[[], object]:
        from tokensmith import metrics

        try:
            from tokensmith.http.metrics import record_request

            scope = {"state": {"authenticated_client_id": "bench"}}
            return lambda: record_request(scope, "/v1/api/oauth/token", "POST", 200, 0.0005, True)
        except ImportError:
            pass

        def update() -> None:
            # What MetricsMiddleware records for one token request.
            metrics.request_latency.labels("/v1/api/oauth/token", "POST").observe(0.0005)
            metrics.requests.labels("/v1/api/oauth/token", "POST", "200").inc()
            metrics.tokens_issued.labels("/v1/api/oauth/token", "bench").inc()

        return update

    def request_parsing() -> Callable[[], object]:
        from tokensmith.domain.scopes import parse_scope
        from tokensmith.exchange.authentication.client_secret import parse_basic
        from tokensmith.http.parsing import parse_parameters

        header = "Basic YmVuY2g6dGtzX2doTV9RUVNfWkhBTEpCVUFSazN2bDFlV0lPOXRNLVp6YnZPUnVrVWxTajg="

        def parse() -> None:
            query = parse_parameters("scope=edit", "query string")
            parse_scope(query["scope"], max_length=50)
            parse_basic(header)

        return parse

    def jti_urandom() -> Callable[[], object]:
        import secrets

        return lambda: secrets.token_urlsafe(16)  # what issue_token does: one getrandom syscall per token

    def jti_buffered() -> Callable[[], object]:
        import base64

        state = {"buffer": b"", "offset": 0}

        def take() -> str:
            if state["offset"] + 16 > len(state["buffer"]):
                state["buffer"], state["offset"] = os.urandom(4096), 0
            start = state["offset"]
            state["offset"] = start + 16
            return base64.urlsafe_b64encode(state["buffer"][start : start + 16]).rstrip(b"=").decode()

        return take

    return {
        "jti_urandom": ("jti today: secrets.token_urlsafe(16), one getrandom syscall (releases the GIL)", jti_urandom),
        "jti_buffered": ("jti from a 4 KiB os.urandom buffer, 16 bytes at a time", jti_buffered),
        "access_log_line": ("an access-log line through logging (logger.info with extra → JsonFormatter)", access_log_line),
        "log_access_line": ("the access-log line as the tree now writes it (tokensmith.logs.log_access)", log_access_line),
        "direct_json_line": ("the same line built directly: one orjson.dumps of a dict → queue", direct_json_line),
        "issue_token_rs256": ("issue_token: claims, jti, JSON, base64 and the RS256 signature", issue_token_rs256),
        "raw_sign_rs256": ("the RS256 signature alone", raw_sign_rs256),
        "token_assembly": ("issue_token without the signature: claims, jti, JSON, base64", token_assembly),
        "secret_check": ("SecretChecker.matches (HMAC-SHA256, constant-time compare)", secret_check),
        "metrics_update": ("the Prometheus updates of one token request (record_request where the tree has it)", metrics_update),
        "request_parsing": ("query, scope and Basic header parsing", request_parsing),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # The access log writes to stderr from a background thread: send it nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved_stderr = os.dup(2)
    os.dup2(devnull, 2)
    results: dict[str, Any] = {}
    try:
        for name, (what, make) in pieces().items():
            try:
                results[name] = {"what": what, "cpu_us": cpu_us_per_call(make(), args.seconds)}
            except Exception as exc:
                results[name] = {"what": what, "not_run": f"{type(exc).__name__}: {exc}"}
    finally:
        os.dup2(saved_stderr, 2)
    if args.json:
        print(json.dumps(results))
    else:
        for name, value in results.items():
            print(f"{name:20} {value.get('cpu_us', float('nan')):8.1f} µs  {value.get('not_run', '')}", file=sys.stdout)


if __name__ == "__main__":
    main()
