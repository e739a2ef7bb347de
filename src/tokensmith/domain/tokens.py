"""Where a token is built: the RFC 9068 claims and the signed JWT.

The JWT is a compact JWS from tokensmith.jose: the header is fixed per key, so its
encoded segment is prepared once, and issuing a token is one JSON dump, one signature
and two base64url encodings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.clients import Client
from tokensmith.domain.keys import SigningKey
from tokensmith.domain.randomness import token_urlsafe
from tokensmith.domain.scopes import format_scope
from tokensmith.domain.sender_constraints import Confirmation
from tokensmith.jose.jws import Signer

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1


@dataclass(slots=True)  # one per token: not frozen, which costs twice as much to build
class IssuedToken:
    access_token: str
    issued_at: int
    expires_at: int
    scope: str
    audience: str
    jti: str
    token_type: str = "Bearer"  # "DPoP" for a DPoP-bound token (RFC 9449 §5)

    def seconds_left(self, now: int) -> int:
        return max(0, self.expires_at - now)


class TokenSigner:
    """Signs claims with one key; everything that does not change per token is ready."""

    def __init__(self, key: SigningKey) -> None:
        self.kid = key.kid
        self.algorithm = key.algorithm
        # ES256 signatures come out with low s (jose/jws.py), as every verifier requires.
        # An attribute, not a method: no extra call level on the hot path.
        self._jws = Signer(key.private_key, {"alg": key.algorithm, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid})
        self.sign: Callable[[Mapping[str, Any]], str] = self._jws.sign_claims


def is_reusable(token: IssuedToken, now: int, threshold: float) -> bool:
    """Whether more than `threshold` (a fraction) of the token's lifetime is left
    (token reuse: store/reuse.py)."""
    return token.expires_at - now > threshold * (token.expires_at - token.issued_at)


def build_claims(
    client: Client, *, issuer: str, audience: str, scopes: tuple[str, ...], now: int, jti: str, confirmation: Confirmation | None = None
) -> dict[str, Any]:
    # Custom claims first, so that a registered claim written after them always wins
    # (they are also refused at registration: domain/clients.py).
    claims: dict[str, Any] = dict(client.claims)
    claims.update(
        iss=issuer,
        sub=client.client_id,  # RFC 9068 §2.2: for client_credentials, sub is the client
        aud=audience,
        client_id=client.client_id,
        scope=format_scope(scopes),
        iat=now,
        exp=client.lifetime.expiry(now),
        jti=jti,
    )
    if confirmation is not None:
        claims["cnf"] = confirmation.claim  # RFC 7800 §3.1; RFC 9449 §6; RFC 8705 §3.1
    return claims


def issue_token(
    signer: TokenSigner, client: Client, *, issuer: str, audience: str, scopes: tuple[str, ...], now: int, confirmation: Confirmation | None = None
) -> IssuedToken:
    jti = token_urlsafe(16)  # 128 random bits, as secrets.token_urlsafe(16)
    claims = build_claims(client, issuer=issuer, audience=audience, scopes=scopes, now=now, jti=jti, confirmation=confirmation)
    token = IssuedToken(
        access_token=signer.sign(claims),
        issued_at=now,
        expires_at=claims["exp"],
        scope=claims["scope"],
        audience=audience,
        jti=jti,
    )
    if confirmation is not None:
        token.token_type = confirmation.token_type
    return token
