"""`make bench` (after client_auth.py): DPoP token issuance beside bearer issuance, and
DPoP verification at the resource server beside bearer verification.

    python bench/dpop.py                 # 3 rounds of 5 s points, then verification
    python bench/dpop.py --seconds 3 --no-docs

Issuance: one `tokensmith serve` (RS256 tokens, one pinned worker, SQLite), client
`bench` (client_secret_basic) on `POST /oauth2/token`; the DPoP points send each
request with a fresh ES256 proof (its jti is single use), signed before the point and
sent in order by bench/wrk/bodies.lua (BENCH_LINE_HEADER=DPoP). Points alternate, bearer then DPoP, for three
rounds; the ratio is tokens per server CPU-second, per round.

Verification: tokensmith.verify in this process, the same tokens verified again and
again (the verified-token cache's case, which a resource server sees): a bearer token,
then a DPoP-bound one with a fresh proof per call (signed beforehand). Writes the
"DPoP" section of docs/benchmarks.md and .bench/dpop.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_load
import httpx
from common import STATE, log, publish
from servers import Endpoint, tokensmith

from tokensmith.client.dpop import DPoPKey
from tokensmith.verify import DPoPChecker, Presentation, TokenVerifier

SECTION = "## DPoP: bound tokens beside bearer tokens"
PATH = "/oauth2/token"
BODY = "grant_type=client_credentials&scope=edit"
TARGET = 0.6  # issue 12: at least this share of the bearer rate, for each
ROUNDS = 3
API = "https://api.bench.example/orders"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per point (default 5)")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    return parser.parse_args(argv)


def issuance(seconds: float) -> dict[str, Any]:
    server = tokensmith("RS256", cli=[sys.executable, "-m", "tokensmith"], scratch_prefix="dpop-")
    key = DPoPKey()
    url = server.env["TOKENSMITH_ISSUER"] + PATH
    endpoint = Endpoint("standard", PATH, BODY)
    rounds: list[dict[str, Any]] = []
    try:
        server.start()
        http_load.wrk(server, endpoint, seconds=1.0, connections=http_load.PEAK_CONNECTIONS)
        for _ in range(ROUNDS):
            bearer = http_load.wrk(server, endpoint, seconds=seconds, connections=http_load.PEAK_CONNECTIONS)
            # Enough proofs for one and a half times the bearer rate: none is sent twice.
            count = int(bearer["rps"] * seconds * 1.5) + 1000
            path = STATE / "dpop-proofs.txt"
            path.write_text("\n".join(key.proof("POST", url, now=time.time()) for _ in range(count)) + "\n")
            bound = http_load.wrk(server, endpoint, seconds=seconds, connections=http_load.PEAK_CONNECTIONS,
                                  script="bodies.lua", extra_env={"BENCH_BODIES_FILE": str(path), "BENCH_LINE_HEADER": "DPoP"})  # fmt: skip
            for report in (bearer, bound):
                if report["non200"] or report["bad_body"]:
                    raise RuntimeError(f"failed requests: {report['statuses']} {report['first_error']}")
            rounds.append({"bearer": bearer, "dpop": bound, "ratio": bound["tokens_per_cpu_s"] / bearer["tokens_per_cpu_s"]})
        verified = verification(server, key, url)
    finally:
        server.stop()
        server.cleanup()
    return {
        "rounds": [{"ratio": r["ratio"], "bearer_tokens_per_cpu_s": r["bearer"]["tokens_per_cpu_s"], "dpop_tokens_per_cpu_s": r["dpop"]["tokens_per_cpu_s"],
                    "bearer_rps": r["bearer"]["rps"], "dpop_rps": r["dpop"]["rps"], "dpop_p99_us": r["dpop"]["latency_us"]["p99"]} for r in rounds],
        "ratio_median": statistics.median(r["ratio"] for r in rounds),
        "verification": verified,
    }  # fmt: skip


def verification(server: Any, key: DPoPKey, url: str, calls: int = 10_000) -> dict[str, Any]:
    """Verifications per CPU-second of one token verified again and again: a bearer
    token, then a DPoP-bound one with a fresh proof each call (signed beforehand: the
    client's cost, not the resource server's); with the verified-token cache (what a
    resource server sees for a token it has seen) and without it (every token new).
    Three rounds each, alternating; medians."""
    auth = {"Authorization": server.authorization, "Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=server.base_url) as http:
        bearer = http.post(PATH, headers=auth, content=BODY).json()["access_token"]
        bound = http.post(PATH, headers={**auth, "DPoP": key.proof("POST", url, now=time.time())}, content=BODY).json()["access_token"]
    issuer = server.env["TOKENSMITH_ISSUER"]
    results = {}
    for cache, entries in (("cached", 10_000), ("uncached", 0)):
        verifier = TokenVerifier(issuer, issuer, dpop=DPoPChecker(replay_entries=ROUNDS * calls + 1), cache_max_entries=entries)
        verifier.verify(bearer)
        rounds = []
        for _ in range(ROUNDS):
            proofs = [Presentation("DPoP", key.proof("GET", API, now=time.time(), access_token=bound), "GET", API) for _ in range(calls)]
            started = time.process_time()
            for _ in range(calls):
                verifier.verify(bearer)
            bearer_rate = calls / (time.process_time() - started)
            started = time.process_time()
            for presentation in proofs:
                verifier.verify(bound, presentation=presentation)
            dpop_rate = calls / (time.process_time() - started)
            rounds.append((dpop_rate / bearer_rate, bearer_rate, dpop_rate))
        ratio, bearer_rate, dpop_rate = sorted(rounds)[ROUNDS // 2]
        results[cache] = {"ratio_median": ratio, "bearer_per_cpu_s": bearer_rate, "dpop_per_cpu_s": dpop_rate, "ratios": [r[0] for r in rounds]}
    return results


def render(result: dict[str, Any], when: str) -> str:
    rounds = result["rounds"]
    middle = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
    spread = ", ".join(f"{r['ratio']:.2f}" for r in rounds)
    verified = result["verification"]
    lines = [
        SECTION, "",
        f"Measured {when} by `bench/dpop.py` (run by `make bench`; alone: `make bench-dpop`). Issuance: one `tokensmith serve`, "
        "RS256 tokens, one worker pinned to its core, `POST /oauth2/token` with client_secret_basic; the DPoP points send a fresh "
        "ES256 proof per request (signed beforehand, sent in order by `bench/wrk/bodies.lua`). Points alternate, bearer then DPoP, "
        "3 rounds; the ratio is tokens per server CPU-second, per round. Verification: `tokensmith.verify` in one process, one "
        "token verified again and again, a bearer token beside a DPoP-bound one with a fresh proof per call (proofs signed "
        "beforehand), with the verified-token cache (a token the resource server has seen) and without it (every token new); "
        f"verifications per CPU-second, 3 rounds. Target: at least {TARGET} of the bearer "
        "rate for each.", "",
        "| | DPoP ÷ bearer (median) | rounds | bearer per CPU-s | DPoP per CPU-s | DPoP p99 |",
        "|---|---|---|---|---|---|",
        f"| issuance | **{result['ratio_median']:.2f}** | {spread} | {middle['bearer_tokens_per_cpu_s']:.0f} | "
        f"{middle['dpop_tokens_per_cpu_s']:.0f} | {middle['dpop_p99_us'] / 1000:.2f} ms |",
        *(
            f"| verification, {cache} | **{row['ratio_median']:.2f}** | {', '.join(f'{r:.2f}' for r in row['ratios'])} | "
            f"{row['bearer_per_cpu_s']:.0f} | {row['dpop_per_cpu_s']:.0f} | |"
            for cache, row in verified.items()
        ),
        "",
        "What DPoP adds per token at the server: parsing the proof, one ES256 verification, the claim checks and one replay-cache "
        "check (here in process); the proof's jwk (a P-256 point) and its thumbprint once per client key (domain/dpop.py KeyMemo). At the resource server: the same, plus `ath` (one "
        "SHA-256). A cached bearer verification costs no signature at all, so beside it the ratio is bounded by the proof's own "
        "ES256 verification (a P-256 signature check costs several RS256 checks); uncached, the token's RS256 check comes first "
        "on both sides.", "",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    result = issuance(args.seconds)
    verified = result["verification"]
    log(f"dpop issuance: {result['ratio_median']:.2f} of bearer; verification: {verified['cached']['ratio_median']:.2f} cached, "
        f"{verified['uncached']['ratio_median']:.2f} uncached")  # fmt: skip
    publish("dpop", result, SECTION, render, write_docs=not args.no_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
