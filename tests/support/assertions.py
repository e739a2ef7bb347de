"""Client assertions (RFC 7523) made by hand for the tests: a client's key pair and
the JWKS it registers, and assertions with any header or claims, good or forged."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.jws import compact, es256, rs256
from tokensmith.jose.jwk import public_jwk

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_DEFAULT = object()


@dataclass
class ClientKey:
    kid: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def es256(cls, kid: str = "") -> ClientKey:
        return cls(kid or "k-" + secrets.token_hex(4), ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def rs256(cls, kid: str = "") -> ClientKey:
        return cls(kid or "k-" + secrets.token_hex(4), rsa.generate_private_key(65537, 2048))

    @property
    def alg(self) -> str:
        return "ES256" if isinstance(self.private, ec.EllipticCurvePrivateKey) else "RS256"

    def jwk(self) -> dict[str, Any]:
        return {**public_jwk(self.private.public_key()), "kid": self.kid, "use": "sig", "alg": self.alg}

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            return es256(self.private)(data)
        return rs256(self.private)(data)


def jwks(*keys: ClientKey) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in keys]}


def jwks_file(directory: Path, *keys: ClientKey) -> Path:
    path = directory / f"jwks-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(jwks(*keys)))
    return path


def assertion(
    key: ClientKey,
    client_id: str,
    audience: Any,
    *,
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    lifetime: int = 60,
    **claims: Any,
) -> str:
    """A signed assertion: iss = sub = client_id, aud, iat now, exp in `lifetime`,
    a fresh jti; `claims` override or add, `drop` removes, `header` overrides."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + lifetime, "jti": secrets.token_urlsafe(16)}
    body.update(claims)
    for name in drop:
        body.pop(name, None)
    head = {"alg": key.alg, "kid": key.kid, "typ": "client-authentication+jwt", **(header or {})}
    head = {name: value for name, value in head.items() if value is not None}
    return compact(head, body, key.sign)


def form(token: str, client_id: str | None = None, **extra: str) -> dict[str, str]:
    fields = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token, **extra}
    if client_id is not None:
        fields["client_id"] = client_id
    return fields
