"""Public keys as JWKs (RFC 7517/7518 §6), RFC 7638 thumbprints, and the one
VerificationKey type: a key id, the one algorithm it verifies, the public key, and its
signature check, built once per key (the check runs on every token verified)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tokensmith.jose import base64url

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Ed25519PublicKey

#: Every algorithm tokensmith signs or verifies. HS* and "none" are absent on purpose.
ALGORITHMS: frozenset[str] = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
_RSA_ALGORITHMS = frozenset({"RS256", "PS256"})
# RFC 9864 names EdDSA over Ed25519 "Ed25519" (fully specified); a key or JWS that
# says so means what tokensmith calls EdDSA.
FULLY_SPECIFIED = {"Ed25519": "EdDSA"}
MIN_RSA_BITS = 2048  # RFC 7518 §3.3 / §3.5

# Order n of the P-256 group. r and s must lie in [1, n-1] (CVE-2022-21449, "psychic
# signatures"), and s <= n/2: (r, n-s) verifies whenever (r, s) does, so only the low
# half is accepted and the signer always writes it (as Bitcoin's BIP 62 does).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_HALF_ORDER = P256_ORDER // 2
# Order L of the Ed25519 group: RFC 8032 §5.1.7 rejects S >= L (S + L also verifies
# under a lax implementation).
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)  # RFC 7518 §3.5
PKCS1 = padding.PKCS1v15()
SHA256 = hashes.SHA256()
ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

SignatureCheck = Callable[[bytes, bytes], bool]


def signature_check(alg: str, public: PublicKey) -> SignatureCheck:
    """check(signing_input, signature): whether `signature` is the one accepted spelling
    of a valid `alg` signature by `public`. Always False when the key's type cannot
    make `alg` signatures. Everything that depends only on the key is decided here."""
    if alg in _RSA_ALGORITHMS and isinstance(public, rsa.RSAPublicKey):
        # RFC 8017 §8.2.2 / §8.1.2: exactly k octets; OpenSSL also takes a shorter
        # string (leading zeros dropped), which would be a second spelling.
        length = (public.key_size + 7) // 8
        scheme = PKCS1 if alg == "RS256" else PSS
        rsa_verify = public.verify

        def check_rsa(signing_input: bytes, signature: bytes) -> bool:
            if len(signature) != length:
                return False
            try:
                rsa_verify(signature, signing_input, scheme, SHA256)
            except InvalidSignature:
                return False
            return True

        return check_rsa
    if alg == "ES256" and isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        ec_verify = public.verify

        def check_es256(signing_input: bytes, signature: bytes) -> bool:
            if len(signature) != 64:
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            if not (0 < r < P256_ORDER and 0 < s <= P256_HALF_ORDER):
                return False
            try:
                ec_verify(encode_dss_signature(r, s), signing_input, ECDSA_SHA256)
            except InvalidSignature:
                return False
            return True

        return check_es256
    if alg == "EdDSA" and isinstance(public, Ed25519PublicKey):
        ed_verify = public.verify

        def check_eddsa(signing_input: bytes, signature: bytes) -> bool:
            if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= ED25519_ORDER:
                return False
            try:
                ed_verify(signature, signing_input)
            except InvalidSignature:
                return False
            return True

        return check_eddsa
    return _never


def _never(signing_input: bytes, signature: bytes) -> bool:
    return False


@dataclass(frozen=True)
class VerificationKey:
    """A public key pinned to one algorithm (RFC 8725 §3.1): a token's `alg` selects
    nothing, it must equal this."""

    kid: str
    alg: str
    public_key: PublicKey
    #: signature_check(alg, public_key), made once: check(signing_input, signature).
    check: SignatureCheck = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", signature_check(self.alg, self.public_key))


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
