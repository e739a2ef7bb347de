"""`make timing`: can response time tell an unknown client id from a wrong secret?

    python bench/timing.py                  # 2,000 samples per condition (about 2 minutes)
    python bench/timing.py --samples 5000
    python bench/timing.py --no-docs        # measure only

A real `tokensmith serve` (one worker pinned to core 1, SQLite, brute-force protection
off so that guessing is not blocked) is asked for tokens with failing credentials from
one keep-alive connection on core 0, the conditions of each comparison interleaved in
a random order so that drift on the shared machine hits them alike. Response time is
measured at the client, as an attacker sees it.

Comparisons (each: unknown client id vs a known id with a wrong secret):

1. steady state: one unknown id asked again and again vs a known id (both cached: the
   client cache keeps unknown ids too), which is what repeated probing of one id sees;
2. store lookups: a fresh unknown id every time vs a known id, on a node whose client
   cache is off (TOKENSMITH_CLIENT_CACHE_SECONDS=0), so both look the id up in the store;
3. fresh unknown ids vs a known id another caller keeps warm in the cache (one probe of
   an id that is in use): the cache's own side channel, reported as a trade-off;
4. a client with an imported (argon2id) secret, wrong secret: the documented trade-off.

Statistics, no dependencies: Mann-Whitney U (normal approximation with tie correction)
with its effect size A = P(X > Y), the two-sample Kolmogorov-Smirnov D with its
asymptotic p-value, and a bootstrap 95 % interval of the difference of medians. A pair
counts as indistinguishable when |A - 0.5| <= 0.05 and the interval of the median
difference lies within +-max(25 us, 2 % of the median): a difference too small to
matter, whatever its p-value (with thousands of samples a p-value finds differences of
a few microseconds that no attacker across a network could use). The verdicts go into
the measured section of docs/security.md and .bench/timing.json.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DOCS, LOADGEN_CPU, SERVER_CPU, STATE, load_average, log, replace_section
from servers import Server, tokensmith

SECTION = "## Measured: response time of credential failures"
SEED = "/v1/api/oauth/token?scope=edit"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2000, help="samples per condition (default 2000)")
    parser.add_argument("--argon2-samples", type=int, default=150, help="samples for the imported-secret condition (default 150)")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (order of conditions, bootstrap)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/security.md")
    return parser.parse_args(argv)


# -- the server -------------------------------------------------------------------------


def start_server(extra_env: dict[str, str]) -> tuple[Server, dict[str, str]]:
    cli = [sys.executable, "-m", "tokensmith"]
    server = tokensmith(
        "RS256", cli=cli, client_id="known-client", scratch_prefix="timing-",
        extra_env={"TOKENSMITH_BRUTEFORCE_ENABLED": "false", **extra_env},
    )  # fmt: skip
    subprocess.run(
        [*cli, "clients", "create", "--client-id", "imported-client", "--scope", "edit", "--secret-stdin", "--json"],
        env={**os.environ, **server.env}, input=secrets.token_urlsafe(12) + "\n", capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    server.start()
    return server, {"known": server.client_id, "known_secret": server.client_secret}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()


class Prober:
    """One keep-alive connection; `probe` times one request, in nanoseconds."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def probe(self, authorization: str, expect: int = 401) -> int:
        headers = {"Authorization": authorization, "Content-Length": "0"}
        started = time.perf_counter_ns()
        try:
            self.connection.request("POST", SEED, headers=headers)
            response = self.connection.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        elapsed = time.perf_counter_ns() - started
        if response.status != expect:
            raise RuntimeError(f"expected {expect}, got {response.status}")
        return elapsed


# -- statistics --------------------------------------------------------------------------


def ranks(values: list[float]) -> tuple[list[float], float]:
    """Average ranks (1-based) and the tie term sum(t^3 - t)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    ties = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            result[order[k]] = rank
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    return result, ties


def mann_whitney(a: list[float], b: list[float]) -> dict[str, float]:
    n1, n2 = len(a), len(b)
    combined, ties = ranks(a + b)
    u1 = sum(combined[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (u1 - n1 * n2 / 2) / sigma if sigma else 0.0
    return {"U": u1, "z": z, "p": math.erfc(abs(z) / math.sqrt(2)), "A": u1 / (n1 * n2)}


def kolmogorov_smirnov(a: list[float], b: list[float]) -> dict[str, float]:
    sa, sb = sorted(a), sorted(b)
    i = j = 0
    d = 0.0
    while i < len(sa) and j < len(sb):
        x = min(sa[i], sb[j])
        while i < len(sa) and sa[i] == x:
            i += 1
        while j < len(sb) and sb[j] == x:
            j += 1
        d = max(d, abs(i / len(sa) - j / len(sb)))
    ne = len(sa) * len(sb) / (len(sa) + len(sb))
    lam = (math.sqrt(ne) + 0.12 + 0.11 / math.sqrt(ne)) * d
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return {"D": d, "p": min(1.0, max(0.0, p))}


def bootstrap_median_difference(a: list[float], b: list[float], resamples: int, rng: random.Random) -> tuple[float, float]:
    differences = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b))) for _ in range(resamples)
    )
    return differences[int(0.025 * resamples)], differences[int(0.975 * resamples) - 1]


@dataclass
class Comparison:
    name: str
    left: str
    right: str
    a: list[float]  # microseconds
    b: list[float]

    def analyse(self, resamples: int, rng: random.Random) -> dict[str, Any]:
        median_a, median_b = statistics.median(self.a), statistics.median(self.b)
        low, high = bootstrap_median_difference(self.a, self.b, resamples, rng)
        mwu = mann_whitney(self.a, self.b)
        ks = kolmogorov_smirnov(self.a, self.b)
        margin = max(25.0, 0.02 * statistics.median(self.a + self.b))
        indistinguishable = abs(mwu["A"] - 0.5) <= 0.05 and -margin <= low and high <= margin
        return {
            "name": self.name,
            "left": self.left,
            "right": self.right,
            "n": [len(self.a), len(self.b)],
            "median_us": [median_a, median_b],
            "p10_us": [_quantile(self.a, 0.1), _quantile(self.b, 0.1)],
            "p90_us": [_quantile(self.a, 0.9), _quantile(self.b, 0.9)],
            "median_difference_us": median_a - median_b,
            "median_difference_ci95_us": [low, high],
            "margin_us": margin,
            "mann_whitney": mwu,
            "ks": ks,
            "indistinguishable": indistinguishable,
        }


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- the measurement ----------------------------------------------------------------------


def interleaved(prober: Prober, conditions: dict[str, Any], samples: dict[str, int], rng: random.Random) -> dict[str, list[float]]:
    """Runs each condition's probe `samples[name]` times, in a random interleaved order,
    after a warm-up of each; returns microseconds."""
    for probe in conditions.values():
        for _ in range(20):
            probe()
    order = [name for name, count in samples.items() for _ in range(count)]
    rng.shuffle(order)
    timings: dict[str, list[float]] = {name: [] for name in samples}
    for name in order:
        timings[name].append(conditions[name]() / 1000)
    return timings


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    os.sched_setaffinity(0, {int(LOADGEN_CPU)})
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    load_before = load_average()
    comparisons: list[Comparison] = []

    def fresh_unknown() -> str:
        return basic("unknown-" + secrets.token_hex(8), "tks_" + secrets.token_urlsafe(32))

    # 1, 3, 4: default cache (2 s): unknown ids are cached like known ones.
    server, ids = start_server({})
    try:
        prober = Prober(server.port)
        fixed_unknown = basic("unknown-" + secrets.token_hex(8), "tks_" + secrets.token_urlsafe(32))
        wrong = lambda: basic(ids["known"], "tks_" + secrets.token_urlsafe(32))  # noqa: E731
        keeper = Prober(server.port)  # "another caller" who keeps the known id warm
        log(f"server up on core {SERVER_CPU}; steady state: {args.samples} samples per condition")
        steady = interleaved(
            prober, {"unknown": lambda: prober.probe(fixed_unknown), "wrong": lambda: prober.probe(wrong())}, {"unknown": args.samples, "wrong": args.samples}, rng
        )
        comparisons.append(Comparison("steady state (the same ids probed again and again)", "unknown id", "known id, wrong secret", steady["unknown"], steady["wrong"]))

        log("fresh unknown ids vs a known id kept warm by another caller")

        def after_the_owner(authorization: Callable[[], str]) -> Callable[[], int]:
            # The owner's request (not timed) comes before the probe in both conditions,
            # so that the only difference left is whether the probed id is in the cache.
            def probe() -> int:
                keeper.probe(basic(ids["known"], ids["known_secret"]), expect=200)
                return prober.probe(authorization())

            return probe

        warm = interleaved(
            prober, {"unknown": after_the_owner(fresh_unknown), "wrong": after_the_owner(wrong)}, {"unknown": args.samples, "wrong": args.samples}, rng
        )
        comparisons.append(Comparison("fresh unknown id vs a known id in use (cached)", "fresh unknown id", "known id in use, wrong secret", warm["unknown"], warm["wrong"]))

        log(f"imported (argon2id) secret: {args.argon2_samples} samples per condition")
        imported = interleaved(
            prober,
            {"unknown": lambda: prober.probe(fixed_unknown), "imported": lambda: prober.probe(basic("imported-client", secrets.token_urlsafe(12)))},
            {"unknown": args.argon2_samples, "imported": args.argon2_samples},
            rng,
        )
        comparisons.append(Comparison("imported secret (argon2id), the documented trade-off", "unknown id", "imported-secret client, wrong secret", imported["unknown"], imported["imported"]))
    finally:
        server.stop()
        server.cleanup()

    # 2: no client cache: every request looks its id up in the store.
    server, ids = start_server({"TOKENSMITH_CLIENT_CACHE_SECONDS": "0"})
    try:
        prober = Prober(server.port)
        wrong = lambda: basic(ids["known"], "tks_" + secrets.token_urlsafe(32))  # noqa: E731
        log("store lookups (client cache off)")
        cold = interleaved(
            prober, {"unknown": lambda: prober.probe(fresh_unknown()), "wrong": lambda: prober.probe(wrong())}, {"unknown": args.samples, "wrong": args.samples}, rng
        )
        comparisons.insert(1, Comparison("store lookups (client cache off)", "fresh unknown id", "known id, wrong secret", cold["unknown"], cold["wrong"]))
    finally:
        server.stop()
        server.cleanup()

    results = [c.analyse(args.bootstrap, rng) for c in comparisons]
    return {
        "started_at": started_at,
        "command": "python bench/timing.py " + " ".join(sys.argv[1:]),
        "samples": args.samples,
        "argon2_samples": args.argon2_samples,
        "bootstrap": args.bootstrap,
        "load_average": {"start": load_before, "end": load_average()},
        "comparisons": results,
    }


# -- docs/security.md -------------------------------------------------------------------------


def section(result: dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        f"Written by `make timing` (`{result['command'].strip()}`) on {result['started_at']}; only this section is "
        "replaced by it. Client-side response times of `POST /v1/api/oauth/token` with failing Basic credentials, "
        "one keep-alive connection, conditions interleaved at random; server on core 1, client on core 0, "
        f"brute-force protection off; shared 2-core machine (load average {result['load_average']['start']} → "
        f"{result['load_average']['end']}). A = P(first > second) from the Mann-Whitney U; "
        "*indistinguishable* means |A − 0.5| ≤ 0.05 and the bootstrap 95 % interval of the median difference "
        "within ± max(25 µs, 2 % of the median).",
        "",
        "| comparison | n | medians (µs) | median difference, 95 % CI (µs) | Mann-Whitney A, p | KS D, p | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in result["comparisons"]:
        low, high = c["median_difference_ci95_us"]
        verdict = "**indistinguishable**" if c["indistinguishable"] else "**distinguishable**"
        lines.append(
            f"| {c['name']}: {c['left']} vs {c['right']} | {c['n'][0]:,} / {c['n'][1]:,} | "
            f"{c['median_us'][0]:,.0f} / {c['median_us'][1]:,.0f} | {c['median_difference_us']:+,.1f} [{low:+,.1f}, {high:+,.1f}] | "
            f"{c['mann_whitney']['A']:.3f}, {c['mann_whitney']['p']:.2g} | {c['ks']['D']:.3f}, {c['ks']['p']:.2g} | {verdict} |"
        )
    lines += [
        "",
        "How to read it: the first two rows are the claim, an unknown id and a wrong secret take the same time, "
        "whether the id is answered from the node's cache (every probe after the first within "
        "`TOKENSMITH_CLIENT_CACHE_SECONDS`) or from the store (a miss); `make timing` exits non-zero unless both "
        "say indistinguishable (a store lookup of an unknown id decodes a decoy row of a client's shape, so it "
        "does the work of a known one: src/tokensmith/store/clients.py). The third row is the client "
        "cache's side channel (an id someone is using right now answers from memory, an id the node has not seen "
        "needs a store lookup); the fourth is the imported-secret trade-off. All but the first are bounded by "
        "brute-force protection, which is on in production (each probe is a counted failure: 10 per id and 20 per "
        "address a minute, then growing blocks); see the trade-offs above.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path = DOCS / "security.md") -> None:
    """Replaces the measured section of docs/security.md; the rest is left as it is."""
    replace_section(path, SECTION, text, "# Security\n")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    result = measure(args)
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "timing.json").write_text(json.dumps(result, indent=1) + "\n")
    text = section(result)
    print(text)
    if not args.no_docs:
        write_section(text)
    claim = result["comparisons"][:2]
    return 0 if all(c["indistinguishable"] for c in claim) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
