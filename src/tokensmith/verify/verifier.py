"""RFC 9068 access-token verification for resource servers.

The checks follow RFC 9068 §4 and the JWT BCP (RFC 8725). There is no
option that turns a check off: the only knobs are which of the safe
algorithms to accept, the clock leeway, and size / cache limits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tokensmith.jose import jws
from tokensmith.jose.jwk import VerificationKey
from tokensmith.verify.errors import ExpiredToken, InsufficientScope, InvalidToken
from tokensmith.verify.jwks import SUPPORTED_ALGORITHMS, JwksCache

# RFC 9068 §2.1 / RFC 7515 §4.1.9: "typ" is compared case-insensitively and
# the "application/" prefix may be omitted.
_ACCEPTED_TYP = frozenset({"at+jwt", "application/at+jwt"})
# RFC 8725 §3.10: keys come from the issuer's JWKS only. A token naming its
# own key (or where to fetch one) is an attack or a misconfiguration.
_KEY_REFERENCE_HEADERS = ("jku", "x5u", "jwk", "x5c")
# RFC 9068 §2.2: claims every access token carries, as strings.
_REQUIRED_STRING_CLAIMS = ("sub", "client_id", "jti")
# Largest NumericDate we accept: beyond 2**53 floats lose integer precision.
_MAX_NUMERIC_DATE = 2**53
#: The default max_token_bytes. A token this size still fits, with the form around it
#: (`token=…&token_type_hint=access_token`, and client_secret_post credentials), in the
#: server's introspection request limit (TOKENSMITH_MAX_BODY_BYTES, default 8192), so a
#: token the verifier accepts can always be introspected (docs/resource-servers.md).
DEFAULT_MAX_TOKEN_BYTES = 6144


class RevocationCheck(Protocol):
    """Optional extra check run on tokens that passed every local check."""

    def check(self, token: str, claims: Mapping[str, Any]) -> None: ...

    async def check_async(self, token: str, claims: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class _Parsed:
    alg: str
    kid: str
    jws: jws.CompactJWS


class TokenVerifier:
    """Verifies access tokens from one issuer for one audience.

    >>> verifier = TokenVerifier("https://auth.example.com", "https://api.example.com")
    >>> claims = verifier.verify(token, scopes=["orders:read"])
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        jwks_url: str | None = None,
        algorithms: Iterable[str] | None = None,
        leeway: float = 30.0,
        max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        jwks_cache_ttl: float = 300.0,
        jwks_min_refresh_interval: float = 30.0,
        http_timeout: float = 5.0,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        revocation_check: RevocationCheck | None = None,
        clock: Callable[[], float] = time.time,
        jwks: JwksCache | None = None,
    ) -> None:
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer must be a non-empty string")
        if not isinstance(audience, str) or not audience:
            raise ValueError("audience must be a non-empty string")
        chosen = frozenset(SUPPORTED_ALGORITHMS if algorithms is None else algorithms)
        if not chosen or not chosen <= SUPPORTED_ALGORITHMS:
            raise ValueError(
                f"algorithms must be a non-empty subset of {sorted(SUPPORTED_ALGORITHMS)}; "
                f"got {sorted(chosen)}"
            )
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        if max_token_bytes <= 0:
            raise ValueError("max_token_bytes must be positive")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = chosen
        self.leeway = float(leeway)
        self.max_token_bytes = max_token_bytes
        self._clock = clock
        self._revocation_check = revocation_check
        self._jwks = jwks if jwks is not None else JwksCache(
            issuer,
            jwks_url=jwks_url,
            algorithms=chosen,
            cache_ttl=jwks_cache_ttl,
            min_refresh_interval=jwks_min_refresh_interval,
            timeout=http_timeout,
            http_client=http_client,
            async_http_client=async_http_client,
        )

    def __repr__(self) -> str:
        return f"TokenVerifier(issuer={self.issuer!r}, audience={self.audience!r})"

    # -- public -----------------------------------------------------------

    def verify(self, token: str, scopes: Iterable[str] | str = ()) -> dict[str, Any]:
        """Return the token's claims, or raise a :class:`TokenError` subclass."""
        required = _scope_set(scopes)
        parsed = self._parse(token)
        keys = self._jwks.keys_for(parsed.kid)
        claims = self._verified_claims(parsed, keys)
        if self._revocation_check is not None:
            self._revocation_check.check(token, claims)
        check_scopes(claims, required)
        return claims

    async def verify_async(self, token: str, scopes: Iterable[str] | str = ()) -> dict[str, Any]:
        """Async twin of :meth:`verify`; shares the key cache with it."""
        required = _scope_set(scopes)
        parsed = self._parse(token)
        keys = await self._jwks.keys_for_async(parsed.kid)
        claims = self._verified_claims(parsed, keys)
        if self._revocation_check is not None:
            await self._revocation_check.check_async(token, claims)
        check_scopes(claims, required)
        return claims

    # -- steps ------------------------------------------------------------

    def _parse(self, token: object) -> _Parsed:
        if not isinstance(token, str):
            raise InvalidToken("token must be a string")
        # Before any decoding: an oversized token costs us nothing but a len().
        if len(token) > self.max_token_bytes:
            raise InvalidToken(f"token is larger than {self.max_token_bytes} bytes")
        try:
            # The header's verdict first: `alg: none` is refused for its algorithm,
            # whatever the rest of the token looks like.
            alg, kid = self._check_header(jws.parse_header(token))
            parsed = jws.parse(token)
        except jws.MalformedJWS as exc:
            raise InvalidToken(f"token {exc}") from None
        return _Parsed(alg=alg, kid=kid, jws=parsed)

    def _check_header(self, header: Mapping[str, Any]) -> tuple[str, str]:
        alg = header.get("alg")
        # RFC 8725 §3.1: the allowlist is fixed by us, never by the token.
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidToken(f"token algorithm {_short(alg)} is not allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _ACCEPTED_TYP:
            raise InvalidToken("token type (typ) is not at+jwt (RFC 9068 §4)")
        for name in _KEY_REFERENCE_HEADERS:
            if name in header:
                raise InvalidToken(f"token header carries {name!r}; keys are taken only from the issuer's JWKS")
        # RFC 7515 §4.1.11: we understand no extensions, so any "crit" is fatal.
        if "crit" in header:
            raise InvalidToken("token header lists critical extensions (crit) this verifier does not support")
        # RFC 7797 "b64" changes what is signed; refuse rather than guess.
        if "b64" in header:
            raise InvalidToken("token header uses the unsupported b64 extension")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token header has no key id (kid)")
        return alg, kid

    def _verified_claims(self, parsed: _Parsed, keys: tuple[VerificationKey, ...]) -> dict[str, Any]:
        candidates = [k for k in keys if k.alg == parsed.alg]
        if not candidates:
            raise InvalidToken("token algorithm does not match the signing key's type")
        token = parsed.jws
        if not any(jws.verify_signature(k, parsed.alg, token.signing_input, token.signature) for k in candidates):
            raise InvalidToken("token signature is invalid")
        # Only now is the payload trustworthy enough to read.
        try:
            claims = token.payload_object()
        except jws.MalformedJWS as exc:
            raise InvalidToken(f"token {exc}") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        iss = claims.get("iss")
        if not isinstance(iss, str):
            raise InvalidToken("token has no issuer (iss)")
        if iss != self.issuer:  # RFC 9068 §4 step 3: exact match, no normalisation
            raise InvalidToken("token was issued by a different issuer (iss)")

        aud = claims.get("aud")
        if isinstance(aud, str):
            audiences = [aud]
        elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
            audiences = aud
        else:
            raise InvalidToken("token audience (aud) is missing or malformed")
        if self.audience not in audiences:
            raise InvalidToken("token is not intended for this audience (aud)")

        exp = _numeric_date(claims, "exp")
        iat = _numeric_date(claims, "iat")
        nbf = _numeric_date(claims, "nbf")
        if exp is None or iat is None:  # both REQUIRED by RFC 9068 §2.2
            raise InvalidToken("token lacks 'exp' or 'iat'")
        for name in _REQUIRED_STRING_CLAIMS:
            value = claims.get(name)
            if not isinstance(value, str) or not value:
                raise InvalidToken(f"token claim {name!r} is missing or not a string")
        if "scope" in claims and not isinstance(claims["scope"], str):
            raise InvalidToken("token claim 'scope' is not a string")

        now = self._clock()
        if now >= exp + self.leeway:
            raise ExpiredToken("token has expired")
        if nbf is not None and now + self.leeway < nbf:
            raise InvalidToken("token is not valid yet (nbf)")
        if iat > now + self.leeway:
            raise InvalidToken("token was issued in the future (iat)")


def check_scopes(claims: Mapping[str, Any], required: Iterable[str] | str) -> None:
    """Raise :class:`InsufficientScope` unless ``claims['scope']`` has all of ``required``."""
    needed = _scope_set(required)
    if not needed:
        return
    scope = claims.get("scope", "")
    granted = set(scope.split(" ")) if isinstance(scope, str) else set()
    missing = needed - granted
    if missing:
        raise InsufficientScope(
            f"token lacks required scope: {' '.join(sorted(missing))}",
            required_scopes=sorted(needed),
        )


def _scope_set(scopes: Iterable[str] | str) -> frozenset[str]:
    # A bare string is a space-separated scope list (RFC 6749 §3.3), not an
    # iterable of one-letter scopes.
    items = scopes.split(" ") if isinstance(scopes, str) else scopes
    return frozenset(s for s in items if s)


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """None when absent; InvalidToken when present but not a NumericDate (RFC 7519 §2)."""
    if name not in claims:
        return None
    value = claims[name]
    # bool is an int subclass; "exp": true must not mean 1970-01-01T00:00:01.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        # The size first: math.isfinite() raises OverflowError on an int past a float's range.
        or abs(value) > _MAX_NUMERIC_DATE
        or not math.isfinite(value)
    ):
        raise InvalidToken(f"token claim {name!r} is not a NumericDate")
    return float(value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."
