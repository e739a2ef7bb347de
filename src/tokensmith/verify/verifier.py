"""RFC 9068 access-token verification for resource servers.

The checks follow RFC 9068 §4 and the JWT BCP (RFC 8725). There is no
option that turns a check off: the only knobs are which of the safe
algorithms to accept, the clock leeway, and size / cache limits.

Two paths to the same verdict. A token seen for the first time is parsed, its
signature checked with the key its header names and its claims checked; then it
enters the verified-token cache (tokensmith.verify.cache) until its ``exp``. A token
found there skips parsing and the signature, but not what can change while it is
cached: its key must still be published (key retirement), the revocation check runs,
and the scopes are compared. Both paths end in :meth:`TokenVerifier._accept`, the one
place for checks on an already trusted token (proof-of-possession ``cnf`` checks,
RFC 9449 §7 / RFC 8705 §3, belong there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import httpx

from tokensmith.jose import jws
from tokensmith.jose.jwk import VerificationKey
from tokensmith.verify.cache import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, ENTRY_OVERHEAD_BYTES, CachedToken, VerifiedTokenCache
from tokensmith.verify.dpop import DPoPChecker, Presentation
from tokensmith.verify.errors import ExpiredToken, InsufficientScope, InvalidToken, TokenError
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
# Header segments already checked, with their (alg, kid): an issuer writes one header per
# key, so this stays tiny; emptied when full, so made-up headers cannot pin it.
_MAX_KNOWN_HEADERS = 64


class RevocationCheck(Protocol):
    """Optional extra check run on tokens that passed every local check."""

    def check(self, token: str, claims: Mapping[str, Any]) -> None: ...

    async def check_async(self, token: str, claims: Mapping[str, Any]) -> None: ...


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
        cache_max_entries: int = DEFAULT_MAX_ENTRIES,
        cache_max_bytes: int = DEFAULT_MAX_BYTES,
        dpop: DPoPChecker | None = None,
    ) -> None:
        """``cache_max_entries=0`` turns the verified-token cache off; it is per verifier,
        so never shared between issuers or audiences. ``dpop`` sets how DPoP-bound
        tokens are checked (tokensmith.verify.dpop: proof age, replay memory, nonces);
        they are always checked."""
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
        if cache_max_entries < 0:
            raise ValueError("cache_max_entries must not be negative")
        self.issuer = issuer
        self.audience = audience
        self.algorithms = chosen
        self.leeway = float(leeway)
        self.max_token_bytes = max_token_bytes
        self._clock = clock
        self._revocation_check = revocation_check
        self._known_headers: dict[str, tuple[str, str]] = {}
        self.dpop = dpop if dpop is not None else DPoPChecker()
        self.token_cache = VerifiedTokenCache(cache_max_entries, cache_max_bytes) if cache_max_entries else None
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

    def verify(self, token: str, scopes: Iterable[str] | str = (), presentation: Presentation | None = None) -> dict[str, Any]:
        """Return the token's claims, or raise a :class:`TokenError` subclass.

        ``presentation``: how the request presented the token (tokensmith.verify.dpop);
        None is a Bearer presentation, which a DPoP-bound token fails."""
        required = _scope_set(scopes) if scopes else _NO_SCOPES
        entry = self._cached(token)
        if entry is not None:
            try:
                claims = _cached_claims(entry, self._jwks.keys_for(entry.key.kid))
            except TokenError:
                self._forget(token)
                raise
        else:
            alg, kid, signing_input, payload, signature = self._parse(token)
            claims = self._verified(token, alg, signing_input, payload, signature, self._jwks.keys_for(kid))
        if self._revocation_check is not None:
            try:
                self._revocation_check.check(token, claims)
            except TokenError:
                self._forget(token)
                raise
        return self._accept(claims, required, token, presentation)

    async def verify_async(self, token: str, scopes: Iterable[str] | str = (), presentation: Presentation | None = None) -> dict[str, Any]:
        """Async twin of :meth:`verify`; shares the key cache and the token cache with it."""
        required = _scope_set(scopes)
        entry = self._cached(token)
        if entry is not None:
            try:
                claims = _cached_claims(entry, await self._jwks.keys_for_async(entry.key.kid))
            except TokenError:
                self._forget(token)
                raise
        else:
            alg, kid, signing_input, payload, signature = self._parse(token)
            claims = self._verified(token, alg, signing_input, payload, signature, await self._jwks.keys_for_async(kid))
        if self._revocation_check is not None:
            try:
                await self._revocation_check.check_async(token, claims)
            except TokenError:
                self._forget(token)
                raise
        return self._accept(claims, required, token, presentation)

    # -- steps ------------------------------------------------------------

    def _cached(self, token: object) -> CachedToken | None:
        if self.token_cache is None or type(token) is not str or len(token) > self.max_token_bytes:
            return None  # _parse gives the verdict on anything odd
        return self.token_cache.get(token, self._clock())

    def _forget(self, token: str) -> None:
        if self.token_cache is not None:
            self.token_cache.discard(token)

    def _accept(self, claims: dict[str, Any], required: frozenset[str], token: str, presentation: Presentation | None) -> dict[str, Any]:
        """Checks on a token whose signature and claims are trusted, on both paths."""
        # Proof of possession (RFC 9449 §7): a bound token, or a DPoP presentation.
        if presentation is not None or "cnf" in claims:
            self.dpop.check(claims, token, presentation, self._clock())
        if required:
            _check_scope_set(claims, required)
        return claims

    def _parse(self, token: object) -> tuple[str, str, bytes, bytes, bytes]:
        """(alg, kid, signing input, payload, signature) of a token whose header passed."""
        if not isinstance(token, str):
            raise InvalidToken("token must be a string")
        # Before any decoding: an oversized token costs us nothing but a len().
        if len(token) > self.max_token_bytes:
            raise InvalidToken(f"token is larger than {self.max_token_bytes} bytes")
        try:
            header_segment, payload_segment, signature_segment = jws.split(token)
            # The header's verdict first: `alg: none` is refused for its algorithm,
            # whatever the rest of the token looks like.
            known = self._known_headers.get(header_segment)
            if known is None:
                known = self._check_header(jws.decode_header(header_segment))
                if len(self._known_headers) >= _MAX_KNOWN_HEADERS:
                    self._known_headers.clear()
                self._known_headers[header_segment] = known
            payload, signature = jws.decode_body(payload_segment, signature_segment)
        except jws.MalformedJWS as exc:
            raise InvalidToken(f"token {exc}") from None
        # Every segment passed the base64url alphabet check, so this is ASCII.
        signing_input = token[: len(header_segment) + len(payload_segment) + 1].encode("ascii")
        return known[0], known[1], signing_input, payload, signature

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

    def _verified(
        self, token: str, alg: str, signing_input: bytes, payload: bytes, signature: bytes, keys: tuple[VerificationKey, ...]
    ) -> dict[str, Any]:
        """The claims of a token seen for the first time, once everything checks out."""
        signer: VerificationKey | None = None
        matched = False
        for key in keys:
            if key.alg == alg:
                matched = True
                if key.check(signing_input, signature):
                    signer = key
                    break
        if signer is None:
            if not matched:
                raise InvalidToken("token algorithm does not match the signing key's type")
            raise InvalidToken("token signature is invalid")
        # Only now is the payload trustworthy enough to read.
        try:
            claims = jws.payload_object(payload)
        except jws.MalformedJWS as exc:
            raise InvalidToken(f"token {exc}") from None
        exp, now = self._check_claims(claims)
        # Cached until exp, never past it: within the leeway after exp the full checks
        # decide again, as they would for a token never seen. Only a plain str is a key:
        # a subclass could bring its own __eq__ and match other strings.
        if self.token_cache is not None and exp > now and type(token) is str:
            self.token_cache.put(token, CachedToken(payload, signer, exp, len(token) + len(payload) + ENTRY_OVERHEAD_BYTES))
        return claims

    def _check_claims(self, claims: Mapping[str, Any]) -> tuple[float, float]:
        """(exp, now) once every claim check has passed. Each check first tries the
        shape every tokensmith token has; anything else takes the detailed path, which
        gives the verdict and its message."""
        iss = claims.get("iss")
        if type(iss) is not str or iss != self.issuer:
            if not isinstance(iss, str):
                raise InvalidToken("token has no issuer (iss)")
            if iss != self.issuer:  # RFC 9068 §4 step 3: exact match, no normalisation
                raise InvalidToken("token was issued by a different issuer (iss)")
        aud = claims.get("aud")
        if type(aud) is not str or aud != self.audience:
            self._check_audience(aud)

        exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
        if type(exp) is not int or not -_MAX_NUMERIC_DATE <= exp <= _MAX_NUMERIC_DATE:
            exp = _numeric_date(claims, "exp")
        if type(iat) is not int or not -_MAX_NUMERIC_DATE <= iat <= _MAX_NUMERIC_DATE:
            iat = _numeric_date(claims, "iat")
        if nbf is not None or "nbf" in claims:
            nbf = _numeric_date(claims, "nbf")
        if exp is None or iat is None:  # both REQUIRED by RFC 9068 §2.2
            raise InvalidToken("token lacks 'exp' or 'iat'")
        sub, client_id, jti = claims.get("sub"), claims.get("client_id"), claims.get("jti")
        if not (type(sub) is str and sub and type(client_id) is str and client_id and type(jti) is str and jti):
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
        return exp, now

    def _check_audience(self, aud: object) -> None:
        if isinstance(aud, str):
            audiences = [aud]
        elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
            audiences = aud
        else:
            raise InvalidToken("token audience (aud) is missing or malformed")
        if self.audience not in audiences:
            raise InvalidToken("token is not intended for this audience (aud)")


def check_scopes(claims: Mapping[str, Any], required: Iterable[str] | str) -> None:
    """Raise :class:`InsufficientScope` unless ``claims['scope']`` has all of ``required``."""
    needed = _scope_set(required)
    if needed:
        _check_scope_set(claims, needed)


def _check_scope_set(claims: Mapping[str, Any], needed: frozenset[str]) -> None:
    scope = claims.get("scope", "")
    granted = frozenset(scope.split(" ")) if isinstance(scope, str) else frozenset()
    if not needed <= granted:
        raise InsufficientScope(
            f"token lacks required scope: {' '.join(sorted(needed - granted))}",
            required_scopes=sorted(needed),
        )


def _cached_claims(entry: CachedToken, keys: tuple[VerificationKey, ...]) -> dict[str, Any]:
    """The claims of a cached token whose key is still published."""
    # Key retirement: keys_for has already refused a kid the JWKS no longer has; the
    # same kid may now name another key, which never verified this token.
    if entry.key not in keys:
        raise InvalidToken("token is signed with an unknown key (kid)")
    # These bytes passed the strict reader once; read again, they give the same claims,
    # in a dict of the caller's own.
    return jws.payload_object(entry.payload)


def _scope_set(scopes: Iterable[str] | str) -> frozenset[str]:
    # A bare string is a space-separated scope list (RFC 6749 §3.3), not an
    # iterable of one-letter scopes.
    if not scopes:
        return _NO_SCOPES
    required = frozenset(scopes.split(" ") if isinstance(scopes, str) else scopes)
    return required - _EMPTY_SCOPE if "" in required else required


_NO_SCOPES: frozenset[str] = frozenset()
_EMPTY_SCOPE = frozenset({""})


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:  # an int is a float here (PEP 484)
    """None when absent; InvalidToken when present but not a NumericDate (RFC 7519 §2)."""
    value = claims.get(name)
    if type(value) is int and -_MAX_NUMERIC_DATE <= value <= _MAX_NUMERIC_DATE:
        return value  # the common case, decided without the checks below
    if value is None and name not in claims:
        return None
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
