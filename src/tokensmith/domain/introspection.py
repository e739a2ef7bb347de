"""Reading back a token this server issued (for RFC 7662 introspection and RFC 7009
revocation): signature by a published key, this issuer, not expired, RFC 9068 shape.
Anything else is simply "not a live token": the caller never learns why.

The JWS is read by tokensmith.jose, the same core tokensmith.verify uses, so the
server and every resource server accept exactly the same spellings of a token."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from tokensmith.domain.keys import SigningKey
from tokensmith.jose import jws
from tokensmith.jose.jwk import VerificationKey

MAX_TOKEN_LENGTH = 8192
MAX_NUMERIC_DATE = 2**53
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
_STRING_CLAIMS = ("iss", "sub", "jti", "client_id")


def verification_keys(keys: tuple[SigningKey, ...]) -> dict[str, VerificationKey]:
    return {key.kid: key.verification_key() for key in keys}


def read_token(token: str, keys: Mapping[str, VerificationKey], issuer: str, leeway: int = 0) -> dict[str, Any] | None:
    """The claims of a live token signed by one of `keys`, or None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        parsed = jws.parse(token)
    except jws.MalformedJWS:
        return None
    header = parsed.header
    kid, alg = header.get("kid"), header.get("alg")
    key = keys.get(kid) if isinstance(kid, str) else None
    # RFC 8725 §3.1: the algorithm is the key's, never the token's choice. Only our own
    # header shape: exactly typ at+jwt, and no extension we would have to understand.
    if key is None or not isinstance(alg, str) or header.get("typ") != "at+jwt" or "crit" in header or "b64" in header:
        return None
    if not jws.verify_signature(key, alg, parsed.signing_input, parsed.signature):
        return None
    try:
        claims = parsed.payload_object()
    except jws.MalformedJWS:
        return None
    return claims if _live(claims, issuer, leeway) else None


def _live(claims: Mapping[str, Any], issuer: str, leeway: int) -> bool:
    """RFC 7519 §4.1 / RFC 9068 §2.2: every required claim, well typed; our issuer;
    not expired, not before its nbf, not issued in the future."""
    if any(name not in claims for name in REQUIRED_CLAIMS):
        return False
    aud = claims["aud"]
    if not (
        all(_is_numeric_date(claims[name]) for name in ("exp", "iat", "nbf") if name in claims)
        and all(isinstance(claims[name], str) for name in _STRING_CLAIMS)
        and (isinstance(aud, str) or (isinstance(aud, list) and bool(aud) and all(isinstance(a, str) for a in aud)))
        and isinstance(claims.get("scope", ""), str)
        and isinstance(claims.get("cnf", {}), dict)
    ):
        return False
    now = time.time()
    exp: float = claims["exp"]
    iat: float = claims["iat"]
    nbf: float = claims.get("nbf", 0)
    return claims["iss"] == issuer and now < exp + leeway and nbf <= now + leeway and iat <= now + leeway


def _is_numeric_date(value: object) -> bool:
    # Not bool (an int subclass); within 2**53, beyond which a JSON number is not exact
    # (and orjson cannot even write an integer past 64 bits back out).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    # The size first: math.isfinite() raises OverflowError on an int past a float's range.
    return abs(value) <= MAX_NUMERIC_DATE and math.isfinite(value)


def token_type(claims: Mapping[str, Any]) -> str:
    """How the token is presented: DPoP when bound to a DPoP key (RFC 9449 §6.2),
    else Bearer (an mTLS-bound token too: RFC 8705 §3)."""
    cnf = claims.get("cnf")
    return "DPoP" if isinstance(cnf, dict) and "jkt" in cnf else "Bearer"
