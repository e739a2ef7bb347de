"""Reading back a token this server issued (for RFC 7662 introspection and RFC 7009
revocation): signature by a published key, this issuer, not expired, RFC 9068 shape.
Anything else is simply "not a live token": the caller never learns why."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.keys import SigningKey

MAX_TOKEN_LENGTH = 8192
MAX_NUMERIC_DATE = 2**53
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
# RFC 7515 §7.1: three base64url segments without padding, and nothing else.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class VerificationKey:
    algorithm: str
    public_key: Any


def verification_keys(keys: tuple[SigningKey, ...]) -> dict[str, VerificationKey]:
    return {key.kid: VerificationKey(key.algorithm, key.private_key.public_key()) for key in keys}


def read_token(token: str, keys: Mapping[str, VerificationKey], issuer: str, leeway: int = 0) -> dict[str, Any] | None:
    """The claims of a live token signed by one of `keys`, or None."""
    # Imported here: a process that only issues tokens never loads PyJWT (about 2 MB).
    import jwt

    # One spelling per token, as tokensmith.verify requires: PyJWT alone also accepts a
    # padded signature segment (`token + "=="`), so two strings would be the same token.
    if not token or len(token) > MAX_TOKEN_LENGTH or not _COMPACT_JWS.fullmatch(token):
        return None
    try:
        _check_encoding(token)
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
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        return None
    return claims if _well_typed(claims) else None


def _check_encoding(token: str) -> None:
    """ValueError unless every segment is canonical base64url (no stray low bits) and
    the header and claims have no duplicate member names, which PyJWT would silently
    resolve to the last one while tokensmith.verify refuses them (RFC 7519 §4)."""
    for index, segment in enumerate(token.split(".")):
        if len(segment) % 4 == 1:
            raise ValueError("not base64url")
        try:
            raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        except binascii.Error:
            raise ValueError("not base64url") from None
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
            raise ValueError("not canonical base64url")
        if index < 2:
            json.loads(raw, object_pairs_hook=_unique_members)


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def _well_typed(claims: Mapping[str, Any]) -> bool:
    """RFC 7519 §4.1 / RFC 9068 §2.2 types. PyJWT accepts `"exp": "1700000000"` and
    `"iat": true` (it calls int() on them), and checks neither `aud` nor `scope`."""
    aud = claims["aud"]
    return (
        all(_is_numeric_date(claims[name]) for name in ("exp", "iat", "nbf") if name in claims)
        and all(isinstance(claims[name], str) for name in ("iss", "sub", "jti", "client_id"))
        and (isinstance(aud, str) or (isinstance(aud, list) and bool(aud) and all(isinstance(a, str) for a in aud)))
        and isinstance(claims.get("scope", ""), str)
    )


def _is_numeric_date(value: object) -> bool:
    # Not bool (an int subclass); within 2**53, beyond which a JSON number is not exact
    # (and orjson cannot even write an integer past 64 bits back out).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # The size first: math.isfinite() raises OverflowError on an int past a float's range.
    return abs(value) <= MAX_NUMERIC_DATE and math.isfinite(value)
