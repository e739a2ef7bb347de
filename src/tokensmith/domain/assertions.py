"""The rules a JWT used as a client credential must meet, as pure decisions: a
client's own assertion (private_key_jwt, RFC 7523 §2.2 and §3 as updated by
draft-ietf-oauth-rfc7523bis) and a platform token of a trusted issuer (workload
identity federation, domain/trusts.py). The signature is checked before any of this
by exchange/authentication/client_assertion.py; replay is checked after it, by the
driver, under the key `replay_key` gives.

Each refusal names a reason from a fixed set: it labels the failure metric and the
log, while the client is answered the one invalid_client of a wrong secret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.trusts import ReplayRule, Trust

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 §2.1
# rfc7523bis §5: the explicit type of a client authentication JWT. `JWT` and no typ
# at all remain accepted (every client written before the draft sends one of them).
ASSERTION_TYPES = frozenset({"client-authentication+jwt", "application/client-authentication+jwt", "jwt", "application/jwt"})
MAX_ASSERTION_LENGTH = 8192
MAX_JTI_LENGTH = 256


class AssertionRefused(Exception):
    """An assertion that does not authenticate; `reason` is one of REASONS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


REASONS = frozenset(
    {
        "malformed", "type", "algorithm", "unknown_key", "keys_unavailable", "signature", "issuer", "subject",
        "audience", "expired", "lifetime", "not_yet_valid", "too_old", "jti", "replayed", "no_federation",
        "wrong_method", "disabled",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AssertionRules:
    """The server's side of the check: which audiences name it, and the bounds."""

    audiences: frozenset[str]  # the issuer identifier (and, if allowed, the token endpoint URLs)
    max_lifetime: int  # exp may be at most this long after iat (or after now without iat)
    leeway: int  # clock skew tolerated on exp, nbf and iat


def check_type(header: Mapping[str, Any]) -> None:
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ASSERTION_TYPES):
        raise AssertionRefused("type")


def _number(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    # NumericDate (RFC 7519 §2); a boolean is an int to Python, never a date.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AssertionRefused("malformed")
    return int(value)


def _check_times(claims: Mapping[str, Any], now: int, leeway: int) -> tuple[int, int | None]:
    """exp (required, not past) and iat (optional, not in the future); nbf if given."""
    exp = _number(claims, "exp")
    if exp is None:
        raise AssertionRefused("expired")
    if exp + leeway <= now:
        raise AssertionRefused("expired")
    nbf = _number(claims, "nbf")
    iat = _number(claims, "iat")
    if (nbf is not None and nbf > now + leeway) or (iat is not None and iat > now + leeway):
        raise AssertionRefused("not_yet_valid")
    return exp, iat


def _jti(claims: Mapping[str, Any]) -> str:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise AssertionRefused("jti")
    return jti


def check_client_assertion(claims: Mapping[str, Any], client_id: str, rules: AssertionRules, now: int) -> tuple[str, int]:
    """A private_key_jwt assertion's claims (RFC 7523 §3): iss = sub = the client,
    aud the server's issuer identifier as the only value (rfc7523bis §4: a string,
    not an array, so no token meant for another server can be replayed here), a
    bounded life, and a jti. Answers (jti, exp): the jti is single use until exp."""
    if claims.get("iss") != client_id:
        raise AssertionRefused("issuer")
    if claims.get("sub") != client_id:
        raise AssertionRefused("subject")
    audience = claims.get("aud")
    if not isinstance(audience, str) or audience not in rules.audiences:
        raise AssertionRefused("audience")
    exp, iat = _check_times(claims, now, rules.leeway)
    if exp - (iat if iat is not None else now) > rules.max_lifetime:
        raise AssertionRefused("lifetime")
    return _jti(claims), exp


def _audiences(claims: Mapping[str, Any]) -> Iterable[str]:
    audience = claims.get("aud")
    if isinstance(audience, str):
        return (audience,)
    if isinstance(audience, list) and all(isinstance(item, str) for item in audience):
        return audience
    raise AssertionRefused("audience")


def check_platform_token(claims: Mapping[str, Any], trust: Trust, server_issuer: str, rules: AssertionRules, now: int) -> str | None:
    """A trusted issuer's token (workload identity federation): its iss is the
    trust's, its aud names this server (a platform token often names several
    audiences, so here membership is enough), it has not expired, and it meets the
    trust's replay rule. Answers the jti to accept once, or None under max-age."""
    if claims.get("iss") != trust.issuer:
        raise AssertionRefused("issuer")
    if (trust.audience or server_issuer) not in _audiences(claims):
        raise AssertionRefused("audience")
    if not isinstance(claims.get("sub"), str):
        raise AssertionRefused("subject")
    _, iat = _check_times(claims, now, rules.leeway)
    if trust.replay is ReplayRule.SINGLE_USE:
        return _jti(claims)
    if iat is None or now - iat > trust.max_token_age:
        raise AssertionRefused("too_old")
    return None


def replay_key(scope: str, jti: str) -> str:
    """The replay cache's key for a jti of one client or one trust: jtis are unique
    per issuer only (RFC 7519 §4.1.7)."""
    return f"{scope}\x00{jti}"
