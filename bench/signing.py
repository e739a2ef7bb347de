"""The limit: how many JWS signatures one core makes per second with Python's
`cryptography`, for each algorithm tokensmith offers. Nothing but the signature call
is timed, over a signing input the size of a tokensmith access token's.

Run pinned, as the orchestrator does:  taskset -c 1 python bench/signing.py --json
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Callable

from common import ops_rate
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


def signing_input() -> bytes:
    """header.payload of a typical access token (about 330 bytes)."""
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "k" * 43}
    claims = {
        "iss": "http://127.0.0.1:8080", "sub": "bench", "aud": "http://127.0.0.1:8080", "client_id": "bench",
        "scope": "edit", "iat": 1_800_000_000, "exp": 1_800_003_600, "jti": "j" * 22,
    }
    encode = lambda value: base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).rstrip(b"=")  # noqa: E731
    return encode(header) + b"." + encode(claims)


def signer(algorithm: str) -> Callable[[bytes], bytes]:
    if algorithm in ("RS256", "PS256"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256":
            pkcs1 = padding.PKCS1v15()
            return lambda data: key.sign(data, pkcs1, hashes.SHA256())
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return lambda data: key.sign(data, pss, hashes.SHA256())
    if algorithm == "ES256":
        ec_key = ec.generate_private_key(ec.SECP256R1())
        ecdsa = ec.ECDSA(hashes.SHA256())
        return lambda data: ec_key.sign(data, ecdsa)
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate().sign
    raise ValueError(algorithm)


def rate(sign: Callable[[bytes], bytes], seconds: float) -> dict[str, float]:
    data = signing_input()
    for _ in range(50):  # warm caches and OpenSSL's lazily built tables
        sign(data)

    def batch() -> int:
        for _ in range(32):
            sign(data)
        return 32

    return ops_rate(batch, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per algorithm")
    parser.add_argument("--algorithm", action="append", choices=ALGORITHMS, help="repeat; default: all")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = {}
    for algorithm in args.algorithm or ALGORITHMS:
        results[algorithm] = rate(signer(algorithm), args.seconds)
    if args.json:
        print(json.dumps(results))
    else:
        for algorithm, result in results.items():
            print(f"{algorithm:6} {result['ops_per_s']:10.0f} signatures/s")


if __name__ == "__main__":
    main()
