"""Hand-made compact JWS tokens, for forging.

Tokens are assembled byte by byte (no JWT library in the way), so a header or a claim
can be anything an attacker can send: `alg: none`, `exp` as a string, `crit`, a
signature of zeros. `server_signing_key` reads a running tokensmith's own private key
from its store, the way only an insider could: a token that fails a *claim* check is
only a meaningful test if its signature is good, or the signature check alone would
refuse it and the claim check would go untested."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm

from tests.support.server import Tokensmith
from tokensmith.domain.key_encryption import KeyEncryption, decode_kek
from tokensmith.store.keys import KeyRepository

Signer = Callable[[bytes], bytes]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    """A JSON value as a JWS segment; bytes are taken as the raw JSON text."""
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url(raw)


def header_of(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def claims_of(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def compact(header: dict[str, Any] | bytes, claims: Any, sign: Signer | None) -> str:
    """`header.claims.signature`; no signer means an empty signature. Header or claims
    given as bytes are the exact JSON text (for duplicate members, huge numbers)."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = sign(signing_input.encode("ascii")) if sign else b""
    return f"{signing_input}.{b64url(signature)}"


def rsa_signer(key: rsa.RSAPrivateKey, digest: hashes.HashAlgorithm) -> Signer:
    """RSASSA-PKCS1-v1_5 (RS256, RS384, RS512) with `digest`."""
    return lambda data: key.sign(data, padding.PKCS1v15(), digest)


def rs256(key: rsa.RSAPrivateKey) -> Signer:
    return rsa_signer(key, hashes.SHA256())


def ps256(key: rsa.RSAPrivateKey) -> Signer:
    return lambda data: key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def es256(key: ec.EllipticCurvePrivateKey, *, high_s: bool = False) -> Signer:
    """ES256 with low s, the one spelling verifiers accept; `high_s` writes n - s, the
    other, equally valid ECDSA signature (the malleability attack)."""

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        s = min(s, P256_ORDER - s)
        return r.to_bytes(32, "big") + (P256_ORDER - s if high_s else s).to_bytes(32, "big")  # RFC 7518 §3.4

    return sign


def signature_of(token: str) -> bytes:
    part = token.split(".")[2]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def respelled_s(token: str) -> str:
    """The same ES256 token with s replaced by n - s: a valid ECDSA signature of the
    same bytes, so a second spelling of the token unless high s is refused."""
    signature = signature_of(token)
    s = int.from_bytes(signature[32:], "big")
    head, claims, _ = token.split(".")
    return f"{head}.{claims}.{b64url(signature[:32] + (P256_ORDER - s).to_bytes(32, 'big'))}"


def with_low_s(token: str) -> str:
    """An ES256 token from another signer (PyJWT) in the spelling verifiers accept."""
    signature = signature_of(token)
    return token if int.from_bytes(signature[32:], "big") <= P256_ORDER // 2 else respelled_s(token)


def hmac_signer(digest: Any, secret: bytes) -> Signer:
    """HMAC (HS256, HS384, HS512) with `digest`, e.g. hashlib.sha384."""
    return lambda data: hmac.new(secret, data, digest).digest()


def hs256(secret: bytes) -> Signer:
    return hmac_signer(hashlib.sha256, secret)


def rsa_public_jwk(key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    numbers = key.public_numbers()

    def encode(n: int) -> str:
        return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": encode(numbers.n), "e": encode(numbers.e)}


def jwk_pem(jwk: dict[str, Any], fmt: PublicFormat) -> bytes:
    """The PEM of a published RSA public key, as an algorithm-confusion attacker would
    use it for an HMAC secret."""
    return RSAAlgorithm.from_jwk(json.dumps(jwk)).public_bytes(Encoding.PEM, fmt)


def server_signing_key(server: Tokensmith, kid: str) -> Any:
    """The private key `kid` of a running tokensmith (SQLite store, key-encryption key
    in the file beside it, as `tokensmith serve` makes it by default)."""
    database = server.workdir / "tokensmith.db"
    kek = decode_kek((server.workdir / "tokensmith.db.kek").read_text())
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        keys = {key.kid: key.private_key for key in KeyRepository(engine, KeyEncryption(kek)).all()}
    finally:
        engine.dispose()
    return keys[kid]
