"""`make soak`: tokensmith under steady load for a long time.

    python bench/soak.py                  # 10 minutes at 70 % of the measured peak
    python bench/soak.py --minutes 2      # a short run (the docs say so)
    python bench/soak.py --no-docs        # measure and check only

One `tokensmith serve` (one worker, pinned to core 1, access log on, a fresh SQLite
store) is measured at its closed-loop peak with wrk (bench/http_load.py, as `make
bench` does), then held at `--fraction` of that peak with the paced wrk script for
`--minutes`, in equal intervals. Between intervals, with wrk's connections closed,
the server's resident memory and open file descriptors are read from /proc.

It passes when: no response was anything but a 200 with a token and no socket error
happened; every sampled token verifies against the server's JWKS; resident memory at
the end is less than 10 % above its level after the warm-up and peak; and the server
holds no more sockets, pipes or other descriptors at the end than after the warm-up
(the SQLite store's files only within its connection pool's bound). The figures go into
the "Soak" section of docs/benchmarks.md (only that section is replaced) and into
.bench/soak.json. Runs with any Python that has tokensmith installed (the project's
.venv); needs wrk and taskset.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DOCS, STATE, load_average, log, replace_section
from http_load import socket_errors, validate_tokens, wrk
from servers import SEED, STANDARD_TOKENSMITH, Server, tokensmith

PACED_CONNECTIONS = 16
SECTION = "## Soak"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to hold the load (default 10)")
    parser.add_argument("--fraction", type=float, default=0.7, help="share of the measured peak to offer (default 0.7)")
    parser.add_argument("--intervals", type=int, default=0, help="measurement intervals (default: one a minute, at least 4)")
    parser.add_argument("--peak-seconds", type=int, default=10, help="length of the peak measurement (default 10)")
    parser.add_argument("--warmup", type=int, default=5, help="closed-loop warm-up before the peak (default 5)")
    parser.add_argument("--endpoint", choices=("seed", "standard"), default="seed")
    parser.add_argument("--algorithm", choices=("RS256", "PS256", "ES256", "EdDSA"), default="RS256")
    parser.add_argument("--max-rss-growth", type=float, default=0.10, help="largest allowed memory growth (default 0.10)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    return parser.parse_args(argv)


def start_server(algorithm: str) -> Server:
    """`tokensmith serve` from this Python's installation (servers.tokensmith() uses the
    benchmark's own environment unless told otherwise)."""
    server = tokensmith(algorithm, cli=[sys.executable, "-m", "tokensmith"], client_id="soak", scratch_prefix="soak-")
    server.start()
    return server


# SQLAlchemy's QueuePool for a SQLite file keeps 5 connections and opens up to 10 more
# under concurrency. Each holds the database file and its WAL; SQLite defers closing a
# database descriptor while another connection of the process holds a lock on the file
# (POSIX locks are per process), so after a burst up to 15 database descriptors stay
# open, then are reused: measured to plateau there at 16 to 128 concurrent connections.
SQLITE_POOL, SQLITE_OVERFLOW = 5, 10
STORE_FD_BOUND = (SQLITE_POOL + SQLITE_OVERFLOW) + SQLITE_POOL + 1  # db, wal, shm


def _is_store_file(kind: str) -> bool:
    return Path(kind).name.startswith("t.db")


def fd_targets(server: Server) -> list[str]:
    """What each open descriptor of the server's processes is (`socket:[…]` → `socket`)."""
    targets = []
    for pid in server.pids():
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            targets.append(target.split(":[")[0] if ":[" in target else target)
    return sorted(targets)


def open_fds(server: Server) -> int:
    return len(fd_targets(server))


def settled_sample(server: Server, settle_seconds: float = 20.0) -> dict[str, Any]:
    """Memory and descriptors once the load generator's connections are gone: wrk has
    closed them, but a server that fell behind is still answering what they sent, so
    wait (up to `settle_seconds`) until the descriptor count has held still for 2 s."""
    deadline = time.monotonic() + settle_seconds
    count, since = open_fds(server), time.monotonic()
    time.sleep(1.0)
    while time.monotonic() < deadline:
        now = open_fds(server)
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= 2.0:
            break
        time.sleep(0.25)
    targets = fd_targets(server)
    kinds = {kind: targets.count(kind) for kind in sorted(set(targets))}
    return {"rss_kib": server.rss_kib(), "fds": len(targets), "fd_kinds": kinds}


def slope_kib_per_minute(points: list[tuple[float, int]]) -> float:
    """Least-squares slope of resident memory over time."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    variance = sum((t - mean_t) ** 2 for t, _ in points)
    if variance == 0:
        return 0.0
    return sum((t - mean_t) * (r - mean_r) for t, r in points) / variance * 60


def soak(args: argparse.Namespace) -> dict[str, Any]:
    endpoint = SEED if args.endpoint == "seed" else STANDARD_TOKENSMITH
    server = start_server(args.algorithm)
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    load_before = load_average()
    try:
        idle = settled_sample(server)
        log(f"server up (pid {server.main_pid()}), idle RSS {idle['rss_kib'] / 1024:.1f} MiB, {idle['fds']} fds; warm-up {args.warmup:g} s")
        warm = wrk(server, endpoint, seconds=args.warmup, connections=PACED_CONNECTIONS)
        peak = wrk(server, endpoint, seconds=args.peak_seconds, connections=PACED_CONNECTIONS)
        target = peak["rps"] * args.fraction
        baseline = settled_sample(server)
        log(f"peak {peak['rps']:.0f}/s; holding {target:.0f}/s ({args.fraction:.0%}) for {args.minutes:g} min; "
            f"baseline RSS {baseline['rss_kib'] / 1024:.1f} MiB, {baseline['fds']} fds")  # fmt: skip
        intervals = args.intervals or max(4, round(args.minutes))
        seconds = max(1, round(args.minutes * 60 / intervals))  # wrk takes whole seconds
        connections = min(PACED_CONNECTIONS, max(1, int(target / 2)))
        points = []
        soak_started = time.monotonic()
        rss_series = [(0.0, baseline["rss_kib"])]
        for index in range(intervals):
            point = wrk(server, endpoint, seconds=seconds, connections=connections, rate=target)
            sample = settled_sample(server)
            point.update(sample, interval=index + 1, at_s=time.monotonic() - soak_started)
            rss_series.append((point["at_s"], sample["rss_kib"]))
            points.append(point)
            latency = point["corrected_latency_us"]
            log(f"  interval {index + 1}/{intervals}: {point['rps']:.0f}/s, p50 {latency['p50'] / 1000:.2f} ms, "
                f"p99 {latency['p99'] / 1000:.2f} ms, non-200 {point['non200']}, socket errors {socket_errors(point)}, "
                f"RSS {sample['rss_kib'] / 1024:.1f} MiB, {sample['fds']} fds")  # fmt: skip
        soak_seconds = time.monotonic() - soak_started
        samples = [token for point in [warm, peak, *points] for token in point.pop("samples", [])]
        validation = validate_tokens(server, samples)
        end = points[-1]
    finally:
        server.stop()
        server.cleanup()

    requests = sum(p["requests"] for p in points)
    errors = {
        "non200": sum(p["non200"] for p in [warm, peak, *points]),
        "bad_body": sum(p["bad_body"] for p in [warm, peak, *points]),
        "socket": sum(socket_errors(p) for p in [warm, peak, *points]),
    }
    growth = (end["rss_kib"] - baseline["rss_kib"]) / baseline["rss_kib"]
    problems = []
    if any(errors.values()):
        problems.append(f"errors: {errors} ({next((p['first_error'] for p in points if p['first_error']), '')[:200]})")
    if validation["invalid"] or not validation["checked"]:
        problems.append(f"{validation['invalid']} of {validation['checked']} sampled tokens invalid: {validation['failures'][:3]}")
    if growth >= args.max_rss_growth:
        problems.append(f"resident memory grew {growth:.1%} (limit {args.max_rss_growth:.0%})")
    # Descriptors: connections, pipes and the like must not grow at all; the store's
    # files are held by the SQLite pool, up to its bound (a burst of concurrent cache
    # misses opens more of them; that is a plateau, not a leak).
    grown = {kind: count - baseline["fd_kinds"].get(kind, 0) for kind, count in end["fd_kinds"].items()}
    leaked = {kind: n for kind, n in grown.items() if n > 0 and not _is_store_file(kind)}
    store_fds = sum(count for kind, count in end["fd_kinds"].items() if _is_store_file(kind))
    if leaked or store_fds > STORE_FD_BOUND:
        problems.append(f"file descriptors grew from {baseline['fds']} to {end['fds']} ({baseline['fd_kinds']} -> {end['fd_kinds']})")
    return {
        "started_at": started_at,
        "command": "python bench/soak.py " + " ".join(sys.argv[1:]),
        "minutes": args.minutes,
        "soak_seconds": soak_seconds,
        "fraction": args.fraction,
        "endpoint": endpoint.name,
        "path": endpoint.path,
        "algorithm": args.algorithm,
        "peak_rps": peak["rps"],
        "peak_server_cpu_share": peak["server_cpu_share"],
        "target_rps": target,
        "connections": connections,
        "requests": requests,
        "achieved_rps": requests / sum(p["duration_us"] / 1e6 for p in points),
        "errors": errors,
        "validation": validation,
        "idle": idle,
        "baseline": baseline,
        "end": {"rss_kib": end["rss_kib"], "fds": end["fds"], "fd_kinds": end["fd_kinds"]},
        "max_rss_kib": max(r for _, r in rss_series),
        "rss_growth": growth,
        "rss_slope_kib_per_min": slope_kib_per_minute(rss_series),
        "points": [
            {key: p[key] for key in ("interval", "at_s", "rps", "requests", "non200", "bad_body", "errors", "corrected_latency_us", "rss_kib", "fds", "fd_kinds", "late_sends", "server_cpu_share")}
            for p in points
        ],
        "load_average": {"start": load_before, "end": load_average()},
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "problems": problems,
        "passed": not problems,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


# -- docs/benchmarks.md ---------------------------------------------------------------


def section(result: dict[str, Any], target_minutes: float = 10.0) -> str:
    mib = lambda kib: f"{kib / 1024:.1f} MiB"  # noqa: E731
    short = result["minutes"] < target_minutes
    p50s = [p["corrected_latency_us"]["p50"] / 1000 for p in result["points"]]
    p99s = [p["corrected_latency_us"]["p99"] / 1000 for p in result["points"]]
    lines = [
        SECTION,
        "",
        f"Written by `make soak` (`{result['command'].strip()}`) on {result['started_at']}; only this section is "
        "replaced by it. One `tokensmith serve` (one worker on core 1, access log on, SQLite), "
        f"{result['algorithm']}, `{result['path']}`, held at {result['fraction']:.0%} of the peak measured just before, "
        "with the paced wrk script (latency counted from when each request was due).",
        "",
    ]
    if short:
        lines += [
            f"**This is a short run: {result['minutes']:g} minutes, not the {target_minutes:g} the soak target asks for.** "
            "It shows the harness and the checks work; the memory and descriptor figures over 10 minutes are still to be recorded "
            "with `make soak`.",
            "",
        ]
    if result["peak_server_cpu_share"] < 0.8:
        lines += [
            f"The server got only {result['peak_server_cpu_share']:.2f} of its core during the peak measurement (other "
            "work on the shared machine), so the load held is 70 % of a depressed peak; on a quiet machine the same "
            "server peaks higher. The checks (errors, memory, descriptors) do not depend on the rate.",
            "",
        ]
    lines += [
        "| | |",
        "|---|---|",
        f"| verdict | **{'passed' if result['passed'] else 'FAILED: ' + '; '.join(result['problems'])}** |",
        f"| peak (closed loop, 16 connections) | {result['peak_rps']:,.0f}/s (server CPU {result['peak_server_cpu_share']:.2f} of its core) |",
        f"| offered / achieved | {result['target_rps']:,.0f}/s / {result['achieved_rps']:,.0f}/s over {result['connections']} connections |",
        f"| duration, requests | {result['soak_seconds'] / 60:.1f} min, {result['requests']:,} requests |",
        f"| errors | {result['errors']['non200']} non-200, {result['errors']['bad_body']} malformed bodies, {result['errors']['socket']} socket errors |",
        f"| sampled tokens verified | {result['validation']['checked'] - result['validation']['invalid']} of {result['validation']['checked']} ({result['validation']['method']}) |",
        f"| latency p50 / p99, per interval | {min(p50s):.2f}–{max(p50s):.2f} ms / {min(p99s):.2f}–{max(p99s):.2f} ms |",
        f"| resident memory | idle {mib(result['idle']['rss_kib'])}; after warm-up and peak {mib(result['baseline']['rss_kib'])}; "
        f"end {mib(result['end']['rss_kib'])} (**{result['rss_growth']:+.1%}**, limit +10 %); largest {mib(result['max_rss_kib'])}; "
        f"trend {result['rss_slope_kib_per_min']:+.0f} KiB/min |",
        f"| open file descriptors | idle {result['idle']['fds']}; after warm-up {result['baseline']['fds']} ({_kinds(result['baseline'])}); "
        f"end {result['end']['fds']} ({_kinds(result['end'])}) |",
        f"| machine | {result['cpu']} × {result['cores']}, shared; load average {result['load_average']['start']} → {result['load_average']['end']} |",
        "",
        "| interval | at | achieved | server CPU | p50 | p99 | non-200 | socket errors | RSS | fds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in result["points"]:
        errors = sum(p["errors"][k] for k in ("connect", "read", "write", "timeout"))
        lines.append(
            f"| {p['interval']} | {p['at_s'] / 60:.1f} min | {p['rps']:,.0f}/s | {p['server_cpu_share']:.2f} | {p['corrected_latency_us']['p50'] / 1000:.2f} ms | "
            f"{p['corrected_latency_us']['p99'] / 1000:.2f} ms | {p['non200']} | {errors} | {mib(p['rss_kib'])} | {p['fds']} |"
        )
    lines += [
        "",
        "Memory and descriptors are read between intervals, once wrk's connections are closed and the server has "
        "answered what they sent, so each reading is comparable with the baseline. Sockets, pipes and other "
        f"descriptors must not grow at all; the SQLite store's files are held by its connection pool, up to {STORE_FD_BOUND} "
        "(5 kept connections and 10 more under bursts; a plateau, not a leak). *Server CPU* is the share of its core "
        "the server got: the 2-core machine is shared, and when other work takes the core the server falls behind "
        "the offered rate and latency grows (queueing), which says nothing about a leak unless the error, memory or "
        "descriptor columns move with it.",
        "",
    ]
    return "\n".join(lines)


def _kinds(sample: dict[str, Any]) -> str:
    return ", ".join(f"{count} {Path(kind).name or kind}" for kind, count in sample.get("fd_kinds", {}).items())


def write_section(text: str, path: Path = DOCS / "benchmarks.md") -> None:
    """Replaces the Soak section of docs/benchmarks.md (up to the next `## ` heading),
    or appends it; the rest of the file is left as it is."""
    replace_section(path, SECTION, text, "# tokensmith benchmarks\n")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    for program in ("wrk", "taskset"):
        if shutil.which(program) is None:
            log(f"{program} is needed (apt-get install {'wrk' if program == 'wrk' else 'util-linux'})")
            return 2
    result = soak(args)
    (STATE).mkdir(parents=True, exist_ok=True)
    (STATE / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    text = section(result)
    (STATE / "soak-section.md").write_text(text)
    if not args.no_docs:
        write_section(text)
    log(("PASSED" if result["passed"] else "FAILED: " + "; ".join(result["problems"]))
        + f" — {result['requests']:,} requests, RSS {result['rss_growth']:+.1%}, fds {result['baseline']['fds']} → {result['end']['fds']}")  # fmt: skip
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
