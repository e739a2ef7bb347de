"""Public keys as JWKs (RFC 7517/7518 §6), RFC 7638 thumbprints, and the one
VerificationKey type: a key id, the one algorithm it verifies, the public key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tokensmith.jose import base64url

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Ed25519PublicKey

#: Every algorithm tokensmith signs or verifies. HS* and "none" are absent on purpose.
ALGORITHMS: frozenset[str] = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
_RSA_ALGORITHMS = frozenset({"RS256", "PS256"})
# RFC 9864 names EdDSA over Ed25519 "Ed25519" (fully specified); a key or JWS that
# says so means what tokensmith calls EdDSA.
FULLY_SPECIFIED = {"Ed25519": "EdDSA"}
MIN_RSA_BITS = 2048  # RFC 7518 §3.3 / §3.5


@dataclass(frozen=True)
class VerificationKey:
    """A public key pinned to one algorithm (RFC 8725 §3.1): a token's `alg` selects
    nothing, it must equal this."""

    kid: str
    alg: str
    public_key: PublicKey


class UnusableKey(ValueError):
    """A JWK that cannot or must not be used for verification."""


def key_algorithms(public_key: PublicKey) -> frozenset[str]:
    """The algorithms this key's type can legitimately produce (RFC 8725 §3.1)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return _RSA_ALGORITHMS
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return frozenset({"ES256"}) if isinstance(public_key.curve, ec.SECP256R1) else frozenset()
    # Typed as the three, but a caller's key may be any object: nothing for the others.
    return frozenset({"EdDSA"}) if isinstance(public_key, Ed25519PublicKey) else frozenset()


def _int_member(value: int, length: int | None = None) -> str:
    return base64url.encode_text(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


def public_jwk(public_key: PublicKey) -> dict[str, str]:
    """The RFC 7517 members describing the public key, in RFC 7638 §3.2 (sorted) order."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"e": _int_member(numbers.e), "kty": "RSA", "n": _int_member(numbers.n)}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise UnusableKey("unsupported EC curve")
        point = public_key.public_numbers()
        # RFC 7518 §6.2.1.2: coordinates are the full 32 bytes, leading zeros kept.
        return {"crv": "P-256", "kty": "EC", "x": _int_member(point.x, 32), "y": _int_member(point.y, 32)}
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": base64url.encode_text(raw)}


def thumbprint(public_key: PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256): required members only, sorted, no whitespace."""
    canonical = json.dumps(public_jwk(public_key), sort_keys=True, separators=(",", ":"))
    return base64url.encode_text(hashlib.sha256(canonical.encode("ascii")).digest())


def _member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise UnusableKey(f"missing or non-string {name!r}")
    try:
        return base64url.decode(value)
    except base64url.DecodeError:
        raise UnusableKey(f"{name!r} is not base64url") from None


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key a JWK describes; UnusableKey for anything tokensmith never
    verifies with (symmetric `oct` keys, small RSA, other curves, invalid points)."""
    kty = jwk.get("kty")
    if kty == "RSA":
        try:
            key = rsa.RSAPublicNumbers(int.from_bytes(_member(jwk, "e"), "big"), int.from_bytes(_member(jwk, "n"), "big")).public_key()
        except ValueError as exc:
            raise UnusableKey(f"invalid RSA key: {exc}") from None
        if key.key_size < MIN_RSA_BITS:
            raise UnusableKey(f"RSA key of {key.key_size} bits is too small")
        return key
    if kty == "EC":
        if jwk.get("crv") != "P-256":
            raise UnusableKey("unsupported EC curve")
        x, y = _member(jwk, "x"), _member(jwk, "y")
        if len(x) != 32 or len(y) != 32:
            raise UnusableKey("P-256 coordinates must be 32 bytes")
        try:
            # from_encoded_point checks that the point is on the curve (invalid-curve attacks).
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
        except ValueError:
            raise UnusableKey("invalid P-256 point") from None
    if kty == "OKP":
        if jwk.get("crv") != "Ed25519":
            raise UnusableKey("unsupported OKP curve")
        try:
            return Ed25519PublicKey.from_public_bytes(_member(jwk, "x"))
        except ValueError:
            raise UnusableKey("invalid Ed25519 key") from None
    # "oct" lands here too: a symmetric key in a public JWKS is never usable.
    raise UnusableKey(f"unsupported key type {kty!r}")


def parse_jwk(jwk: Mapping[str, Any], allowed_algorithms: Iterable[str]) -> tuple[VerificationKey, ...]:
    """One VerificationKey per algorithm the JWK may verify (an RSA JWK without `alg`
    gives RS256 and PS256), or UnusableKey. `use` other than `sig` and `key_ops`
    without `verify` exclude the key (RFC 7517 §4.2, §4.3)."""
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnusableKey("key has no kid")
    if jwk.get("use", "sig") != "sig":
        raise UnusableKey("key is not a signature key")
    key_ops = jwk.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise UnusableKey("key_ops does not allow verify")
    key = public_key_from_jwk(jwk)
    algorithms = key_algorithms(key)
    declared = FULLY_SPECIFIED.get(jwk.get("alg"), jwk.get("alg"))  # type: ignore[arg-type]
    if declared is not None:
        if declared not in algorithms:
            raise UnusableKey(f"alg {declared!r} does not match key type")
        algorithms = frozenset({declared})
    usable = algorithms & frozenset(allowed_algorithms)
    if not usable:
        raise UnusableKey("none of the key's algorithms is allowed")
    return tuple(VerificationKey(kid, alg, key) for alg in sorted(usable))
