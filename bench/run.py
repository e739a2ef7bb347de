"""`make bench`: measure tokensmith against the raw signing limit and its peers, and
write docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks.png.

    python bench/run.py                 # everything (about 13 minutes)
    python bench/run.py --quick         # 3 s points: checks the harness in ~5 minutes
    python bench/run.py --only tokensmith --only peers
    python bench/run.py --report-only   # re-render the docs from .bench/results.json

Run from the repository root with any Python 3.11+: the first step makes or updates
the benchmark's own environment (.bench/venv, wrk, .bench/oidc_provider) and then
re-runs this script inside it. Every figure is reported as a ratio against a
baseline measured in the same run (the raw signing rate on the same pinned core,
measured right before the server under test starts, or tokensmith itself).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from environment import VENV, ensure_all

PARTS = ("signing", "verify", "micro", "tokensmith", "variants", "peers", "profile")
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured point (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="closed-loop warm-up before each series (default 2)")
    parser.add_argument("--quick", action="store_true", help="3 s points, 1 s warm-up (a harness check, not a result)")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only these parts (repeat)")
    parser.add_argument("--algorithm", action="append", choices=ALGORITHMS, help="tokensmith algorithms (default all)")
    parser.add_argument("--results", type=Path, default=None, help="results file (default .bench/results.json)")
    parser.add_argument("--report-only", action="store_true", help="only re-render the docs from the results file")
    parser.add_argument(
        "--baseline", metavar="REF", default=None,
        help="also serve tokensmith as of this git commit (from a worktree in .bench/baseline) in the round-robin comparison",
    )  # fmt: skip
    parser.add_argument("--no-docs", action="store_true", help="measure, but do not write docs/")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    return args


def in_bench_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not in_bench_venv():
        if not args.report_only:
            ensure_all()
        else:
            from environment import ensure_venv

            ensure_venv()
        python = VENV / "bin" / "python"
        return subprocess.call([str(python), str(Path(__file__).resolve()), *argv])

    import report
    from common import STATE

    results_path = args.results or STATE / "results.json"
    if args.report_only:
        import profiling
        from common import REPO

        results = json.loads(results_path.read_text())
        for key in [k for k in results if k.startswith("profile")]:
            results[key] = profiling.rebucket(results[key], REPO)
    else:
        results = measure(args, argv)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=1))
    if not args.no_docs:
        report.write(results)
    failed = [f"{g['label']} / {s['endpoint']}" for g in results["groups"] for s in g.get("series", []) if s.get("failed")]
    failed += [g["label"] for g in results["groups"] if g.get("error") and g.get("required", True)]
    if failed:
        print("FAILED benchmark points: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


# -- measuring ----------------------------------------------------------------------


def measure(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    import http_load
    import profiling as profiler
    import servers
    from common import BENCH_DIR, REPO, SERVER_CPU, STATE, VENV_PYTHON, load_average, log, machine

    parts = set(args.only or PARTS)
    algorithms = args.algorithm or list(ALGORITHMS)
    started = time.time()
    (STATE / "tmp").mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": machine(),
        "load_average": {"start": load_average()},
        "settings": {
            "seconds": args.seconds,
            "warmup": args.warmup,
            "quick": args.quick,
            "peak_connections": http_load.PEAK_CONNECTIONS,
            "paced_connections": http_load.PACED_CONNECTIONS,
            "server_cpu": SERVER_CPU,
            "loadgen_cpu": "0",
            "parts": sorted(parts),
        },
        "command": "python bench/run.py " + " ".join(shlex.quote(a) for a in argv),
        "groups": [],
        "tree": tree(),
    }

    def raw_signing(seconds: float, only: list[str] | None = None) -> dict[str, Any]:
        command = ["taskset", "-c", SERVER_CPU, str(VENV_PYTHON), str(BENCH_DIR / "signing.py"), "--seconds", str(seconds), "--json"]
        for algorithm in only or []:
            command += ["--algorithm", algorithm]
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout
        return json.loads(output)

    log(f"raw signing limit on core {SERVER_CPU}")
    results["raw_signing"] = {"start": raw_signing(3.0)}
    for algorithm, value in results["raw_signing"]["start"].items():
        log(f"  {algorithm}: {value['ops_per_s']:.0f} signatures/s (cpu share {value['cpu_share']:.2f})")

    def pinned_report(script: str, seconds: str) -> dict[str, Any]:
        """The JSON report of a bench script run on the server's core, or its error."""
        command = ["taskset", "-c", SERVER_CPU, str(VENV_PYTHON), str(BENCH_DIR / script), "--seconds", seconds, "--json"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
            return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr[-800:]}
        except (subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            return {"error": str(exc)}

    if "verify" in parts:
        log("verification: TokenVerifier vs PyJWT vs bare signature check")
        results["verification"] = pinned_report("verify.py", "1.0")

    if "micro" in parts:
        log("per-piece CPU costs (bench/micro.py)")
        results["micro"] = pinned_report("micro.py", "1")

    def run_group(
        group_id: str,
        kind: str,
        make: Any,
        plan: list[tuple[str, tuple[float, ...]]],
        *,
        algorithm: str = "RS256",
        required: bool = True,
        peak_connections: int = http_load.PEAK_CONNECTIONS,
        timeout_s: float = 10.0,
        note: str = "",
        profile_as: str | None = None,
    ) -> dict[str, Any]:
        group: dict[str, Any] = {"id": group_id, "kind": kind, "algorithm": algorithm, "required": required, "note": note}
        results["groups"].append(group)
        try:
            group["raw_adjacent"] = raw_signing(2.0, [algorithm])[algorithm]
            server = make()
        except Exception as exc:
            group.update(label=group_id, error=f"setup failed: {type(exc).__name__}: {exc}")
            log(f"  {group_id}: {group['error']}")
            return group
        group.update(label=server.label, pinning=server.pinning, details=server.details, command=server.command)
        log(f"{server.label}: raw {algorithm} {group['raw_adjacent']['ops_per_s']:.0f}/s; starting ({' '.join(server.command[:3])} …)")
        try:
            server.start()
            group["rss_kib_idle"] = server.rss_kib()
            group["series"] = []
            for endpoint_name, fractions in plan:
                group["series"].append(
                    http_load.series(
                        server,
                        server.endpoints[endpoint_name],
                        seconds=args.seconds,
                        warmup=args.warmup,
                        fractions=fractions,
                        peak_connections=peak_connections,
                        timeout_s=timeout_s,
                    )
                )
            if profile_as and "profile" in parts:
                key = "profile" if profile_as == "seed-rs256" else f"profile_{profile_as}"
                results[key] = profiler.profile(server, server.endpoints["seed"], seconds=min(10.0, args.seconds), name=profile_as)
        except Exception as exc:
            group["error"] = f"{type(exc).__name__}: {exc}"
            group["log_tail"] = server.log_tail()
            log(f"  {server.label}: {group['error']}\n{group['log_tail']}")
        finally:
            server.stop()
            server.cleanup()
        return group

    full = (0.5, 0.9)
    if "tokensmith" in parts or "profile" in parts:
        for algorithm in algorithms:
            plan = [("seed", full), ("standard", full)] if "tokensmith" in parts else []
            run_group(
                f"tokensmith-{algorithm}", "tokensmith", lambda a=algorithm: servers.tokensmith(a), plan, algorithm=algorithm,
                profile_as="seed-rs256" if algorithm == "RS256" else None,
            )

    if "variants" in parts:
        compare(results, args, raw_signing, run_group, parts)
        run_group(
            "tokensmith-RS256-2workers", "variant", lambda: servers.tokensmith("RS256", workers=2),
            [("seed", full), ("standard", ())], note="--workers 2, pinned to cores 0-1 (core 0 shared with wrk)",
        )  # fmt: skip

    if "peers" in parts:
        run_group("peer-authlib", "peer", lambda: servers.authlib(), [("standard", full)], required=False)
        run_group("peer-dot-plain", "peer", lambda: servers.dot(hashed_secret=False), [("standard", full)], required=False)
        run_group(
            "peer-dot-hashed", "peer", lambda: servers.dot(hashed_secret=True), [("standard", ())],
            required=False, peak_connections=2, timeout_s=30.0,
            note="DOT's default: client secret hashed with Django's default hasher (PBKDF2-SHA256)",
        )  # fmt: skip
        servers.drop_dot_database()
        if (STATE / "oidc_provider" / "node_modules" / "oidc-provider").exists():
            run_group("peer-oidc-provider", "peer", lambda: servers.oidc_provider(), [("standard", full)], required=False)
        else:
            results["groups"].append(
                {"id": "peer-oidc-provider", "kind": "peer", "label": "node-oidc-provider", "required": False,
                 "error": "not run: node/npm missing or `npm install oidc-provider` failed (see the setup output)"}
            )  # fmt: skip

    log("raw signing limit again (drift check)")
    results["raw_signing"]["end"] = raw_signing(3.0)
    results["load_average"]["end"] = load_average()
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["duration_s"] = round(time.time() - started, 1)
    log(f"done in {results['duration_s']:.0f}s")
    return results


def tree() -> dict[str, Any]:
    """Which tokensmith was measured: the commit, whether the work tree differed from
    it, and which of the profile's recommendations it already has."""
    import importlib.util

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    def has(module: str, name: str | None = None) -> bool:
        try:
            if importlib.util.find_spec(module) is None:
                return False
            return name is None or hasattr(__import__(module, fromlist=[name]), name)
        except ImportError:
            return False

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes_in_src": bool(git("status", "--porcelain", "--", "src")),
        "token_route": has("tokensmith.http.token_route"),
        "log_access": has("tokensmith.logs", "log_access"),
    }


COMPARED = [
    # (group id, how to make the server, endpoints, what it is, required)
    ("tokensmith-RS256-default", lambda servers: servers.tokensmith("RS256"), ("seed", "standard"),
     "`tokensmith serve` as shipped (uvicorn, access log on)", True),
    ("tokensmith-RS256-nolog", lambda servers: servers.tokensmith("RS256", access_log=False), ("seed", "standard"),
     "TOKENSMITH_ACCESS_LOG=false", True),
    ("tokensmith-RS256-reuse", lambda servers: servers.tokensmith("RS256", reuse_tokens=True), ("seed", "standard"),
     "token reuse on for the client (`clients create --reuse-tokens`, threshold 0.5): one signature per half lifetime", False),
    ("tokensmith-RS256-granian", lambda servers: servers.tokensmith("RS256", runner="granian"), ("seed",),
     "granian (1 worker) instead of uvicorn, same app factory", True),
    ("experiment-floor-static-uvicorn", lambda servers: servers.floor("static"), ("seed",),
     "ceiling: a static response, no work (uvicorn)", False),
    ("experiment-floor-sign-uvicorn", lambda servers: servers.floor("sign"), ("seed",),
     "ceiling: one RS256 signature per request, nothing else (uvicorn)", False),
    ("experiment-floor-sign-granian", lambda servers: servers.floor("sign", runner="granian"), ("seed",),
     "ceiling: one RS256 signature per request, nothing else (granian)", False),
]  # fmt: skip
ROUNDS = 3


def baseline_tree(ref: str) -> Path:
    """A worktree of the repository at `ref` (.bench/baseline), to serve the code as it
    was from: the same run then says what a change bought or cost."""
    from common import REPO, STATE

    tree = STATE / "baseline"
    if tree.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True, timeout=60)
    subprocess.run(["git", "worktree", "add", "--force", "--detach", str(tree), ref], cwd=REPO, check=True, capture_output=True, timeout=60)
    return tree


def compare(results: dict[str, Any], args: argparse.Namespace, raw_signing: Any, run_group: Any, parts: set[str]) -> None:
    """The RS256 variants and experiments, compared round-robin: every server is up at
    once (idle ones use no CPU), and each round measures each of them for a short
    closed-loop point, right after 1 s of raw signing on the same core. The order
    rotates between rounds, so drift on the shared machine spreads over all of them;
    each row reports its median round and the spread."""
    import statistics

    import http_load
    import profiling as profiler
    import servers
    from common import log

    compared = list(COMPARED)
    if args.baseline:
        source = baseline_tree(args.baseline)
        compared.insert(1, (
            "tokensmith-RS256-baseline", lambda servers: servers.tokensmith("RS256", source=source), ("seed", "standard"),
            f"baseline: `tokensmith serve` as of {args.baseline} (same set-up, same run)", True,
        ))  # fmt: skip
    point_seconds = max(2.0, args.seconds / 2)
    log(f"round-robin comparison of {len(compared)} RS256 set-ups: {ROUNDS} rounds of {point_seconds:g} s points")
    running: list[tuple[dict[str, Any], Any]] = []
    entries: list[tuple[dict[str, Any], Any, str]] = []
    for group_id, make, endpoints, note, required in compared:
        group: dict[str, Any] = {"id": group_id, "kind": "variant", "algorithm": "RS256", "required": required, "note": note, "compared": True}
        results["groups"].append(group)
        server = None
        try:
            server = make(servers)
            group.update(label=server.label, pinning=server.pinning, details=server.details, command=server.command)
            server.start()
            group["rss_kib_idle"] = server.rss_kib()
            running.append((group, server))
            for endpoint in endpoints:
                http_load.wrk(server, server.endpoints[endpoint], seconds=args.warmup, connections=http_load.PEAK_CONNECTIONS)
                entries.append((group, server, endpoint))
        except Exception as exc:
            group.setdefault("label", group_id)
            group["error"] = f"{type(exc).__name__}: {exc}"
            log(f"  {group_id}: {group['error']}")
            if server is not None:
                group["log_tail"] = server.log_tail()
                server.stop()
                server.cleanup()
    measured: dict[tuple[str, str], list[dict[str, Any]]] = {(g["id"], e): [] for g, _, e in entries}
    try:
        for round_index in range(ROUNDS):
            shift = round_index * len(entries) // ROUNDS
            for group, server, endpoint in entries[shift:] + entries[:shift]:
                raw = raw_signing(1.0, ["RS256"])["RS256"]
                others = [other for _, other in running if other is not server]
                others_before = sum(other.cpu_seconds() for other in others)
                report = http_load.wrk(server, server.endpoints[endpoint], seconds=point_seconds, connections=http_load.PEAK_CONNECTIONS)
                report["bystander_cpu_s"] = sum(other.cpu_seconds() for other in others) - others_before
                measured[(group["id"], endpoint)].append({"raw": raw, "report": report})
            log(f"  round {round_index + 1}/{ROUNDS} done")
        if "profile" in parts:
            thin = next(((g, srv) for g, srv in running if g["id"] == "experiment-thin-granian-nolog"), None)
            if thin:
                results["profile_thin-granian-nolog"] = profiler.profile(
                    thin[1], thin[1].endpoints["seed"], seconds=min(10.0, args.seconds), name="thin-granian-nolog"
                )
        for group, server, endpoint in entries:
            rounds = measured[(group["id"], endpoint)]
            if not rounds:
                continue
            for item in rounds:
                raw, report = item["raw"], item["report"]
                item["ratio_wall"] = report["rps"] / raw["ops_per_s"]
                item["ratio_cpu"] = report["tokens_per_cpu_s"] / (raw["ops_per_s"] / max(raw["cpu_share"], 1e-6))
            middle = sorted(rounds, key=lambda item: item["ratio_cpu"])[len(rounds) // 2]
            others = [item["report"] for item in rounds if item is not middle]
            series = http_load.checked(server, server.endpoints[endpoint], middle["report"], [], others)
            series["raw"] = middle["raw"]
            series["rounds"] = [
                {"ratio_cpu": item["ratio_cpu"], "ratio_wall": item["ratio_wall"], "rps": item["report"]["rps"],
                 "server_cpu_share": item["report"]["server_cpu_share"], "bystander_cpu_s": item["report"]["bystander_cpu_s"],
                 "raw_ops_per_s": item["raw"]["ops_per_s"], "raw_cpu_share": item["raw"]["cpu_share"]}
                for item in rounds
            ]  # fmt: skip
            series["ratio_cpu_median"] = statistics.median(item["ratio_cpu"] for item in rounds)
            series["ratio_wall_median"] = statistics.median(item["ratio_wall"] for item in rounds)
            series["rss_kib"] = {"start": group.get("rss_kib_idle", 0), "end": server.rss_kib(), "peak": server.rss_kib()}
            group.setdefault("series", []).append(series)
            group.setdefault("raw_adjacent", middle["raw"])
            spread = ", ".join(f"{item['ratio_cpu']:.2f}" for item in rounds)
            log(f"  {group['note']} / {endpoint}: per CPU-second ÷ raw, rounds {spread}; " + ("FAILED: " + "; ".join(series["problems"]) if series["problems"] else "ok"))
    finally:
        for _, server in running:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    sys.exit(main(sys.argv[1:]))
