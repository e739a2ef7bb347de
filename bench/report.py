"""Writes docs/benchmarks.md, docs/benchmarks.json and docs/benchmarks.png from one
run's results (bench/run.py keeps them in .bench/results.json). The sections other
programs write into docs/benchmarks.md (`make soak`'s) are carried over as they are.

    python bench/run.py --report-only
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import DOCS

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
# Headings of the sections other programs write into docs/benchmarks.md, each replacing
# only its own, from the heading up to the next `## ` (bench/soak.py SECTION): a report
# keeps them instead of dropping a measurement it cannot redo.
OTHERS_SECTIONS = ("## Soak",)


# -- lookups ------------------------------------------------------------------------


def group(results: dict[str, Any], group_id: str) -> dict[str, Any] | None:
    return next((g for g in results["groups"] if g["id"] == group_id), None)


def series(results: dict[str, Any], group_id: str, endpoint: str) -> dict[str, Any] | None:
    found = group(results, group_id)
    if not found:
        return None
    return next((s for s in found.get("series", []) if s["endpoint"] == endpoint), None)


def raw_rate(results: dict[str, Any], g: dict[str, Any], s: dict[str, Any] | None = None) -> float:
    """The limit a group is compared with: the raw rate measured right before it
    (for a round-robin series, right before its median round)."""
    adjacent = (s or {}).get("raw") or g.get("raw_adjacent") or {}
    if adjacent.get("ops_per_s"):
        return float(adjacent["ops_per_s"])
    return float(results["raw_signing"]["start"][g.get("algorithm", "RS256")]["ops_per_s"])


def raw_cpu_rate(results: dict[str, Any], g: dict[str, Any], s: dict[str, Any] | None = None) -> float:
    """The same limit per CPU-second of the signing loop (robust to other work
    sharing the core: the loop's wall-clock rate divided by its share of the core)."""
    adjacent = (s or {}).get("raw") or g.get("raw_adjacent") or results["raw_signing"]["start"][g.get("algorithm", "RS256")]
    return float(adjacent["ops_per_s"]) / max(float(adjacent.get("cpu_share") or 1.0), 1e-6)


def paced(s: dict[str, Any], fraction: float) -> dict[str, Any] | None:
    return next((p for p in s.get("paced", []) if abs(p["fraction"] - fraction) < 1e-6), None)


# -- formatting ---------------------------------------------------------------------


def rate(value: float) -> str:
    return f"{value:,.0f}/s" if value >= 10 else f"{value:.2f}/s"


def ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def ms(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us < 100_000 else f"{us / 1000:,.0f} ms"


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def latency_cell(point: dict[str, Any] | None, sign_us: float) -> str:
    """Corrected p50 / p99 as multiples of one raw signature's time, absolute beside."""
    if point is None:
        return "–"
    lat = point["corrected_latency_us"]
    return (
        f"{lat['p50'] / sign_us:.1f}× / {lat['p99'] / sign_us:.1f}× "
        f"({ms(lat['p50'])} / {ms(lat['p99'])}; achieved {point['rps'] / point['offered_rps']:.2f} of offered)"
    )


def status_cell(s: dict[str, Any]) -> str:
    points = [s["peak"], *s.get("paced", [])]
    total = sum(p["requests"] for p in points)
    bad = sum(p["non200"] + p["bad_body"] for p in points)
    socket = sum(sum(v for k, v in p["errors"].items() if k != "status") for p in points)
    v = s["validation"]
    text = f"{bad} of {total:,} bad; {socket} socket errors; {v['checked'] - v['invalid']}/{v['checked']} sampled tokens valid"
    return ("**FAILED** " if s.get("failed") else "") + text


# -- the document -------------------------------------------------------------------


def write(results: dict[str, Any]) -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "benchmarks.json").write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    plotted = plot(results)
    write_markdown(markdown(results, plotted))


def write_markdown(text: str, path: Path = DOCS / "benchmarks.md") -> None:
    """Writes the report, followed by the others' sections the file holds now."""
    current = path.read_text() if path.exists() else ""
    path.write_text(with_others_sections(text, current))


def others_sections(current: str) -> list[str]:
    """The others' sections of `current`, verbatim, in the order they appear there;
    delimited as bench/soak.py's write_section delimits its own."""
    found: list[tuple[int, str]] = []
    text = "\n" + current  # a heading on the first line is found too
    for heading in OTHERS_SECTIONS:
        start = text.find(f"\n{heading}\n")
        if start == -1:
            continue
        following = text.find("\n## ", start + len(heading) + 1)
        found.append((start, text[start + 1 : following if following != -1 else len(text)].rstrip("\n")))
    return [section for _, section in sorted(found)]


def with_others_sections(report: str, current: str) -> str:
    # A section the report renders itself is the report's, not carried over twice.
    kept = [section for section in others_sections(current) if f"\n{section.splitlines()[0]}\n" not in "\n" + report]
    return "\n\n".join([report.rstrip("\n"), *kept]) + "\n"


def markdown(results: dict[str, Any], plotted: bool) -> str:
    out: list[str] = []
    add = out.append
    settings = results["settings"]
    m = results["machine"]
    baseline = group(results, "tokensmith-RS256")
    seed_rs = series(results, "tokensmith-RS256", "seed")

    add("# tokensmith benchmarks\n")
    add(
        f"Generated by `make bench` (`{results['command']}`) on {results['started_at']}, "
        f"{results.get('duration_s', 0) / 60:.1f} minutes. "
        "**Every figure is a ratio against a baseline measured in the same run** — the raw signing "
        "rate of the same pinned core (measured right before each server under test starts), or "
        "tokensmith itself — with the absolute number only beside it. The machine has 2 cores and is "
        "shared with other work, so absolute numbers drift from run to run; compare ratios.\n"
    )
    if settings.get("quick"):
        add("> **Quick run** (`--quick`, 3 s points): a check of the harness, not a result.\n")

    # ---- summary
    add("## Summary\n")
    headline = measured(results, BASELINE_ID)
    head_series = series(results, BASELINE_ID, "seed")
    if headline and head_series:
        rounds = ", ".join(f"{r['ratio_cpu']:.2f}" for r in head_series.get("rounds", []))
        add(
            "- **tokensmith's seed endpoint, RS256, `tokensmith serve` (one uvicorn worker) on one pinned core, access "
            f"log on: {headline['cpu']:.2f} of the raw RS256 signing rate** per CPU-second (median of rounds {rounds}; "
            f"{headline['raw']:.2f} wall-clock, {rate(headline['rps'])}). The 0.80 target leaves 0.25 of one "
            "signature's CPU for everything else a token needs; today everything else costs "
            f"{1 / headline['cpu'] - 1:.2f} signatures' worth."
        )
    if baseline and seed_rs:
        limit = raw_rate(results, baseline)
        add(
            f"- Section 2's single measurement of the same (with its latency points): {ratio(seed_rs['peak']['rps'] / limit)} "
            f"wall-clock ({seed_rs['peak']['rps']:,.0f} tokens/s vs {limit:,.0f} signatures/s), "
            f"{ratio(seed_rs['peak']['tokens_per_cpu_s'] / raw_cpu_rate(results, baseline))} per CPU-second "
            f"(server CPU {seed_rs['peak']['server_cpu_share']:.2f})."
        )
    per_alg = []
    for algorithm in ALGORITHMS[1:]:
        g, s = group(results, f"tokensmith-{algorithm}"), series(results, f"tokensmith-{algorithm}", "seed")
        if g and s:
            per_alg.append(f"{algorithm} {ratio(s['peak']['tokens_per_cpu_s'] / raw_cpu_rate(results, g))}")
    if per_alg:
        add(f"- Other algorithms, seed endpoint, per CPU-second ÷ their own raw rate: {', '.join(per_alg)} (ES256 and EdDSA sign 10× faster than RSA, so the web stack is most of their cost).")
    std_rs = series(results, "tokensmith-RS256", "standard")
    for peer_id in ("peer-authlib", "peer-dot-plain", "peer-dot-hashed", "peer-oidc-provider"):
        g, s = group(results, peer_id), series(results, peer_id, "standard")
        if g and s and std_rs:
            add(
                f"- {g['label']}: {ratio(s['peak']['rps'] / std_rs['peak']['rps'])} of tokensmith's standard endpoint's "
                f"tokens/s, {ratio(s['peak']['tokens_per_cpu_s'] / std_rs['peak']['tokens_per_cpu_s'])} per CPU-second."
            )
        elif g and g.get("error"):
            add(f"- {g['label']}: not measured — {g['error']}")
    peer_cpu = []
    if std_rs and baseline:
        peer_cpu.append(f"tokensmith {ratio(std_rs['peak']['tokens_per_cpu_s'] / raw_cpu_rate(results, baseline))} (access log on)")
        nolog = measured(results, "tokensmith-RS256-nolog", "standard")
        if nolog:
            peer_cpu.append(f"{nolog['cpu']:.2f} (log off, section 3)")
    for peer_id in ("peer-authlib", "peer-dot-plain", "peer-oidc-provider"):
        g, s = group(results, peer_id), series(results, peer_id, "standard")
        if g and s:
            peer_cpu.append(f"{SHORT.get(peer_id, g['label'])} {ratio(s['peak']['tokens_per_cpu_s'] / raw_cpu_rate(results, g))}")
    if len(peer_cpu) > 1:
        add("- Standard endpoint, tokens per CPU-second ÷ raw RS256 signatures per CPU-second: " + ", ".join(peer_cpu) + ".")
    for endpoint in ("seed", "standard"):
        base, now = measured(results, "tokensmith-RS256-baseline", endpoint), measured(results, "tokensmith-RS256-default", endpoint)
        if base and now:
            add(
                f"- Against the baseline in the same round-robin ({group(results, 'tokensmith-RS256-baseline')['note']}), "
                f"{endpoint} endpoint: this tree {now['cpu']:.2f} of raw RS256 per CPU-second, the baseline {base['cpu']:.2f} "
                f"({now['cpu'] / base['cpu']:.3f}× the baseline; {now['us']:.0f} vs {base['us']:.0f} µs of CPU per token)."
            )
    best = best_experiment(results)
    if best:
        add(
            f"- Experiment (bench/experiments/thin_app.py, not product code): {best['label']} reaches "
            f"{ratio(best['ratio_cpu'])} of raw RS256 per CPU-second ({ratio(best['ratio_raw'])} wall-clock; "
            f"{ratio(best['ratio_baseline'])}× today's seed endpoint per CPU-second). "
            "See [Profile and recommendations](#6-profile-and-recommendations)."
        )
    add("")

    # ---- machine and rerun
    add("## Machine\n")
    add("| | |\n|---|---|")
    rows = [
        ("CPU", f"{m.get('cpu_model')} × {m.get('cpus')} (flags: {', '.join(m.get('cpu_flags_of_note', []))})"),
        ("Memory", f"{m.get('memory_gib')} GiB"),
        ("OS / kernel", f"{m.get('os')} / {m.get('kernel')}"),
        ("Python / cryptography / OpenSSL", f"{m.get('python')} / {m.get('cryptography')} / {m.get('openssl')}"),
        ("PyJWT / Starlette / uvicorn / orjson", f"{m.get('pyjwt')} / {m.get('starlette')} / {m.get('uvicorn')} / {m.get('orjson')}"),
        ("Node.js / wrk", f"{m.get('node')} / {m.get('wrk')}"),
        ("Load average (1/5/15 min) at start → end", f"{results['load_average'].get('start')} → {results['load_average'].get('end')}"),
        ("Pinning", f"server on core {settings['server_cpu']} (`taskset -c {settings['server_cpu']}`), wrk on core {settings['loadgen_cpu']}, unless a row says otherwise"),
    ]  # fmt: skip
    add("\n".join(f"| {k} | {v} |" for k, v in rows) + "\n")

    add("## How to rerun\n")
    add("```sh")
    add("make bench                              # = python3 bench/run.py: sets up .bench/, measures, writes docs/")
    add("python3 bench/run.py --quick            # 3 s points: checks the harness")
    add("python3 bench/run.py --only tokensmith --algorithm RS256   # parts: " + ", ".join(settings.get("parts", [])))
    add("python3 bench/run.py --report-only      # re-render docs/ from .bench/results.json")
    add(f"taskset -c {settings['server_cpu']} .bench/venv/bin/python bench/signing.py   # the raw signing limit alone")
    add(f"taskset -c {settings['server_cpu']} .bench/venv/bin/python bench/verify.py    # verification alone")
    add("make burst | bench-client-auth | bench-dpop    # the guard under a burst; private_key_jwt; DPoP (their own sections)")
    add("```\n")
    add(
        "What one point runs (the harness sets the `BENCH_*` variables: Authorization header, body, "
        "sampling): a closed-loop peak, "
        f"`taskset -c 0 wrk -t 1 -c {settings['peak_connections']} -d {settings['seconds']:g}s --timeout 10s -s bench/wrk/closed.lua URL`, "
        f"and a paced point, `taskset -c 0 wrk -t N -c N -d {settings['seconds']:g}s -s bench/wrk/paced.lua URL` with "
        "`BENCH_INTERVAL_US = N / rate`. The servers are started exactly as the `command` fields of "
        "docs/benchmarks.json show, behind `taskset -c 1`.\n"
    )

    # ---- method
    add("## Method\n")
    add(
        f"- **The limit** (`bench/signing.py`): `cryptography`'s `sign()` alone, in a loop on core "
        f"{settings['server_cpu']}, over a signing input the size of a real token's: RSA-2048 PKCS#1 v1.5 "
        "(RS256), RSA-2048 PSS/MGF1-SHA256 salt 32 (PS256), ECDSA P-256 (ES256, DER output), Ed25519 (EdDSA). "
        "It is measured for 3 s per algorithm at the start and at the end of the run, and for 2 s right "
        "before each server under test starts; each row's ratio uses that adjacent measurement."
    )
    add(
        f"- **Peak**: wrk closed loop, 1 thread, {settings['peak_connections']} keep-alive connections, "
        f"{settings['warmup']:g} s warm-up then {settings['seconds']:g} s measured. *Per CPU-second* divides the tokens "
        "by the CPU time the server's processes used (from /proc) and compares it with the signing loop's "
        "signatures per CPU-second: what one whole core would give, even when other work on the shared "
        "machine takes part of it (the *server CPU* share shows how much of its core the server got). The speed of "
        "the core itself also drifts on this shared machine (section 1's range), so a single wall-clock ratio can be "
        "far off — even above 1 when the raw loop ran in a busier moment than the load; when the two disagree, trust "
        "the per-CPU-second figure and section 3's round-robin medians."
    )
    add(
        "- **Latency at 50 % and 90 % of peak**: Debian has wrk, not wrk2 (`apt-cache policy wrk2` finds "
        "nothing), so `bench/wrk/paced.lua` makes wrk2's fixed rate with plain wrk: one connection per wrk "
        "thread, each on its own schedule (one request every N/rate seconds, staggered), and latency counted "
        "from when a request was *due*, not when it went out, so queueing is not hidden (wrk2's "
        "coordinated-omission correction). wrk's `delay()` hook has 1 ms resolution; a request is never "
        "sent late because of it. The rate is a fraction of the peak measured just before on the same "
        "server; the table gives the achieved rate as a share of the offered one. Latencies are written as "
        "multiples of one raw signature's time (1 / the raw rate), the absolute value beside. Latency, p99 above all, "
        "is what other work on the shared machine disturbs most: a point whose achieved rate fell below the offered "
        "one, or whose p50 is far above its neighbours', ran while something else held the core; rerun before "
        "reading much into it."
    )
    add(
        "- **Correctness**: every response is checked in wrk's `response()` hook (status 200 and an "
        "`access_token` in the body; anything else is counted and fails the point), and a sample of tokens "
        "from every point is verified afterwards with PyJWT against the server's JWKS (signature, `typ` "
        "at+jwt, alg, iss, exp, iat, sub, jti, client_id, scope; aud where the server sets a resource). "
        "DOT's opaque tokens are looked up in its database instead."
    )
    add(
        "- **Memory**: VmRSS summed over the server's processes (its process group), idle after start, at the "
        "start and end of the load, and the largest value sampled every 0.5 s under load."
    )
    add(
        "- **Workload**: one client `bench` with scope `edit`, HTTP Basic (client_secret_basic) on every "
        "request. Seed endpoint: `POST /v1/api/oauth/token?scope=edit`, empty body. Standard endpoint: "
        "`POST /oauth2/token` with `grant_type=client_credentials&scope=edit` (the peers get the same body on "
        "their token endpoints). tokensmith runs `tokensmith serve` on a fresh SQLite store per algorithm "
        "(`TOKENSMITH_SIGNING_ALGORITHM` picks the new keys' algorithm), access log **on** (the default) "
        "unless a row says otherwise.\n"
    )

    # ---- 1. the limit
    add("## 1. The limit: raw signing rate of one pinned core\n")
    add("| algorithm | start of run | end of run | end / start | range before each server |")
    add("|---|---|---|---|---|")
    start, end = results["raw_signing"]["start"], results["raw_signing"].get("end", {})
    for algorithm in ALGORITHMS:
        if algorithm not in start:
            continue
        adjacent = [g["raw_adjacent"]["ops_per_s"] for g in results["groups"] if g.get("algorithm") == algorithm and g.get("raw_adjacent")]
        span = (f"{rate(min(adjacent))} – {rate(max(adjacent))}" if len(adjacent) > 1 else rate(adjacent[0])) if adjacent else "–"
        e = end.get(algorithm, {}).get("ops_per_s")
        add(
            f"| {algorithm} | {rate(start[algorithm]['ops_per_s'])} | {rate(e) if e else '–'} | "
            f"{ratio(e / start[algorithm]['ops_per_s']) if e else '–'} | {span} |"
        )
    add("")

    # ---- 2. tokensmith
    add("## 2. tokensmith end to end (one uvicorn worker on core 1, access log on)\n")
    add(
        "Peak as a share of the raw signing rate of the same algorithm; latency p50 / p99 at 50 % and 90 % of "
        "that peak as multiples of one raw signature's time.\n"
    )
    add("| alg | endpoint | peak ÷ raw (tokens/s) | per CPU-second ÷ raw | p50 / p99 at 50 % | p50 / p99 at 90 % | RSS idle → end of load (peak) | responses |")
    add("|---|---|---|---|---|---|---|---|")
    for algorithm in ALGORITHMS:
        g = group(results, f"tokensmith-{algorithm}")
        if not g:
            continue
        if g.get("error"):
            add(f"| {algorithm} | – | **not measured**: {g['error']} | | | | | |")
            continue
        limit = raw_rate(results, g)
        sign_us = 1e6 / limit
        for s in g.get("series", []):
            peak = s["peak"]
            add(
                f"| {algorithm} | {s['endpoint']} | **{ratio(peak['rps'] / limit)}** ({rate(peak['rps'])}) | "
                f"{ratio(peak['tokens_per_cpu_s'] / raw_cpu_rate(results, g))} (server CPU {peak['server_cpu_share']:.2f}) | {latency_cell(paced(s, 0.5), sign_us)} | "
                f"{latency_cell(paced(s, 0.9), sign_us)} | {mib(g['rss_kib_idle'])} → {mib(s['rss_kib']['end'])} "
                f"({mib(s['rss_kib']['peak'])}) | {status_cell(s)} |"
            )
    add("")

    # ---- 3. variants
    compared = [g for g in results["groups"] if g.get("compared")]
    default_seed = series(results, "tokensmith-RS256-default", "seed")
    if compared:
        add("## 3. What the time goes to: RS256 variants and experiments, round-robin\n")
        add(
            f"All of these servers are up at once (an idle one uses no CPU) and measured in {len(default_seed['rounds']) if default_seed else 3} "
            "rounds; in each round every set-up gets a short closed-loop peak right after 1 s of raw RS256 signing on "
            "the same core, and the order rotates between rounds, so drift on the shared machine falls on all of them "
            "alike"
            + (
                f" (the idle servers used at most {max(r['bystander_cpu_s'] for g in compared for x in g.get('series', []) for r in x.get('rounds', [])):.2f} s "
                f"of CPU during another's {default_seed['peak']['seconds']:g} s point)"
                if default_seed
                else ""
            )
            + ". A row gives its median round, the per-round values beside it. *÷ default* compares per-CPU-second "
            "ratios with `tokensmith serve` as shipped (first row). A *baseline* row (`bench/run.py --baseline REF`) "
            "serves tokensmith as of an earlier commit, for what a change bought or cost in the same run. Rows marked "
            "*experiment* are bench/experiments/ (not product code): the *ceilings* are not tokensmith at all — a "
            "static response, or one RS256 signature and nothing else — and show what the HTTP server itself allows.\n"
        )
        add("| set-up | endpoint | per CPU-second ÷ raw (rounds) | wall-clock ÷ raw (tokens/s) | ÷ default | CPU µs per token | RSS idle → end | responses |")
        add("|---|---|---|---|---|---|---|---|")
        for g in compared:
            name = ("*experiment* " if g["id"].startswith("experiment") else "") + (g.get("note") or g["label"])
            if g.get("error"):
                add(f"| {name} | – | **not measured**: {g['error']} | | | | | |")
                continue
            for s in g.get("series", []):
                base = series(results, "tokensmith-RS256-default", s["endpoint"])
                rounds = ", ".join(f"{r['ratio_cpu']:.2f}" for r in s.get("rounds", []))
                vs = ratio(s["ratio_cpu_median"] / base["ratio_cpu_median"]) if base else "–"
                per_cpu = s["peak"]["tokens_per_cpu_s"]
                add(
                    f"| {name} | {s['endpoint']} | **{ratio(s['ratio_cpu_median'])}** ({rounds}) | "
                    f"{ratio(s['ratio_wall_median'])} ({rate(s['peak']['rps'])}, server CPU {s['peak']['server_cpu_share']:.2f}) | "
                    f"{vs} | {1e6 / per_cpu:.0f} | {mib(g.get('rss_kib_idle', 0))} → {mib(s['rss_kib']['end'])} | {status_cell(s)} |"
                )
        add("")
    g2 = group(results, "tokensmith-RS256-2workers")
    if g2:
        add("### Two workers\n")
        if g2.get("error"):
            add(f"Not measured: {g2['error']}\n")
        else:
            add(
                "`tokensmith serve --workers 2`, both workers pinned to cores 0–1 (`taskset -c 0,1`), sharing core 0 with "
                "wrk: the machine has two cores, so this is bounded by the load generator's share of core 0, not by "
                "tokensmith alone.\n"
            )
            add("| endpoint | peak ÷ (2 × raw) (tokens/s) | ÷ one worker (section 2) | per CPU-second ÷ raw | p50 / p99 at 50 % | p50 / p99 at 90 % | RSS idle → end (peak) | responses |")
            add("|---|---|---|---|---|---|---|---|")
            limit = raw_rate(results, g2)
            for s in g2.get("series", []):
                one = series(results, "tokensmith-RS256", s["endpoint"])
                add(
                    f"| {s['endpoint']} | **{ratio(s['peak']['rps'] / (2 * limit))}** ({rate(s['peak']['rps'])}) | "
                    f"{ratio(s['peak']['rps'] / one['peak']['rps']) if one else '–'} | "
                    f"{ratio(s['peak']['tokens_per_cpu_s'] / raw_cpu_rate(results, g2))} (server CPU {s['peak']['server_cpu_share']:.2f} of 2) | "
                    f"{latency_cell(paced(s, 0.5), 1e6 / limit)} | {latency_cell(paced(s, 0.9), 1e6 / limit)} | "
                    f"{mib(g2.get('rss_kib_idle', 0))} → {mib(s['rss_kib']['end'])} ({mib(s['rss_kib']['peak'])}) | {status_cell(s)} |"
                )
            add("")

    # ---- 4. peers
    add("## 4. Peers on the same workload (standard token endpoint, client_secret_basic, core 1)\n")
    add(
        "*÷ tokensmith* compares with tokensmith's standard endpoint (RS256, `tokensmith serve`, one worker, access "
        "log on) from section 2 of this run; *per CPU-second* divides each server's tokens by the CPU its own "
        "processes used, which is robust to other work on the shared core. The peers write no per-request log "
        "line in these set-ups; tokensmith with its access log off is in section 3.\n"
    )
    add("| server | peak ÷ tokensmith (tokens/s) | per CPU-second ÷ tokensmith's | per CPU-second ÷ raw RS256 | p50 / p99 at 50 % | p50 / p99 at 90 % | RSS end (peak) ÷ tokensmith's | responses |")
    add("|---|---|---|---|---|---|---|---|")
    if std_rs and baseline:
        add(
            f"| tokensmith (`tokensmith serve`, RS256) | 1.00 ({rate(std_rs['peak']['rps'])}) | 1.00 (server CPU "
            f"{std_rs['peak']['server_cpu_share']:.2f}) | {ratio(std_rs['peak']['tokens_per_cpu_s'] / raw_cpu_rate(results, baseline))} | "
            f"{latency_cell(paced(std_rs, 0.5), 1e6 / raw_rate(results, baseline))} | {latency_cell(paced(std_rs, 0.9), 1e6 / raw_rate(results, baseline))} | "
            f"1.00 ({mib(std_rs['rss_kib']['end'])}) | {status_cell(std_rs)} |"
        )
    for g in [g for g in results["groups"] if g["kind"] == "peer"]:
        if g.get("error"):
            add(f"| {g.get('label', g['id'])} | **not measured**: {g['error']} | | | | | | |")
            continue
        limit = raw_rate(results, g)
        for s in g.get("series", []):
            p = s["peak"]
            vs_on = ratio(p["rps"] / std_rs["peak"]["rps"]) if std_rs else "–"
            vs_cpu = ratio(p["tokens_per_cpu_s"] / std_rs["peak"]["tokens_per_cpu_s"]) if std_rs else "–"
            rss_ratio = ratio(s["rss_kib"]["end"] / std_rs["rss_kib"]["end"]) if std_rs else "–"
            add(
                f"| {g['label']} | **{vs_on}** ({rate(p['rps'])}) | {vs_cpu} (server CPU {p['server_cpu_share']:.2f}) | "
                f"{ratio(p['tokens_per_cpu_s'] / raw_cpu_rate(results, g))} | "
                f"{latency_cell(paced(s, 0.5), 1e6 / limit)} | {latency_cell(paced(s, 0.9), 1e6 / limit)} | "
                f"{rss_ratio} ({mib(s['rss_kib']['end'])}, peak {mib(s['rss_kib']['peak'])}) | {status_cell(s)} |"
            )
    add("")
    add(PEER_SETUP)

    # ---- 5. verification
    add("## 5. Verification (resource-server side)\n")
    verification = results.get("verification")
    if not verification:
        add("Not run in this run (`--only` without `verify`).\n")
    elif "error" in verification:
        add(f"Not measured: {verification['error']}\n")
    else:
        add(verification_section(verification))

    # ---- 6. profile
    add("## 6. Profile and recommendations\n")
    add(
        "What each change to the hot path bought, measured change by change (A/B on this machine), and what is "
        "left between tokensmith and the 0.80 target: [performance-notes.md](performance-notes.md#what-each-change-bought).\n"
    )
    add(profile_section(results))

    if plotted:
        add("## Plot\n")
        add("![Peak tokens/s as a share of the raw signing rate, and latency at 50 % and 90 % of peak](benchmarks.png)\n")
    return "\n".join(out).rstrip() + "\n"


VERIFICATION_METHOD = (
    "`tokensmith.verify.TokenVerifier.verify(token, scopes=['edit'])` (keys from a JWKS fetched once through an "
    "in-process HTTP transport) against PyJWT's `jwt.decode` with the same checks (key pre-loaded, algorithm pinned, "
    "iss, aud, exp and the RFC 9068 claims required, `typ` checked by hand) and against the bare `cryptography` "
    "signature check, the limit (signature already decoded, signing input already bytes). All three go over the same "
    "pool of distinct freshly issued tokens. *Distinct*: every call is the first for its token in that verifier "
    "(a new verifier per pass over the pool, sharing the fetched keys), with the verified-token cache on and full "
    "(1,024 entries for a pool of 4,096), so each call also pays for an insertion and an eviction. *Repeat*: one "
    "token again and again, answered by the cache (scopes, key retirement and expiry still checked). One pinned "
    "core (core 1), round-robin: 7 rounds, each contender once per round (`--seconds` split between the rounds), each ratio taken within its round per CPU-second "
    "and the median of the rounds reported (the machine is shared: other work comes and goes, and weighs on both "
    "sides of a ratio taken within one round); rates are per CPU-second, medians of the rounds. "
    "`taskset -c 1 .venv/bin/python bench/verify.py` reruns it alone.\n"
)


def verification_section(verification: dict[str, Any]) -> str:
    lines = [VERIFICATION_METHOD]
    lines.append("| alg | distinct ÷ bare check | repeat ÷ bare check | PyJWT ÷ bare check | distinct ÷ PyJWT | bare check |")
    lines.append("|---|---|---|---|---|---|")

    def share(v: dict[str, Any], name: str) -> float:
        # Median of the per-round ratios (per CPU-second); older runs: one ratio of rates.
        return v[name]["ratio"] if "ratio" in v[name] else v[name]["ops_per_s"] / v["signature_only"]["ops_per_s"]

    def speed(entry: dict[str, Any]) -> str:
        return rate(entry.get("ops_per_cpu_s", entry["ops_per_s"]))

    for algorithm, v in verification.items():
        bare, mine = v["signature_only"], v["tokensmith_verifier"]
        if "ops_per_s" not in mine:
            lines.append(f"| {algorithm} | **not measured** (hook in bench/verify.py): {mine['not_run']} | | {ratio(share(v, 'pyjwt'))} | | {speed(bare)} |")
            continue
        repeat_cell = (
            f"**{ratio(share(v, 'tokensmith_verifier_repeat'))}** ({speed(v['tokensmith_verifier_repeat'])})" if "tokensmith_verifier_repeat" in v else "–"
        )
        lines.append(
            f"| {algorithm} | **{ratio(share(v, 'tokensmith_verifier'))}** ({speed(mine)}) | {repeat_cell} | "
            f"{ratio(share(v, 'pyjwt'))} ({speed(v['pyjwt'])}) | {ratio(share(v, 'tokensmith_verifier') / share(v, 'pyjwt'))} | {speed(bare)} |"
        )
    return "\n".join(lines) + "\n"


PEER_SETUP = """### How each peer is set up

Each peer is installed in the benchmark's own environment (`.bench/venv`, `.bench/oidc_provider`),
never as a tokensmith dependency, set up as its documentation recommends for production as far as
this workload allows, with one worker pinned to core 1 and a confidential client `bench`
(client_secret_basic, scope `edit`):

- **Authlib** (`bench/peers/authlib_server.py`): Flask app with Authlib's
  `authlib.integrations.flask_oauth2.AuthorizationServer`, `ClientCredentialsGrant`, clients in a
  SQLite table through `OAuth2ClientMixin` (one SELECT per request, as in Authlib's guide), and a
  `JWTBearerTokenGenerator` (RFC 9068, RS256, `typ` at+jwt) whose `get_jwks()` returns a joserfc
  `KeySet` loaded once. `save_token` stores nothing (a JWT access token is self-contained). Served by
  gunicorn, one worker, `gthread` with 4 threads: gunicorn's default `sync` worker closes the
  connection after every response, so it cannot serve keep-alive without a proxy in front.
- **django-oauth-toolkit** (`bench/peers/dot_project/`): Django with `DEBUG=False`, only
  `contenttypes`, `auth` and `oauth2_provider` installed, PostgreSQL at 127.0.0.1:5432 with persistent
  connections (`CONN_MAX_AGE`), gunicorn one `gthread` worker (4 threads), the application created with
  `manage.py createapplication … confidential client-credentials`. DOT has **no JWT access tokens built
  in**: it issues opaque tokens and writes one row per token (PostgreSQL INSERT), so its figure is
  "cost of an opaque, stored token" and not of a signature. Two rows: DOT's default, where the client
  secret is hashed with Django's default password hasher (PBKDF2-SHA256, Django's iteration count) and
  every token request pays one full hash check; and `--no-hash-client-secret` (plain-text secret at
  rest, which DOT allows), which shows the rest of its request path. PostgreSQL's own processes are
  not pinned, and neither their CPU nor their memory is in DOT's figures (its per-CPU-second figure
  flatters it by that much).
- **node-oidc-provider** (`bench/peers/oidc_provider/server.js`, npm `oidc-provider` 9.x, installed
  into `.bench/oidc_provider` at bench time): `features.clientCredentials` and
  `features.resourceIndicators` enabled, a default resource whose `getResourceServerInfo` returns
  `accessTokenFormat: 'jwt'` and RS256, one RSA-2048 key, a static client, `NODE_ENV=production`,
  one Node.js process pinned to core 1 (its libuv thread pool, which runs WebCrypto signatures,
  shares that core). JWT access tokens are not written to the adapter, so the in-memory adapter
  (which oidc-provider warns against in production) is never consulted by this workload. It warns that
  Node.js 20 is not its supported runtime (22 LTS is); it runs correctly on 20.
"""


def best_experiment(results: dict[str, Any]) -> dict[str, Any] | None:
    """The best thin-route experiment (the ceilings are not tokensmith and do not count)."""
    base = measured(results, BASELINE_ID if group(results, BASELINE_ID) else "tokensmith-RS256")
    best = None
    for g in results["groups"]:
        if not g["id"].startswith("experiment-thin") or g.get("error"):
            continue
        value = measured(results, g["id"])
        if not value:
            continue
        candidate = {
            "id": g["id"],
            "label": g.get("note") or g["label"],
            "ratio_raw": value["raw"],
            "ratio_cpu": value["cpu"],
            "ratio_baseline": value["cpu"] / base["cpu"] if base else None,
        }
        if best is None or candidate["ratio_cpu"] > best["ratio_cpu"]:
            best = candidate
    return best


BASELINE_ID = "tokensmith-RS256-default"


def measured(results: dict[str, Any], group_id: str, endpoint: str = "seed") -> dict[str, float] | None:
    """A group's peak as ratios: wall-clock ÷ raw, per CPU-second ÷ raw per CPU-second,
    and CPU µs per token."""
    g = group(results, group_id)
    s = series(results, group_id, endpoint)
    if not g or not s or s.get("failed"):
        return None
    per_cpu = s["peak"]["tokens_per_cpu_s"]
    if "ratio_cpu_median" in s:
        return {"raw": s["ratio_wall_median"], "cpu": s["ratio_cpu_median"], "us": 1e6 / per_cpu if per_cpu else 0.0, "rps": s["peak"]["rps"]}
    return {
        "raw": s["peak"]["rps"] / raw_rate(results, g),
        "cpu": per_cpu / raw_cpu_rate(results, g),
        "us": 1e6 / per_cpu if per_cpu else 0.0,
        "rps": s["peak"]["rps"],
    }


def cite(results: dict[str, Any], group_id: str, endpoint: str = "seed") -> str:
    value = measured(results, group_id, endpoint)
    if not value:
        return "not measured in this run"
    return f"**{value['cpu']:.2f}** of raw per CPU-second, {value['raw']:.2f} wall-clock ({value['us']:.0f} µs of CPU per token)"


def micro_us(results: dict[str, Any], name: str) -> float | None:
    value = (results.get("micro") or {}).get(name) or {}
    return value.get("cpu_us")


def us(value: float | None) -> str:
    return f"{value:.1f} µs" if value is not None else "not measured"


def split(results: dict[str, Any], prof: dict[str, Any] | None, group_id: str) -> dict[str, Any] | None:
    """CPU µs per token by layer, without the profiler's own distortion: the CPU per
    token and the signature's share come from the round-robin measurement (no
    profiler attached); the profile only says how the rest splits across layers."""
    if not prof or "buckets" not in prof:
        return None
    value = measured(results, group_id)
    if value:
        total, sign = value["us"], value["us"] * value["cpu"]
    else:  # no round-robin figure: fall back on the profile's own numbers
        total = prof["us_per_request"]
        sign = sum(b["us_per_request"] for b in prof["buckets"] if b["bucket"].startswith("signature"))
    rest = [b for b in prof["buckets"] if not b["bucket"].startswith("signature")]
    rest_share = sum(b["share"] for b in rest) or 1.0
    layers = {b["bucket"]: (total - sign) * b["share"] / rest_share for b in rest}
    return {"total": total, "signature": sign, "layers": layers}


def bucket_us(results: dict[str, Any], prefix: str, group_id: str = BASELINE_ID, key: str = "profile") -> float:
    parts = split(results, results.get(key), group_id if group(results, group_id) else "tokensmith-RS256")
    if not parts:
        return 0.0
    return sum(v for name, v in parts["layers"].items() if name.startswith(prefix))


def profile_section(results: dict[str, Any]) -> str:
    prof = results.get("profile")
    other = results.get("profile_thin-granian-nolog")
    if not prof:
        return "Not run in this run.\n"
    if "error" in prof:
        return f"Not measured: {prof['error']}\n"
    base_id = BASELINE_ID if group(results, BASELINE_ID) else "tokensmith-RS256"
    mine = split(results, prof, base_id)
    theirs = split(results, other, "experiment-thin-granian-nolog") if other and "buckets" in other else None
    sign_us = mine["signature"]
    out: list[str] = []
    out.append(
        f"`py-spy record --native` at {prof['rate_hz']} Hz for {prof['seconds']:g} s on the tokensmith RS256 server "
        f"(`tokensmith serve`, one uvicorn worker on core 1, access log on) while wrk drives the seed endpoint at its "
        f"peak ({prof['busy_samples']:,} busy samples; py-spy itself on core 0). Each busy sample goes to the bucket of "
        "its innermost frame that names a layer (`bench/profiling.py`). py-spy stops the process for every native "
        f"sample, which slows it ({rate(prof['rps_while_sampling'])} while sampled), so the µs column does not come from "
        "the profile: the CPU per token and the signature's part of it are section 3's round-robin figures (no "
        "profiler attached), and the profile only splits the rest across layers in proportion to its samples."
    )
    if theirs:
        out.append(
            " The last two columns do the same for the best experiment (the thin route on granian, access log off)."
        )
    out.append("\n")
    names = ["signature (cryptography / OpenSSL)", *sorted(mine["layers"], key=lambda n: -mine["layers"][n])]
    if theirs:
        names += [n for n in sorted(theirs["layers"], key=lambda n: -theirs["layers"][n]) if n not in names]
        out.append("| where the CPU goes | today: profile share | today: µs per token | thin route, granian, no log: profile share | µs per token |")
        out.append("|---|---|---|---|---|")
    else:
        out.append("| where the CPU goes | profile share | µs per token |")
        out.append("|---|---|---|")

    def cells(profile: dict[str, Any], parts: dict[str, Any], name: str) -> str:
        share = next((b["share"] for b in profile["buckets"] if b["bucket"] == name), None)
        value = parts["signature"] if name.startswith("signature") else parts["layers"].get(name)
        return f"{share:.1%} | {value:.0f}" if share is not None and value is not None else "– | –"

    for name in names:
        row = f"| {name} | {cells(prof, mine, name)}"
        if theirs:
            row += f" | {cells(other, theirs, name)}"
        out.append(row + " |")
    total = f"| **CPU per token** | | **{mine['total']:.0f}**"
    if theirs:
        total += f" | | **{theirs['total']:.0f}**"
    out.append(total + " |\n")
    overhead = mine["total"] - sign_us
    out.append(
        f"Today the signature is {sign_us / mine['total']:.0%} of the server's CPU per token; the other "
        f"{overhead:.0f} µs are what stands between today's rate and the limit. Reaching **0.80** of the raw rate "
        f"allows at most **{0.25 * sign_us:.0f} µs** of CPU per token besides the signature (0.25 × one signature) — "
        "for the HTTP server, the event loop, the kernel's socket work, parsing, authentication, logging and metrics "
        "together.\n"
    )
    micro = results.get("micro") or {}
    if micro and "error" not in micro:
        out.append("Per-piece costs measured alone on the same core (`bench/micro.py`, CPU µs per call, no other thread waiting for the GIL):\n")
        out.append("| piece | CPU µs per call | ÷ one RS256 signature |")
        out.append("|---|---|---|")
        for value in micro.values():
            if "cpu_us" in value:
                out.append(f"| {value['what']} | {value['cpu_us']:.1f} | {value['cpu_us'] / sign_us:.3f} |")
            else:
                out.append(f"| {value['what']} | not run: {value['not_run']} | |")
        out.append("")
    out.append(recommendations(results, sign_us))
    return "\n".join(out) + "\n"


def recommendations(results: dict[str, Any], sign_us: float) -> str:
    base = measured(results, BASELINE_ID) or measured(results, "tokensmith-RS256")
    if not base:
        return ""
    log_wake = bucket_us(results, "access log: waking")
    log_writer = bucket_us(results, "access log (writer thread)")
    log_build = bucket_us(results, "access log: LogRecord") + bucket_us(results, "request id + access-log wrapper")
    framework = bucket_us(results, "Starlette") + bucket_us(results, "request id")
    writes = bucket_us(results, "socket writes")
    line_today, line_direct = micro_us(results, "access_log_line"), micro_us(results, "direct_json_line")
    ceiling_uv, ceiling_gr = measured(results, "experiment-floor-sign-uvicorn"), measured(results, "experiment-floor-sign-granian")
    static_uv = measured(results, "experiment-floor-static-uvicorn")
    tree = results.get("tree") or {}
    log_total = log_wake + log_build + log_writer
    log_micro = micro_us(results, "log_access_line")
    if tree.get("log_access"):
        rec_log = (
            "1. **The access log: done in the measured tree** (logs.py builds each line directly with `log_access` and "
            "a writer thread drains a buffer every 50 ms instead of being woken per line, as this benchmark's first run "
            f"recommended). It now costs about {log_total:.0f} µs per token in the profile"
            + (f" ({us(log_micro)} to build a line alone, against {us(line_today)} through `logging`)" if log_micro and line_today else "")
            + f"; turning it off gives {cite(results, 'tokensmith-RS256-nolog')}, against {cite(results, BASELINE_ID)} with it on."
        )
    else:
        rec_log = (
            "1. **Stop waking a thread for every access-log line** (logs.py). The access log costs about "
            f"{log_total:.0f} µs per token: {log_build:.0f} µs to build and hand over the record, "
            f"{log_wake:.0f} µs in the `SimpleQueue.put` that wakes the writer thread (a futex wake and a context switch "
            f"on the same core, every request), and {log_writer:.0f} µs in the writer thread, which runs the handler and "
            "one `write` per line and takes the GIL back each time — so every GIL release on the request path (a syscall "
            "such as the jti's `getrandom`) can become a switch to it. "
            + (
                f"Building the line costs {us(line_today)} when measured alone (LogRecord, `findCaller`, `vars(record)`, "
                f"orjson, `copy.copy` in `QueueHandler.prepare`); one `orjson.dumps` of the same fields costs {us(line_direct)}. "
                if line_today is not None and line_direct is not None
                else ""
            )
            + "Keep the JSON line and its fields, but build it directly and let the writer drain a buffer on a timer "
            "(every 50–100 ms, or when it passes 64 KiB) instead of blocking on the queue — or write from the event loop "
            f"once per loop iteration. Upper bound of this change, access log off: {cite(results, 'tokensmith-RS256-nolog')}."
        )
    if tree.get("token_route"):
        rec_route = (
            "2. **The thin route for the two token endpoints: done in the measured tree** (http/token_route.py answers "
            "POST on both paths in one ASGI layer with a prepared header list, and does the request id, log line and "
            "metrics itself; since issue 10 every token request takes the one exchange in src/tokensmith/exchange/). "
            f"Starlette and the wrapper middlewares now take about {framework:.0f} µs per token in the profile."
        )
    else:
        rec_route = (
            "2. **A thin ASGI route for the two token endpoints** (http/app.py, seed_token.py, oauth_token.py). Answer "
            "`POST /v1/api/oauth/token` and `POST /oauth2/token` in one plain ASGI callable — headers read once from "
            "`scope['headers']`, the query with the existing `parse_parameters`, the same issuing path, a "
            "precomputed header list plus content-length and x-request-id, then the metrics and the log line inline — and "
            "keep Starlette for every other route. The jobs of RequestContext and MetricsMiddleware (request id, log, "
            "clean 500, latency and counts) move into that callable for these two paths instead of each wrapping the app "
            f"and `send`. The profile charges Starlette and the wrappers {framework:.0f} µs per token today. Measured with "
            f"bench/experiments/thin_app.py: log on {cite(results, 'experiment-thin-uvicorn')}; log off "
            f"{cite(results, 'experiment-thin-uvicorn-nolog')}."
        )
    lines = [
        "### Recommendations (measured in this run; the src/ changes are for the owners of those files)\n",
        "Measured tree: commit "
        f"{tree.get('commit') or '?'}{' plus uncommitted changes in src/' if tree.get('uncommitted_changes_in_src') else ''}.\n",
        "Today's seed endpoint (`tokensmith serve` as shipped, round-robin median of section 3): "
        f"{cite(results, BASELINE_ID) if group(results, BASELINE_ID) else cite(results, 'tokensmith-RS256')}.\n",
        rec_log,
        rec_route,
        f"3. **granian for `tokensmith serve`.** Same app factory on granian: {cite(results, 'tokensmith-RS256-granian')}; "
        f"the thin route on granian, log off: {cite(results, 'experiment-thin-granian-nolog')}. uvicorn writes the "
        "response head and body with two `write` calls (uvicorn/protocols/http/httptools_impl.py), and the "
        f"profile charges socket writes {writes:.0f} µs per token. The ceiling experiments say how much any Python "
        "endpoint can get on each server: one RS256 signature and nothing else reaches "
        f"{cite(results, 'experiment-floor-sign-uvicorn')} on uvicorn and {cite(results, 'experiment-floor-sign-granian')} "
        "on granian"
        + (f"; a static response with no work costs {static_uv['us']:.0f} µs of CPU per request on uvicorn" if static_uv else "")
        + ".",
        "4. **Smaller per-token items** (profile µs per token; alone, from bench/micro.py, where measured): the "
        f"Prometheus updates {bucket_us(results, 'metrics'):.0f} µs ({us(micro_us(results, 'metrics_update'))} alone: cache "
        "the labelled children once per endpoint instead of calling `.labels()` per request, if not done yet), the brute-force guard "
        f"check (keys, blocked-for lookup) {bucket_us(results, 'brute-force'):.0f} µs, token assembly {bucket_us(results, 'token assembly'):.0f} µs ({us(micro_us(results, 'token_assembly'))} "
        f"alone; its jti is one `getrandom` syscall, {us(micro_us(results, 'jti_urandom'))} alone, "
        f"{us(micro_us(results, 'jti_buffered'))} from a 4 KiB buffer), our parsing {bucket_us(results, 'our request parsing'):.0f} µs ({us(micro_us(results, 'request_parsing'))} "
        f"alone; the rest is reading the empty body through a Starlette `Request`) and the "
        f"HMAC secret check with the scope decision {bucket_us(results, 'client authentication'):.0f} µs "
        f"({us(micro_us(results, 'secret_check'))} alone). Each is small; together they are most of what is left "
        "once 1 and 2 are done.",
        "5. **Beyond one core**: RSA-2048 is the floor of one signature per token. `--workers N` scales with cores "
        "(the two-worker row is bounded by sharing core 0 with wrk on this two-core machine). ES256 and EdDSA keys "
        "sign about ten times faster than RS256 (section 1), so with them the web stack is nearly the whole cost and "
        "changes 1–3 matter even more.",
        "",
    ]
    reach = [(name, value) for name, value in (("uvicorn", ceiling_uv), ("granian", ceiling_gr)) if value]
    best = best_experiment(results)
    line_piece = "log_access_line" if micro_us(results, "log_access_line") is not None else "direct_json_line"
    essentials = [micro_us(results, n) for n in ("request_parsing", "secret_check", "token_assembly", "metrics_update", line_piece)]
    if reach:
        name, top = max(reach, key=lambda item: item[1]["cpu"])
        server_cost = sign_us / top["cpu"]  # signature + the server's own per-request work
        budget = sign_us / 0.80
        text = (
            "**Can tokensmith reach 0.80 of raw RS256 on one core?** "
            + "; ".join(f"{'On' if i == 0 else 'on'} {n}, a signature and nothing else reaches {v['cpu']:.2f}" for i, (n, v) in enumerate(reach))
            + (f"; the best tokensmith route measured here reaches {best['ratio_cpu']:.2f} ({best['label']})" if best else "")
            + f"; today's endpoint {base['cpu']:.2f}. At 0.80 a token may cost {budget:.0f} µs of CPU; the {name} "
            f"ceiling already spends {server_cost:.0f} µs on the signature and the server's own request handling, "
            f"which leaves **{budget - server_cost:.0f} µs** for everything tokensmith does per token."
        )
        if all(v is not None for v in essentials):
            floor_app = sum(essentials)  # type: ignore[arg-type]
            best_case = sign_us / (server_cost + floor_app)
            text += (
                f" Measured alone, the pieces that must stay (parsing, HMAC check, token assembly, metrics, a directly "
                f"built log line) add up to {floor_app:.0f} µs, so even with changes 1–4 done perfectly the best case is "
                f"about **{best_case:.2f}**"
                + (
                    ": 0.80 is reachable, with little margin."
                    if best_case >= 0.80
                    else ": 0.80 is just out of reach for one Python process on this stack, unless the metrics and log "
                    "work per token is batched as well (counted per event-loop iteration rather than per request) or a "
                    "cheaper HTTP path than these two servers is found. 0.75 and above is a realistic target for changes 1–4."
                )
            )
        lines.append(text + "\n")
    return "\n".join(lines)


# -- the plot -----------------------------------------------------------------------


SHORT = {
    "tokensmith-RS256-default": "tokensmith RS256 as shipped (round-robin)",
    "tokensmith-RS256-nolog": "tokensmith RS256, log off",
    "tokensmith-RS256-reuse": "tokensmith RS256, token reuse on",
    "tokensmith-RS256-2workers": "tokensmith RS256, 2 workers (÷ 2 × raw)",
    "tokensmith-RS256-granian": "tokensmith RS256 on granian",
    "experiment-thin-uvicorn": "exp.: thin route (uvicorn)",
    "experiment-thin-uvicorn-nolog": "exp.: thin route, log off (uvicorn)",
    "experiment-thin-granian-nolog": "exp.: thin route, log off (granian)",
    "experiment-floor-sign-uvicorn": "ceiling: sign only (uvicorn)",
    "experiment-floor-sign-granian": "ceiling: sign only (granian)",
    "peer-authlib": "Authlib",
    "peer-dot-plain": "DOT (plain secret, opaque)",
    "peer-dot-hashed": "DOT (default hashed secret)",
    "peer-oidc-provider": "node-oidc-provider",
}


def plot(results: dict[str, Any]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    # (label, per-CPU-second ratio, wall-clock ratio, colour)
    bars: list[tuple[str, float, float, str]] = []
    colours = {"seed": "#1f77b4", "standard": "#6baed6", "variant": "#2ca02c", "experiment": "#98df8a", "ceiling": "#bdbdbd", "peer": "#ff7f0e"}
    for g in results["groups"]:
        if g.get("error") or g["id"] == "experiment-floor-static-uvicorn":
            continue
        cores = int((g.get("details") or {}).get("workers", 1) or 1)
        for s in g.get("series", []):
            if g["kind"] == "tokensmith":
                name, colour = f"tokensmith {g['algorithm']}", colours[s["endpoint"]]
            else:
                kind = "ceiling" if "floor" in g["id"] else "experiment" if g["id"].startswith("experiment") else g["kind"]
                name, colour = SHORT.get(g["id"], g["label"]), colours[kind]
            per_cpu = s.get("ratio_cpu_median", s["peak"]["tokens_per_cpu_s"] / raw_cpu_rate(results, g))
            wall = s.get("ratio_wall_median", s["peak"]["rps"] / (cores * raw_rate(results, g)))
            bars.append((f"{name} · {s['endpoint']}", per_cpu, wall, colour))
    if not bars:
        return False
    lat_rows = []
    for group_id, endpoint in (("tokensmith-RS256", "seed"), ("tokensmith-RS256", "standard"), ("peer-authlib", "standard"),
                               ("peer-dot-plain", "standard"), ("peer-oidc-provider", "standard")):  # fmt: skip
        g, s = group(results, group_id), series(results, group_id, endpoint)
        if g and s and s.get("paced"):
            label = f"tokensmith · {endpoint}" if group_id.startswith("tokensmith") else SHORT.get(group_id, group_id)
            lat_rows.append((label, s, raw_rate(results, g)))

    fig, axes = plt.subplots(2, 1, figsize=(12, 12), gridspec_kw={"height_ratios": [3, 2]})
    ax = axes[0]
    ax.barh(range(len(bars)), [b[1] for b in bars], color=[b[3] for b in bars])
    ax.scatter([b[2] for b in bars], range(len(bars)), color="black", s=12, zorder=3, label="wall-clock tokens/s ÷ raw signatures/s")
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=1)
    ax.axvline(0.8, color="grey", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("tokens per server CPU-second ÷ signatures per CPU-second of the raw sign() loop (same algorithm, same core, same run)")
    ax.set_title("Throughput relative to the signing limit (1.0 = raw sign() loop; dashed: the 0.80 target)")
    ax.legend(fontsize=8, loc="lower right")
    for index, (_, value, _, _) in enumerate(bars):
        ax.text(min(value, 1.05) + 0.005, index, f"{value:.2f}", va="center", fontsize=7)

    ax = axes[1]
    width = 0.2
    for offset, (fraction, pct, colour) in enumerate(
        [(0.5, "p50", "#9ecae1"), (0.5, "p99", "#3182bd"), (0.9, "p50", "#fdae6b"), (0.9, "p99", "#e6550d")]
    ):
        values = []
        for _, s, limit in lat_rows:
            point = paced(s, fraction)
            values.append(point["corrected_latency_us"][pct] / (1e6 / limit) if point else 0)
        ax.bar([i + (offset - 1.5) * width for i in range(len(lat_rows))], values, width, label=f"{pct} at {fraction:.0%} of the server's peak", color=colour)
    ax.set_xticks(range(len(lat_rows)), [row[0] for row in lat_rows], fontsize=9)
    ax.set_yscale("log")
    ax.set_ylabel("latency ÷ one raw RS256 signature's time")
    ax.set_title("RS256 latency at 50 % and 90 % of each server's own peak (fixed rate, corrected for queueing)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(DOCS / "benchmarks.png", dpi=100)
    plt.close(fig)
    return True
