"""Load over HTTP keep-alive with wrk pinned to the load generator's core.

Two kinds of point:
  * peak: closed loop (bench/wrk/closed.lua), every connection sends its next
    request as soon as the previous answer is in;
  * paced: a fixed offered rate (bench/wrk/paced.lua), one connection per wrk
    thread on its own schedule, latency counted from when each request was due.

Every response is checked by the Lua scripts (status 200 and an access_token in the
body); a sample of the tokens is verified here afterwards (signature against the
server's JWKS and the claims, or, for DOT's opaque tokens, presence in its database).
A point with any non-200, malformed body, socket error or invalid sampled token is
marked failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from typing import Any

import jwt
from common import LOADGEN_CPU, WRK_DIR, log
from servers import Endpoint, Server

PEAK_CONNECTIONS = 16
PACED_CONNECTIONS = 16


class RssSampler:
    """Samples the server's resident memory while a load runs."""

    def __init__(self, server: Server, interval: float = 0.5) -> None:
        self.server = server
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, self.server.rss_kib())
            self._stop.wait(self.interval)


def wrk(
    server: Server,
    endpoint: Endpoint,
    *,
    seconds: float,
    connections: int,
    rate: float | None = None,
    timeout_s: float = 10.0,
    script: str | None = None,
    extra_env: dict[str, str] | None = None,
    authorization: str | None = None,
) -> dict[str, Any]:
    """One wrk run; returns its report plus the server's CPU use meanwhile. `script`
    replaces closed.lua (bodies.lua), `authorization` the server's own credentials."""
    script = script or ("paced.lua" if rate else "closed.lua")
    threads = connections if rate else 1
    env = {
        **os.environ,
        "BENCH_WRK_DIR": str(WRK_DIR),
        "BENCH_AUTH": server.authorization if authorization is None else authorization,
        "BENCH_BODY": endpoint.body,
        "BENCH_CTYPE": endpoint.content_type,
        "BENCH_SAMPLE_EVERY": "97",
        "BENCH_MAX_SAMPLES": "4" if rate else "12",
        "BENCH_CONNECTIONS": str(connections),
        **(extra_env or {}),
    }
    if rate:
        env["BENCH_INTERVAL_US"] = str(connections / rate * 1e6)
    command = [
        "taskset", "-c", LOADGEN_CPU, "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
        "--timeout", f"{timeout_s:g}s", "-s", str(WRK_DIR / script), server.base_url + endpoint.path,
    ]  # fmt: skip
    cpu_before = server.cpu_seconds()
    wall_before = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    wall = time.monotonic() - wall_before
    cpu = server.cpu_seconds() - cpu_before
    report = None
    for line in result.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            report = json.loads(line[len("BENCHJSON ") :])
    if report is None:
        raise RuntimeError(f"wrk printed no report (exit {result.returncode}): {result.stderr[-500:]} {result.stdout[-500:]}")
    if isinstance(report.get("statuses"), list):  # the Lua encoder writes {} as []
        report["statuses"] = {}
    duration = report["duration_us"] / 1e6
    report["rps"] = report["requests"] / duration if duration else 0.0
    report["connections"] = connections
    report["seconds"] = seconds
    report["offered_rps"] = rate
    report["server_cpu_s"] = cpu
    # Share of one core the server used; with one pinned worker, 1.0 is saturation.
    report["server_cpu_share"] = cpu / wall if wall else 0.0
    report["tokens_per_cpu_s"] = report["ok"] / cpu if cpu else 0.0
    return report


def socket_errors(report: dict[str, Any]) -> int:
    errors = report["errors"]
    return int(errors["connect"] + errors["read"] + errors["write"] + errors["timeout"])


def series(
    server: Server,
    endpoint: Endpoint,
    *,
    seconds: float,
    warmup: float,
    fractions: tuple[float, ...] = (0.5, 0.9),
    peak_connections: int = PEAK_CONNECTIONS,
    timeout_s: float = 10.0,
) -> dict[str, Any]:
    """Warm-up, the peak, then the paced points at `fractions` of that peak."""
    log(f"  {server.label} / {endpoint.name}: warm-up {warmup:g}s, peak {seconds:g}s" + (f", paced at {fractions}" if fractions else ""))
    rss_start = server.rss_kib()
    wrk(server, endpoint, seconds=warmup, connections=peak_connections, timeout_s=timeout_s)
    with RssSampler(server) as sampler:
        peak = wrk(server, endpoint, seconds=seconds, connections=peak_connections, timeout_s=timeout_s)
        paced = []
        for fraction in fractions:
            rate = peak["rps"] * fraction
            connections = min(PACED_CONNECTIONS, max(1, int(rate / 2)))  # at least 2 requests/s per connection
            point = wrk(server, endpoint, seconds=seconds, connections=connections, rate=rate, timeout_s=timeout_s)
            point["fraction"] = fraction
            paced.append(point)
    rss_end = server.rss_kib()
    result = checked(server, endpoint, peak, paced)
    summary = f"peak {peak['rps']:.0f}/s" + "".join(
        f", {p['fraction']:.0%}: p50 {p['corrected_latency_us']['p50'] / 1000:.2f} ms p99 {p['corrected_latency_us']['p99'] / 1000:.2f} ms"
        for p in paced
    )
    log(f"    {summary}; server CPU {peak['server_cpu_share']:.2f}; " + ("FAILED: " + "; ".join(result["problems"]) if result["problems"] else "ok"))
    result["rss_kib"] = {"start": rss_start, "end": rss_end, "peak": max(sampler.peak_kib, rss_end)}
    return result


def checked(server: Server, endpoint: Endpoint, peak: dict[str, Any], paced: list[dict[str, Any]], extra: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """Verifies the points' sampled tokens and collects every problem (any non-200,
    malformed body, socket error or invalid token fails the series)."""
    points = [peak, *paced, *extra]
    samples = [token for point in points for token in point.pop("samples", [])]
    validation = validate_tokens(server, samples)
    problems = []
    for point in points:
        if point["non200"] or point["bad_body"]:
            problems.append(f"{point['non200']} non-200 and {point['bad_body']} malformed responses ({point['first_error'][:200]})")
        if socket_errors(point):
            problems.append(f"socket errors {point['errors']}")
    if validation["invalid"]:
        problems.append(f"{validation['invalid']} of {validation['checked']} sampled tokens invalid: {validation['failures'][:3]}")
    if validation["checked"] == 0:
        problems.append("no token sampled")
    return {
        "endpoint": endpoint.name,
        "path": endpoint.path,
        "peak": peak,
        "paced": paced,
        "validation": validation,
        "failed": bool(problems),
        "problems": problems,
    }


# -- token checks -------------------------------------------------------------------


def validate_tokens(server: Server, tokens: list[str]) -> dict[str, Any]:
    if server.check.kind == "none":  # a ceiling experiment: its body is not a real token
        return {"checked": len(tokens), "invalid": 0, "failures": [], "method": "none (not a token)"}
    if server.check.kind == "dot":
        return _validate_dot(server, tokens)
    return _validate_jwt(server, tokens)


def _validate_jwt(server: Server, tokens: list[str]) -> dict[str, Any]:
    check = server.check
    with urllib.request.urlopen(server.base_url + check.jwks_path, timeout=10) as response:
        keys = jwt.PyJWKSet.from_dict(json.load(response))
    by_kid = {key.key_id: key for key in keys.keys}
    failures = []
    for token in tokens:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
                raise ValueError(f"typ {header.get('typ')!r}")
            if header.get("alg") != check.algorithm:
                raise ValueError(f"alg {header.get('alg')!r}")
            key = by_kid.get(header.get("kid")) if header.get("kid") else (keys.keys[0] if len(keys.keys) == 1 else None)
            if key is None:
                raise ValueError(f"unknown kid {header.get('kid')!r}")
            options = {"require": ["exp", "iat", "iss", "sub", "jti", "client_id"], "verify_aud": check.audience is not None}
            claims = jwt.decode(token, key, algorithms=[check.algorithm], issuer=check.issuer, audience=check.audience, options=options)
            if claims["client_id"] != server.client_id or claims.get("scope") != "edit":
                raise ValueError(f"claims {claims}")
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    return {"checked": len(tokens), "invalid": len(failures), "failures": failures[:5], "method": "PyJWT signature + claims"}


def _validate_dot(server: Server, tokens: list[str]) -> dict[str, Any]:
    import psycopg

    failures = []
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=server.check.database) as connection:
        for token in tokens:
            row = connection.execute(
                "SELECT t.scope, a.client_id FROM oauth2_provider_accesstoken t"
                " JOIN oauth2_provider_application a ON a.id = t.application_id WHERE t.token = %s",
                (token,),
            ).fetchone()
            if row is None or row[0] != "edit" or row[1] != server.client_id:
                failures.append(f"token not found with scope edit for {server.client_id}: {row}")
    return {"checked": len(tokens), "invalid": len(failures), "failures": failures[:5], "method": "row in DOT's access-token table"}
