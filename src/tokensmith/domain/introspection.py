"""Reading back a token this server issued (for RFC 7662 introspection and RFC 7009
revocation): signature by a published key, this issuer, not expired, RFC 9068 shape.
Anything else is simply "not a live token": the caller never learns why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from tokensmith.domain.keys import SigningKey

MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")


@dataclass(frozen=True)
class VerificationKey:
    algorithm: str
    public_key: Any


def verification_keys(keys: tuple[SigningKey, ...]) -> dict[str, VerificationKey]:
    return {key.kid: VerificationKey(key.algorithm, key.private_key.public_key()) for key in keys}


def read_token(token: str, keys: Mapping[str, VerificationKey], issuer: str, leeway: int = 0) -> dict[str, Any] | None:
    """The claims of a live token signed by one of `keys`, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        header = jwt.get_unverified_header(token)
        key = keys.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
        # RFC 8725 §3.1: the algorithm is the key's, never the token's choice.
        if key is None or header.get("alg") != key.algorithm or header.get("typ") != "at+jwt" or "crit" in header:
            return None
        claims = jwt.decode(
            token,
            key.public_key,
            algorithms=[key.algorithm],
            issuer=issuer,
            leeway=leeway,
            options={"verify_aud": False, "require": list(REQUIRED_CLAIMS)},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    if not (isinstance(claims.get("jti"), str) and isinstance(claims.get("client_id"), str)):
        return None
    return claims
