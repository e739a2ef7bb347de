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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from tokensmith.jose import base64url
from tokensmith.jose.jwk import VerificationKey
from tokensmith.jose.strict_json import NotAJsonObject, json_object

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# Order n of the P-256 group. r and s must lie in [1, n-1] (CVE-2022-21449, "psychic
# signatures"), and s <= n/2: (r, n-s) verifies whenever (r, s) does, so only the low
# half is accepted and the signer always writes it (as Bitcoin's BIP 62 does).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER // 2
# Order L of the Ed25519 group: RFC 8032 §5.1.7 rejects S >= L (S + L also verifies
# under a lax implementation).
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)  # RFC 7518 §3.5
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(hashes.SHA256())


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
        """The payload as a strict JSON object (JWT claims, RFC 7519 §7.2 step 10)."""
        try:
            return json_object(self.payload)
        except NotAJsonObject:
            raise MalformedJWS("payload is not a JSON object") from None


def _segments(token: str) -> tuple[list[str], dict[str, Any]]:
    segments = token.split(".")
    if len(segments) != 3:
        raise MalformedJWS("is not a signed JWT in compact form (expected 3 segments)")
    try:
        return segments, json_object(base64url.decode(segments[0]))
    except (base64url.DecodeError, NotAJsonObject):
        raise MalformedJWS("header is not base64url-encoded JSON") from None


def parse_header(token: str) -> dict[str, Any]:
    """Only the header (three segments, the first a strict JSON object): for a reader
    that refuses an unacceptable `alg` or `typ` before anything else."""
    return _segments(token)[1]


def parse(token: str) -> CompactJWS:
    segments, header = _segments(token)
    header_segment, payload_segment, signature_segment = segments
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
    # Both segments passed the alphabet check, so this is ASCII.
    return CompactJWS(header, f"{header_segment}.{payload_segment}".encode("ascii"), payload, signature)


def signature_function(alg: str, key: PrivateKey) -> Callable[[bytes], bytes]:
    """The raw JWS signature (RFC 7518 §3) of a signing input, made with `key`."""
    if alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        return lambda data: key.sign(data, _PKCS1, _SHA256)
    if alg == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        return lambda data: key.sign(data, _PSS, _SHA256)
    if alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):

        def sign_es256(data: bytes) -> bytes:
            # RFC 7518 §3.4: R || S, 32 bytes each, not DER. OpenSSL picks s from either
            # half; the verifier accepts only the low one, so normalise it here.
            r, s = decode_dss_signature(key.sign(data, _ECDSA))
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
    `key`. `alg` must be the key's own algorithm and match its type.

    `low_s_only=False` also takes an ES256 signature in the high half: for what other
    software signs (client assertions, platform tokens), where half the signatures
    have a high s and nothing is keyed on the token's text (replay is keyed on jti)."""
    if alg != key.alg:
        return False
    public = key.public_key
    try:
        if alg in ("RS256", "PS256") and isinstance(public, rsa.RSAPublicKey):
            # RFC 8017 §8.2.2 / §8.1.2: exactly k octets; OpenSSL also takes a shorter
            # string (leading zeros dropped), which would be a second spelling.
            if len(signature) != (public.key_size + 7) // 8:
                return False
            public.verify(signature, signing_input, _PKCS1 if alg == "RS256" else _PSS, _SHA256)
        elif alg == "ES256" and isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
            if len(signature) != 64:
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            if not (0 < r < P256_ORDER and 0 < s < P256_ORDER) or (low_s_only and s > P256_HALF_ORDER):
                return False
            public.verify(encode_dss_signature(r, s), signing_input, _ECDSA)
        elif alg == "EdDSA" and isinstance(public, ed25519.Ed25519PublicKey):
            if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= ED25519_ORDER:
                return False
            public.verify(signature, signing_input)
        else:
            return False
    except InvalidSignature:
        return False
    return True
