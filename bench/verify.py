"""Verifications per second on one pinned core: tokensmith's resource-server library
(`tokensmith.verify.TokenVerifier`) against plain PyJWT verifying the same tokens with
the same checks, and against the bare signature check (the limit).

Two TokenVerifier rows. *Distinct*: every call verifies a token this verifier has never
seen (a pool of freshly issued tokens, each verified once per verifier; a new verifier,
sharing the fetched keys, for each pass over the pool), with the verified-token cache on
and kept full (`cache_max_entries` below the pool size), so each call also pays for an
insertion and an eviction. *Repeat*: the same token again and again, answered by the
cache. The bare check and PyJWT go over the same pool. The four run round-robin
(ROUNDS rounds), each ratio taken within a round, per CPU-second; the medians are
reported (this machine is shared, and other work comes and goes).

Run pinned, as the orchestrator does:  taskset -c 1 python bench/verify.py --json

HOOK: when `tokensmith.verify` cannot be imported (or its constructor has changed)
the TokenVerifier row is reported as not run, with the reason, and the two baselines
are still measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import jwt
from common import ops_rate
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tokensmith.domain.clients import Client
from tokensmith.domain.keys import KeyState, new_signing_key
from tokensmith.domain.tokens import TokenSigner, issue_token

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
ISSUER = "https://auth.bench.example"
AUDIENCE = "https://api.bench.example"


def _client() -> Client:
    return Client(client_id="bench", scopes=("edit",), default_scopes=("edit",), audiences=(AUDIENCE,))


POOL = 4096  # distinct tokens per algorithm
DISTINCT_CACHE_ENTRIES = 1024  # < POOL: the cache is full after the first quarter of a pass


def _timed_pool(make: Callable[[], Callable[[str], object]], tokens: list[str], seconds: float) -> dict[str, float]:
    """Calls per second of make()(token) over the pool, a fresh make() per pass."""
    check = make()
    for token in tokens[:50]:
        check(token)

    def one_pass() -> int:
        check = make()
        for token in tokens:
            check(token)
        return len(tokens)

    return ops_rate(one_pass, seconds)


def bare_signature_check(algorithm: str, public_key: Any) -> Callable[[str], object]:
    """The limit: cryptography's verify() of each token's signature, with the signature
    already decoded and the signing input already bytes (done before the clock starts)."""
    if algorithm == "RS256":
        return lambda signature, data: public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    if algorithm == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return lambda signature, data: public_key.verify(signature, data, pss, hashes.SHA256())
    if algorithm == "ES256":
        return lambda der, data: public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    return lambda signature, data: public_key.verify(signature, data)


def _signature_parts(algorithm: str, token: str) -> tuple[bytes, bytes]:
    header_payload, _, signature_b64 = token.rpartition(".")
    signature = jwt.utils.base64url_decode(signature_b64)
    if algorithm == "ES256":
        signature = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    return signature, header_payload.encode()


ROUNDS = 7  # round-robin: each contender once per round, ratios taken within a round


def _round_robin(contenders: dict[str, Callable[[float], dict[str, float]]], seconds: float) -> dict[str, Any]:
    """Each contender for seconds / ROUNDS, in turn, ROUNDS times; per contender the
    median rates, and per round each rate ÷ the bare check's rate of the same round
    (per CPU-second), so that other work on this shared core, which comes and goes,
    weighs on both sides of each ratio alike. Reported ratios are those rounds' medians."""
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, run in contenders.items():
            rounds[name].append(run(seconds / ROUNDS))
    result: dict[str, Any] = {}
    for name, runs in rounds.items():
        result[name] = {
            field: statistics.median(r[field] for r in runs) for field in ("ops_per_s", "ops_per_cpu_s", "cpu_share")
        }
        result[name]["per_round_ratio"] = [
            r["ops_per_cpu_s"] / bare["ops_per_cpu_s"] for r, bare in zip(runs, rounds["signature_only"], strict=True)
        ]
        result[name]["ratio"] = statistics.median(result[name]["per_round_ratio"])
    return result


def measure(algorithm: str, seconds: float) -> dict[str, Any]:
    key = new_signing_key(algorithm, KeyState.ACTIVE, int(time.time()))
    now = int(time.time())
    signer = TokenSigner(key)
    tokens = [issue_token(signer, _client(), issuer=ISSUER, audience=AUDIENCE, scopes=("edit",), now=now).access_token for _ in range(POOL)]
    assert len(set(tokens)) == POOL
    jwks = {"keys": [key.public_jwk()]}
    public_key = key.private_key.public_key()
    contenders: dict[str, Callable[[float], dict[str, float]]] = {}

    bare = bare_signature_check(algorithm, public_key)
    parts = {token: _signature_parts(algorithm, token) for token in tokens}
    contenders["signature_only"] = lambda s: _timed_pool(lambda: lambda token: bare(*parts[token]), tokens, s)

    pyjwk = jwt.PyJWK.from_dict(jwks["keys"][0])
    required = {"require": ["exp", "iat", "iss", "aud", "sub", "jti", "client_id"]}

    def pyjwt_verify(token: str) -> object:
        # What a resource server does with PyJWT: key by kid (pre-loaded), then decode
        # with the algorithm pinned and iss, aud, exp checked; typ checked by hand.
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise ValueError("typ")
        return jwt.decode(token, pyjwk, algorithms=[algorithm], issuer=ISSUER, audience=AUDIENCE, options=required)

    pyjwt_verify(tokens[0])
    contenders["pyjwt"] = lambda s: _timed_pool(lambda: pyjwt_verify, tokens, s)
    hook_failure: str | None = None
    try:
        import httpx

        from tokensmith.verify import JwksCache, TokenVerifier

        def serve_jwks(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/jwks.json"):
                return httpx.Response(200, json=jwks)
            return httpx.Response(404)

        client = httpx.Client(transport=httpx.MockTransport(serve_jwks))
        keys = JwksCache(ISSUER, jwks_url=ISSUER + "/jwks.json", http_client=client)
        keys.keys_for(key.kid)  # fetches the (mock) JWKS once; every verifier below shares it

        def fresh_verifier() -> Callable[[str], object]:
            verifier = TokenVerifier(ISSUER, AUDIENCE, jwks=keys, cache_max_entries=DISTINCT_CACHE_ENTRIES)
            return lambda token: verifier.verify(token, scopes=["edit"])

        repeat = TokenVerifier(ISSUER, AUDIENCE, jwks=keys)
        token = tokens[0]
        repeat.verify(token, scopes=["edit"])
        contenders["tokensmith_verifier"] = lambda s: _timed_pool(fresh_verifier, tokens, s)
        contenders["tokensmith_verifier_repeat"] = lambda s: _timed_pool(lambda: lambda same: repeat.verify(same, scopes=["edit"]), [token] * 256, s)
    except Exception as exc:  # the hook: report why instead of failing the run
        hook_failure = f"{type(exc).__name__}: {exc}"
    result: dict[str, Any] = {"token_bytes": len(tokens[0]), "pool": POOL, "rounds": ROUNDS}
    result |= _round_robin(contenders, seconds)
    if hook_failure:
        result["tokensmith_verifier"] = {"not_run": hook_failure}
    return result


def write_docs(results: dict[str, Any], seconds: float) -> None:
    """Section 5 alone, rerun: the other sections stay as the last `make bench` wrote them."""
    from common import DOCS, load_average, replace_section
    from report import verification_section

    heading = "## 5. Verification (resource-server side)"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    note = (
        f"Rerun alone on {when} (`taskset -c 1 .venv/bin/python bench/verify.py --seconds {seconds:g} --write-docs`, "
        f"load average {load_average()} at the end): ratios from this run only.\n"
    )
    replace_section(DOCS / "benchmarks.md", heading, f"{heading}\n\n{note}\n{verification_section(results)}", "# tokensmith benchmarks\n")
    data_path = DOCS / "benchmarks.json"
    data = json.loads(data_path.read_text())
    data["verification"] = results
    data_path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--algorithm", action="append", choices=ALGORITHMS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="replace section 5 of docs/benchmarks.md (and its data in docs/benchmarks.json) with this run, leaving the rest",
    )
    args = parser.parse_args()
    results = {algorithm: measure(algorithm, args.seconds) for algorithm in args.algorithm or ALGORITHMS}
    if args.write_docs:
        write_docs(results, args.seconds)
    if args.json:
        print(json.dumps(results))
        return
    for algorithm, result in results.items():
        bare = result["signature_only"]["ops_per_cpu_s"]
        verifier = result["tokensmith_verifier"]
        if "ratio" in verifier:
            repeat = result["tokensmith_verifier_repeat"]
            mine = (
                f"TokenVerifier distinct {verifier['ops_per_cpu_s']:9.0f} ({verifier['ratio']:.2f} of bare)"
                f"  repeat {repeat['ops_per_cpu_s']:9.0f} ({repeat['ratio']:.2f}×)"
            )
        else:
            mine = verifier["not_run"]
        pyjwt = result["pyjwt"]
        print(f"{algorithm:6} per CPU-second (median of {ROUNDS} rounds): signature {bare:9.0f}  PyJWT {pyjwt['ops_per_cpu_s']:9.0f} ({pyjwt['ratio']:.2f})  {mine}")


if __name__ == "__main__":
    main()
