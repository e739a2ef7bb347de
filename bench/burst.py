"""`make burst`: the brute-force guard under guesses released together.

    python bench/burst.py                 # 500 guesses: 1 worker; 2 workers sharing Redis
    python bench/burst.py --guesses 1000 --no-docs

A real `tokensmith serve` (SQLite, the default thresholds: 10 failures per address and
client id, 20 per address) gets N wrong guesses at one client's secret from one
source address, all sent at once over N connections. What counts is how many of them
were *checked* (answered 401) rather than refused unchecked (429): the bound is the
(address, client id) limit + 1 (the failure that blocks) + one per worker process
(each process checks its first failure before it counts attempts ahead:
exchange/authentication/authenticate.py). The figures go into the "Brute-force guard
under a burst" section of docs/benchmarks.md and .bench/burst.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import DOCS, STATE, log, replace_section
from servers import tokensmith

SECTION = "## Brute-force guard under a burst"
SEED = "/v1/api/oauth/token"
CLIENT_LIMIT = 10  # TOKENSMITH_BRUTEFORCE_CLIENT_FAILURES's default


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guesses", type=int, default=500, help="guesses per burst (default 500)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis for the two-worker burst")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    return parser.parse_args(argv)


async def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


async def release(url: str, client_id: str, guesses: int) -> tuple[Counter[int], float]:
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.9", limits=httpx.Limits(max_connections=guesses))
    async with httpx.AsyncClient(transport=transport, timeout=120) as http:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(http.post(f"{url}{SEED}", params={"scope": "edit"}, auth=(client_id, f"tks_guess-{n}")) for n in range(guesses))
        )
        seconds = time.perf_counter() - started
    return Counter(answer.status_code for answer in answers), seconds


def measure(workers: int, guesses: int, redis_url: str | None) -> dict[str, Any]:
    env = {"TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS": str(guesses + 100)}
    if redis_url:
        # Worker processes count together only through Redis; without it each
        # process keeps its own counts (docs/deployment.md).
        env |= {"TOKENSMITH_REDIS_URL": redis_url, "TOKENSMITH_REDIS_PREFIX": f"burst-{time.time_ns()}:"}
    server = tokensmith(
        "RS256", workers=workers, cli=[sys.executable, "-m", "tokensmith"], client_id="burst-victim", scratch_prefix="burst-",
        extra_env=env,
    )  # fmt: skip
    server.start()
    try:
        statuses, seconds = asyncio.run(release(server.base_url, server.client_id, guesses))
    finally:
        server.stop()
    bound = CLIENT_LIMIT + 1 + workers
    result = {"workers": workers, "redis": bool(redis_url), "guesses": guesses, "checked": statuses.get(401, 0), "refused": statuses.get(429, 0),
              "other": sum(n for status, n in statuses.items() if status not in (401, 429)), "bound": bound,
              "within_bound": statuses.get(401, 0) <= bound, "seconds": round(seconds, 3)}  # fmt: skip
    log(f"burst, {workers} worker(s): {result}")
    return result


def render(results: list[dict[str, Any]], when: str) -> str:
    rows = "\n".join(
        f"| {r['workers']} | {'yes' if r['redis'] else 'no'} | {r['guesses']} | **{r['checked']}** | {r['refused']} | {r['other']} | {r['bound']} | "
        f"{'yes' if r['within_bound'] else '**no**'} |"
        for r in results
    )
    return f"""{SECTION}

Measured {when} by `make burst` (also run by `make bench`; rerun: `python bench/burst.py`).
One source address sends N wrong guesses at one client's secret, all at once over N
connections, to a real `tokensmith serve` with the default thresholds (10 failures per
address and client id); with two workers the processes count together through Redis
(without it each process keeps its own counts, so each allows its own limit). *Checked* guesses were answered 401; the rest were refused
unchecked with 429. The bound is the limit + 1 (the failure that blocks) + one per
worker process: each process checks its first failure before it counts attempts
ahead of their check.

| workers | Redis | guesses | checked (401) | refused (429) | other | bound | within the bound |
|---:|---|---:|---:|---:|---:|---:|---|
{rows}

Before this was fixed (an outside audit) every guess of such a burst was checked: the
block was consulted before the awaited client lookup and failures were counted only
after it.
"""


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    results = [measure(1, args.guesses, None)]
    if redis_answers(args.redis_url):
        results.append(measure(2, args.guesses, args.redis_url))
    else:
        log(f"no Redis at {args.redis_url}: the two-worker burst (counted together through Redis) is not run")
    STATE.mkdir(exist_ok=True)
    (STATE / "burst.json").write_text(json.dumps(results, indent=2))
    if not args.no_docs:
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
        replace_section(DOCS / "benchmarks.md", SECTION, render(results, when), "# Benchmarks\n")
    return 0 if all(result["within_bound"] and result["other"] == 0 for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
