"""Where the time per request goes: py-spy samples the pinned tokensmith server
(Python and native frames) while wrk drives the seed endpoint at its peak, and every
busy sample is put in one bucket by its innermost frame that names a part of the
stack (the signature, orjson, the access log, our parsing, Starlette, uvicorn, the
event loop...). Idle samples (epoll wait, threads blocked on a lock or queue) are
left out; the buckets are shares of the core's busy time, and the microseconds per
request are those shares times the measured time per request.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import http_load
from common import LOADGEN_CPU, STATE, VENV_BIN, log
from servers import Endpoint, Server

# (bucket, pattern on one frame), checked from the innermost frame outwards; the first
# frame that matches any pattern decides the sample's bucket.
RULES: list[tuple[str, re.Pattern[str]]] = [
    ("signature (cryptography / OpenSSL)", re.compile(r"(<lambda>|sign_es256) \(tokensmith/jose/jws\.py")),
    ("JSON encoding (orjson)", re.compile(r"\(orjson|orjson\.cpython|orjson/")),
    ("access log: waking the writer thread per line (queue put → futex)", re.compile(r"_queue_SimpleQueue_put")),
    ("access log: LogRecord, JSON formatting, handler", re.compile(r"\(logging/|tokensmith/logs\.py")),
    ("request id + access-log wrapper (RequestContext)", re.compile(r"tokensmith/http/request_context\.py")),
    ("token assembly (claims, base64, jti)", re.compile(r"tokensmith/domain/tokens\.py|tokensmith/jose/(jws|base64url)\.py|\(base64\.py|\(secrets\.py")),
    ("client authentication (HMAC check)", re.compile(r"tokensmith/domain/(secrets|grants)\.py|\(hmac\.py")),
    ("our request parsing (query, Basic, scope, body)", re.compile(r"tokensmith/http/(parsing|seed_token|oauth_token)\.py|tokensmith/exchange/authentication/client_secret\.py|tokensmith/domain/scopes\.py|\(urllib/parse\.py")),
    ("metrics (Prometheus counters and histogram)", re.compile(r"\(prometheus_client/|tokensmith/(http/)?metrics\.py")),
    ("brute-force guard and source address", re.compile(r"tokensmith/(domain/throttling|http/source_address|http/authentication|store/throttle\w*)\.py|\(ipaddress\.py")),
    ("client and key caches", re.compile(r"tokensmith/store/cache\.py")),
    ("token exchange (exchange/: the flow's steps, its needs, the driver)", re.compile(r"tokensmith/exchange/(flow|driver|needs|authentication/(methods|authenticate))\.py")),
    ("token route layer (http/token_route.py: request id, head, log call, metrics call)", re.compile(r"tokensmith/http/token_route\.py")),
    ("uvicorn HTTP protocol (httptools callbacks)", re.compile(r"tokensmith/http/protocol\.py")),
    ("other tokensmith code", re.compile(r"\(tokensmith/")),
    ("Starlette (routing, Request/Response, middleware)", re.compile(r"\(starlette/|\(anyio/")),
    ("uvicorn HTTP protocol (httptools callbacks)", re.compile(r"\(uvicorn/|httptools")),
    ("granian (Rust HTTP server and ASGI bridge)", re.compile(r"granian")),
    ("socket writes (kernel TCP send; uvicorn writes head and body separately)", re.compile(r"UVStream__try_write|UVStream__exec_write|uv__write")),
    ("socket reads (kernel TCP receive)", re.compile(r"uv__read|uv__stream_io")),
    ("event loop and tasks (uvloop, asyncio)", re.compile(r"loop\.c|uvloop|libuv|\(asyncio/|_asynciomodule|uv_run|uv__")),
]  # fmt: skip
OTHER = "interpreter, GC, kernel I/O and the rest"
# A thread parked in the kernel is idle: libuv's poll, a lock or condition wait, and
# granian's Rust runtime threads parked in a bare futex `syscall`.
IDLE_LEAVES = re.compile(r"^(uv__io_poll|epoll_p?wait|syscall|PyThread_acquire_lock_timed|pthread_cond_(timed)?wait|select|poll|sem_(timed)?wait|Condition\.wait|QueueListener\.dequeue|_queue_SimpleQueue_get_impl)\b")
LOG_THREAD = "QueueListener._monitor"


def _frames(stack: str) -> list[str]:
    return stack.split(";")


def _is_idle(frames: list[str]) -> bool:
    named = [frame for frame in frames if not frame.startswith("0x")]
    return bool(named) and IDLE_LEAVES.match(named[-1]) is not None


def classify(raw: str) -> dict[str, Any]:
    busy: Counter[str] = Counter()
    idle = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if _is_idle(frames):
            idle += count
            continue
        if any(LOG_THREAD in frame for frame in frames):
            busy["access log (writer thread)"] += count
            continue
        bucket = OTHER
        for frame in reversed(frames):
            matched = next((name for name, pattern in RULES if pattern.search(frame)), None)
            if matched:
                bucket = matched
                break
        busy[bucket] += count
    return {"busy_samples": sum(busy.values()), "idle_samples": idle, "buckets": dict(busy.most_common())}


def profile(server: Server, endpoint: Endpoint, *, seconds: float = 10.0, rate: int = 100, name: str = "seed-rs256") -> dict[str, Any]:
    """Samples the server's serving process while wrk runs a closed loop on it."""
    output = STATE / f"profile-{name}.txt"
    log(f"  profiling {server.label} / {endpoint.name} with py-spy for {seconds:g}s")
    http_load.wrk(server, endpoint, seconds=2, connections=http_load.PEAK_CONNECTIONS)  # warm-up
    result: dict[str, Any] = {}

    def load() -> None:
        result["load"] = http_load.wrk(server, endpoint, seconds=seconds + 3, connections=http_load.PEAK_CONNECTIONS)

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(1.0)
    command = [
        "taskset", "-c", LOADGEN_CPU,  # the sampler stays off the server's core
        str(VENV_BIN / "py-spy"), "record", "--pid", str(server.main_pid()), "--duration", f"{seconds:g}",
        "--rate", str(rate), "--native", "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    spy = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    thread.join()
    if spy.returncode != 0 or not output.exists():
        return {"error": f"py-spy failed ({spy.returncode}): {spy.stderr.strip()[-500:]}"}
    raw = output.read_text()
    classified = classify(raw)
    load_report = result.get("load", {})
    rps = load_report.get("rps", 0.0)
    busy = classified["busy_samples"] or 1
    # CPU time per request (robust to other work on the shared core); the shares are of
    # the server's non-idle samples, so they split this time.
    per_cpu_s = load_report.get("tokens_per_cpu_s") or 0.0
    us_per_request = 1e6 / per_cpu_s if per_cpu_s else (1e6 / rps if rps else 0.0)
    buckets = [
        {"bucket": name, "share": count / busy, "us_per_request": us_per_request * count / busy}
        for name, count in classified["buckets"].items()
    ]
    flame = STATE / f"profile-{name}.svg"
    return {
        "command": " ".join(command),
        "rate_hz": rate,
        "seconds": seconds,
        "rps_while_sampling": rps,
        "server_cpu_share": load_report.get("server_cpu_share"),
        "us_per_request": us_per_request,
        "busy_samples": classified["busy_samples"],
        "idle_samples": classified["idle_samples"],
        "buckets": buckets,
        "label": server.label,
        "details": server.details,
        "raw_profile": str(output.relative_to(STATE.parent)),
        "flamegraph_hint": f"{VENV_BIN.relative_to(STATE.parent)}/py-spy record --native --pid PID -o {flame.relative_to(STATE.parent)}",
        "non200": load_report.get("non200"),
    }


def rebucket(prof: dict[str, Any], repo: Path) -> dict[str, Any]:
    """The same profile bucketed with the current RULES (from its saved raw file), so
    that `run.py --report-only` reflects a refined rule without measuring again."""
    raw_path = repo / prof.get("raw_profile", "")
    if "buckets" not in prof or not raw_path.is_file():
        return prof
    classified = classify(raw_path.read_text())
    busy = classified["busy_samples"] or 1
    prof = dict(prof)
    prof["busy_samples"], prof["idle_samples"] = classified["busy_samples"], classified["idle_samples"]
    prof["buckets"] = [
        {"bucket": name, "share": count / busy, "us_per_request": prof["us_per_request"] * count / busy}
        for name, count in classified["buckets"].items()
    ]
    return prof


if __name__ == "__main__":
    import sys

    print(classify(Path(sys.argv[1]).read_text()))
