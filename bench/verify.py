"""Verifications per second on one pinned core: tokensmith's resource-server library
(`tokensmith.verify.TokenVerifier`) against plain PyJWT verifying the same token with
the same checks, and against the bare signature check (the limit).

Run pinned, as the orchestrator does:  taskset -c 1 python bench/verify.py --json

HOOK: when `tokensmith.verify` cannot be imported (or its constructor has changed)
the TokenVerifier row is reported as not run, with the reason, and the two baselines
are still measured.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
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


def _timed(function: Callable[[], object], seconds: float) -> dict[str, float]:
    for _ in range(50):
        function()
    count = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(16):
            function()
        count += 16
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - started
    return {"ops_per_s": count / elapsed, "cpu_share": (time.process_time() - cpu_started) / elapsed}


def bare_signature_check(algorithm: str, public_key: Any, token: str) -> Callable[[], object]:
    header_payload, _, signature_b64 = token.rpartition(".")
    data = header_payload.encode()
    signature = jwt.utils.base64url_decode(signature_b64)
    if algorithm == "RS256":
        return lambda: public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    if algorithm == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return lambda: public_key.verify(signature, data, pss, hashes.SHA256())
    if algorithm == "ES256":
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        return lambda: public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    return lambda: public_key.verify(signature, data)


def measure(algorithm: str, seconds: float) -> dict[str, Any]:
    key = new_signing_key(algorithm, KeyState.ACTIVE, int(time.time()))
    now = int(time.time())
    token = issue_token(TokenSigner(key), _client(), issuer=ISSUER, audience=AUDIENCE, scopes=("edit",), now=now).access_token
    jwks = {"keys": [key.public_jwk()]}
    public_key = key.private_key.public_key()
    result: dict[str, Any] = {"token_bytes": len(token)}

    result["signature_only"] = _timed(bare_signature_check(algorithm, public_key, token), seconds)

    pyjwk = jwt.PyJWK.from_dict(jwks["keys"][0])
    required = {"require": ["exp", "iat", "iss", "aud", "sub", "jti", "client_id"]}

    def pyjwt_verify() -> object:
        # What a resource server does with PyJWT: key by kid (pre-loaded), then decode
        # with the algorithm pinned and iss, aud, exp checked; typ checked by hand.
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise ValueError("typ")
        return jwt.decode(token, pyjwk, algorithms=[algorithm], issuer=ISSUER, audience=AUDIENCE, options=required)

    pyjwt_verify()
    result["pyjwt"] = _timed(pyjwt_verify, seconds)

    try:
        import httpx

        from tokensmith.verify import TokenVerifier

        def serve_jwks(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/jwks.json"):
                return httpx.Response(200, json=jwks)
            return httpx.Response(404)

        client = httpx.Client(transport=httpx.MockTransport(serve_jwks))
        verifier = TokenVerifier(ISSUER, AUDIENCE, jwks_url=ISSUER + "/jwks.json", http_client=client)
        verifier.verify(token, scopes=["edit"])  # fetches the (mock) JWKS once
        result["tokensmith_verifier"] = _timed(lambda: verifier.verify(token, scopes=["edit"]), seconds)
    except Exception as exc:  # the hook: report why instead of failing the run
        result["tokensmith_verifier"] = {"not_run": f"{type(exc).__name__}: {exc}"}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--algorithm", action="append", choices=ALGORITHMS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {algorithm: measure(algorithm, args.seconds) for algorithm in args.algorithm or ALGORITHMS}
    if args.json:
        print(json.dumps(results))
        return
    for algorithm, result in results.items():
        verifier = result["tokensmith_verifier"]
        mine = f"{verifier['ops_per_s']:9.0f}/s" if "ops_per_s" in verifier else verifier["not_run"]
        print(
            f"{algorithm:6} signature {result['signature_only']['ops_per_s']:9.0f}/s"
            f"  PyJWT {result['pyjwt']['ops_per_s']:9.0f}/s  TokenVerifier {mine}"
        )


if __name__ == "__main__":
    main()
