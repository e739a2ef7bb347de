"""Signing keys and the key ring: which key signs, which keys are published.

A key is `next` (published, not yet signing), `active` (signing) or `retired`
(published until every token it signed has expired). Publishing the next key before
it signs means verifiers have it cached before the first token it signs arrives, so a
rotation never breaks a token in flight.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class KeyState(str, Enum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(value: int, length: int | None = None) -> str:
    return b64url(value.to_bytes(length or (value.bit_length() + 7) // 8, "big"))


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported signing algorithm: {algorithm}")


def public_jwk_members(key: PrivateKey) -> dict[str, str]:
    """The RFC 7517 members that describe the public key, in RFC 7638 order."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        return {"e": _int_b64(numbers.e), "kty": "RSA", "n": _int_b64(numbers.n)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        return {"crv": "P-256", "kty": "EC", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32)}
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 JWK thumbprint: a kid every party can recompute from the key."""
    canonical = orjson.dumps(public_jwk_members(key), option=orjson.OPT_SORT_KEYS)
    return b64url(hashlib.sha256(canonical).digest())


def private_key_bytes(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_key(der: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey))
    return key


def make_signature_function(algorithm: str, key: PrivateKey) -> Callable[[bytes], bytes]:
    """The JWS signature (RFC 7518 §3) of the signing input, as raw bytes."""
    if algorithm == "RS256":
        assert isinstance(key, rsa.RSAPrivateKey)
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        return lambda data: key.sign(data, pkcs1, sha256)
    if algorithm == "PS256":
        assert isinstance(key, rsa.RSAPrivateKey)
        # RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        sha256 = hashes.SHA256()
        return lambda data: key.sign(data, pss, sha256)
    if algorithm == "ES256":
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        ecdsa = ec.ECDSA(hashes.SHA256())

        def sign_es256(data: bytes) -> bytes:
            # RFC 7518 §3.4: R and S as fixed 32-byte big-endian integers, not DER.
            r, s = decode_dss_signature(key.sign(data, ecdsa))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")

        return sign_es256
    if algorithm == "EdDSA":
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign
    raise ValueError(f"unsupported signing algorithm: {algorithm}")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    state: KeyState
    private_key: PrivateKey
    created_at: int
    activated_at: int | None = None
    retired_at: int | None = None

    def public_jwk(self) -> dict[str, str]:
        return {**public_jwk_members(self.private_key), "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def new_signing_key(algorithm: str, state: KeyState, now: int) -> SigningKey:
    key = generate_private_key(algorithm)
    return SigningKey(
        kid=thumbprint(key),
        algorithm=algorithm,
        state=state,
        private_key=key,
        created_at=now,
        activated_at=now if state is KeyState.ACTIVE else None,
    )


@dataclass(frozen=True)
class Rotation:
    """What a rotation changes in the store."""

    updated: tuple[SigningKey, ...]
    created: tuple[SigningKey, ...]
    deleted: tuple[str, ...]


def plan_rotation(keys: Iterable[SigningKey], algorithm: str, now: int, retention: int) -> Rotation:
    """next → active, active → retired, a fresh next; retired keys past retention go.

    With no next key (a fresh store, or one whose next was removed) a new key becomes
    active at once."""
    keys = list(keys)
    updated: list[SigningKey] = []
    created: list[SigningKey] = []
    deleted = [k.kid for k in keys if k.state is KeyState.RETIRED and (k.retired_at or 0) + retention <= now]
    for key in keys:
        if key.state is KeyState.ACTIVE:
            updated.append(replace(key, state=KeyState.RETIRED, retired_at=now))
    upcoming = [k for k in keys if k.state is KeyState.NEXT]
    if upcoming:
        promoted = max(upcoming, key=lambda k: k.created_at)
        updated.append(replace(promoted, state=KeyState.ACTIVE, activated_at=now))
    else:
        created.append(new_signing_key(algorithm, KeyState.ACTIVE, now))
    created.append(new_signing_key(algorithm, KeyState.NEXT, now))
    return Rotation(tuple(updated), tuple(created), tuple(deleted))


def plan_next_key(keys: Iterable[SigningKey], algorithm: str, now: int) -> Rotation:
    """A fresh next key of `algorithm` in place of the current next key(s); the active
    key goes on signing. A next key has never signed, so removing it breaks no token.

    This is the first step of changing the signing algorithm: once verifiers have the
    new key from the JWKS (after their cache period), a rotation promotes it."""
    deleted = tuple(k.kid for k in keys if k.state is KeyState.NEXT)
    return Rotation((), (new_signing_key(algorithm, KeyState.NEXT, now),), deleted)


def plan_removal(keys: Iterable[SigningKey], kid: str, algorithm: str, now: int) -> Rotation:
    """Emergency removal of a compromised key: it leaves the ring and the JWKS at once,
    so every token it signed stops verifying. When it was the active key the next key
    signs in its place (it is already published, so verifiers have it); with no next
    key a new one becomes active. Either way a fresh next key is published, as after a
    rotation. ValueError when the ring has no key `kid`."""
    keys = list(keys)
    removed = next((k for k in keys if k.kid == kid), None)
    if removed is None:
        raise ValueError(f"no signing key {kid!r}")
    remaining = [k for k in keys if k.kid != kid]
    updated: list[SigningKey] = []
    created: list[SigningKey] = []
    upcoming = [k for k in remaining if k.state is KeyState.NEXT]
    if removed.state is KeyState.ACTIVE and not any(k.state is KeyState.ACTIVE for k in remaining):
        if upcoming:
            promoted = max(upcoming, key=lambda k: k.created_at)
            updated.append(replace(promoted, state=KeyState.ACTIVE, activated_at=now))
        else:
            created.append(new_signing_key(algorithm, KeyState.ACTIVE, now))
        created.append(new_signing_key(algorithm, KeyState.NEXT, now))
    elif removed.state is KeyState.NEXT and len(upcoming) == 0:
        created.append(new_signing_key(algorithm, KeyState.NEXT, now))
    return Rotation(tuple(updated), tuple(created), (kid,))


class KeyRing:
    """The keys a node signs with and publishes, at one moment."""

    def __init__(self, keys: Iterable[SigningKey], now: int, retention: int) -> None:
        self.keys = tuple(keys)
        live = [k for k in self.keys if k.state is not KeyState.RETIRED or (k.retired_at or 0) + retention > now]
        active = [k for k in live if k.state is KeyState.ACTIVE]
        self.active: SigningKey | None = max(active, key=lambda k: k.activated_at or 0) if active else None
        upcoming = [k for k in self.keys if k.state is KeyState.NEXT]
        self.next: SigningKey | None = max(upcoming, key=lambda k: k.created_at) if upcoming else None
        self.published = tuple(live)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.published]}
