"""Compact JWS (RFC 7515 §7.1): parse, sign, and check a signature with the algorithm
pinned to the key (RFC 8725 §3.1).

One spelling per token: every segment must be canonical base64url, the header a JSON
object without duplicate members, and every signature the single accepted encoding of
its value (ES256 r||s with low s, an RSA signature as long as the modulus, an Ed25519
S below the group order). Otherwise anything keyed on the token's text (revocation,
replay or introspection caches) could be handed a second string for the same token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tokensmith.jose import base64url
from tokensmith.jose.jwk import (
    ECDSA_SHA256,
    ED25519_ORDER,
    P256_HALF_ORDER,
    P256_ORDER,
    PKCS1,
    PSS,
    SHA256,
    VerificationKey,
)
from tokensmith.jose.strict_json import NotAJsonObject, json_object

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class MalformedJWS(ValueError):
    """Not a compact JWS this module reads; the message (e.g. "header is not
    base64url-encoded JSON") names the part, never the input."""


@dataclass(frozen=True)
class CompactJWS:
    header: dict[str, Any]
    signing_input: bytes  # ASCII header.payload, exactly as signed
    payload: bytes  # decoded but not parsed: read it only once the signature checks out
    signature: bytes

    def payload_object(self) -> dict[str, Any]:
        return payload_object(self.payload)


def split(token: str) -> list[str]:
    """The three segments of a compact JWS, unchecked."""
    segments = token.split(".")
    if len(segments) != 3:
        raise MalformedJWS("is not a signed JWT in compact form (expected 3 segments)")
    return segments


def decode_header(header_segment: str) -> dict[str, Any]:
    try:
        return json_object(base64url.decode(header_segment))
    except (base64url.DecodeError, NotAJsonObject):
        raise MalformedJWS("header is not base64url-encoded JSON") from None


def decode_body(payload_segment: str, signature_segment: str) -> tuple[bytes, bytes]:
    """The payload (decoded, not parsed) and the signature."""
    if not signature_segment:
        raise MalformedJWS("has no signature")
    try:
        payload = base64url.decode(payload_segment)
    except base64url.DecodeError:
        raise MalformedJWS("payload is not base64url") from None
    try:
        signature = base64url.decode(signature_segment)
    except base64url.DecodeError:
        raise MalformedJWS("signature is not base64url") from None
    return payload, signature


def parse_header(token: str) -> dict[str, Any]:
    """Only the header (three segments, the first a strict JSON object): for a reader
    that refuses an unacceptable `alg` or `typ` before anything else."""
    return decode_header(split(token)[0])


def parse(token: str) -> CompactJWS:
    header_segment, payload_segment, signature_segment = split(token)
    header = decode_header(header_segment)
    payload, signature = decode_body(payload_segment, signature_segment)
    # Both segments passed the alphabet check, so this is ASCII.
    return CompactJWS(header, f"{header_segment}.{payload_segment}".encode("ascii"), payload, signature)


def payload_object(payload: bytes) -> dict[str, Any]:
    """The payload as a strict JSON object (JWT claims, RFC 7519 §7.2 step 10)."""
    try:
        return json_object(payload)
    except NotAJsonObject:
        raise MalformedJWS("payload is not a JSON object") from None


def signature_function(alg: str, key: PrivateKey) -> Callable[[bytes], bytes]:
    """The raw JWS signature (RFC 7518 §3) of a signing input, made with `key`."""
    if alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        return lambda data: key.sign(data, PKCS1, SHA256)
    if alg == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        return lambda data: key.sign(data, PSS, SHA256)
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):

        def sign_es256(data: bytes) -> bytes:
            # RFC 7518 §3.4: R || S, 32 bytes each, not DER. OpenSSL picks s from either
            # half; the verifier accepts only the low one, so normalise it here.
            r, s = decode_dss_signature(key.sign(data, ECDSA_SHA256))
            if s > P256_HALF_ORDER:
                s = P256_ORDER - s
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")

        return sign_es256
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign
    raise ValueError(f"unsupported signing algorithm {alg!r} for this key")


_encode = base64url.encode  # module globals: one lookup each on the issuing hot path
_dumps = orjson.dumps


class Signer:
    """Signs payloads under one fixed header: the header segment is encoded once."""

    def __init__(self, key: PrivateKey, header: Mapping[str, Any]) -> None:
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise ValueError("the JWS header needs an alg")
        self._sign = signature_function(alg, key)
        self._prefix = _encode(_dumps(dict(header))) + b"."

    def sign(self, payload: bytes) -> str:
        signing_input = self._prefix + _encode(payload)
        return (signing_input + b"." + _encode(self._sign(signing_input))).decode("ascii")

    def sign_claims(self, claims: Mapping[str, Any]) -> str:
        """A JWT (RFC 7519 §7.1): the claims as compact JSON, signed. One call for the
        issuer's hot path, where every call level counts (domain/tokens.py)."""
        signing_input = self._prefix + _encode(_dumps(claims))
        return (signing_input + b"." + _encode(self._sign(signing_input))).decode("ascii")


def verify_signature(key: VerificationKey, alg: str, signing_input: bytes, signature: bytes, *, low_s_only: bool = True) -> bool:
    """Whether `signature` is the one accepted spelling of a valid `alg` signature by
    `key`. `alg` must be the key's own algorithm and match its type (jwk.signature_check).

    `low_s_only=False` also takes an ES256 signature in the high half: for what other
    software signs (client assertions, platform tokens), where half the signatures
    have a high s and nothing is keyed on the token's text (replay is keyed on jti).
    (r, s) is valid exactly when (r, n - s) is, so the high one is checked as the low."""
    if not low_s_only and alg == "ES256" and len(signature) == 64:
        s = int.from_bytes(signature[32:], "big")
        if P256_HALF_ORDER < s < P256_ORDER:
            signature = signature[:32] + (P256_ORDER - s).to_bytes(32, "big")
    return alg == key.alg and key.check(signing_input, signature)


__all__ = ["ED25519_ORDER", "P256_HALF_ORDER", "P256_ORDER", "CompactJWS", "MalformedJWS", "Signer", "decode_body", "decode_header", "parse", "parse_header", "payload_object", "signature_function", "split", "verify_signature"]
