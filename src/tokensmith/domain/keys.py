"""Signing keys and the key ring: which key signs, which keys are published.

A key is `next` (published, not yet signing), `active` (signing) or `retired`
(published until every token it signed has expired). Publishing the next key before
it signs means verifiers have it cached before the first token it signs arrives, so a
rotation never breaks a token in flight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tokensmith.jose import jwk
from tokensmith.jose.jws import PrivateKey

ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class KeyState(str, Enum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"


def generate_private_key(algorithm: str) -> PrivateKey:
    if algorithm in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported signing algorithm: {algorithm}")


def thumbprint(key: PrivateKey) -> str:
    """RFC 7638 JWK thumbprint: a kid every party can recompute from the key."""
    return jwk.thumbprint(key.public_key())


def private_key_bytes(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_key(der: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey))
    return key


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
        return {**jwk.public_jwk(self.private_key.public_key()), "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def verification_key(self) -> jwk.VerificationKey:
        return jwk.VerificationKey(self.kid, self.algorithm, self.private_key.public_key())


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
    _sign_with_next(keys, algorithm, now, updated, created)
    return Rotation(tuple(updated), tuple(created), tuple(deleted))


def _sign_with_next(keys: Iterable[SigningKey], algorithm: str, now: int, updated: list[SigningKey], created: list[SigningKey]) -> None:
    """The newest next key becomes active (verifiers already hold it: it is published),
    or a new active key when there is none; and a fresh next key is published."""
    upcoming = [k for k in keys if k.state is KeyState.NEXT]
    if upcoming:
        promoted = max(upcoming, key=lambda k: k.created_at)
        updated.append(replace(promoted, state=KeyState.ACTIVE, activated_at=now))
    else:
        created.append(new_signing_key(algorithm, KeyState.ACTIVE, now))
    created.append(new_signing_key(algorithm, KeyState.NEXT, now))


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
        _sign_with_next(remaining, algorithm, now, updated, created)
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
