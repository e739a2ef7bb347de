"""Exceptions raised by the verifier.

Every failure is a :class:`TokenError`. Each class carries the RFC 6750 §3.1
error code and the HTTP status a resource server should answer with, so the
ASGI layer can map them without a lookup table. Messages describe what is
wrong and never contain the token itself.
"""

from __future__ import annotations

from collections.abc import Iterable


class TokenError(Exception):
    """Base class: the request cannot be authorised with the presented token."""

    error: str = "invalid_token"
    status_code: int = 401
    challenge: str = "Bearer"  # the WWW-Authenticate scheme (RFC 6750 §3; RFC 9449 §7.1: DPoP)

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(TokenError):
    """The request carrying the token is malformed (RFC 6750 §3.1 invalid_request)."""

    error = "invalid_request"
    status_code = 400


class MissingToken(TokenError):
    """No bearer token at all: answer with a bare challenge (RFC 6750 §3.1, last paragraph)."""

    error = ""
    status_code = 401


class InvalidToken(TokenError):
    """Malformed, badly signed or otherwise unacceptable token (RFC 6750 invalid_token)."""


class ExpiredToken(InvalidToken):
    """The token's ``exp`` has passed (beyond the configured leeway)."""


class RevokedToken(InvalidToken):
    """The issuer reports the token as no longer active (RFC 7662 ``active: false``)."""


class InvalidDPoPProof(TokenError):
    """A DPoP-bound token without a valid proof for this request (RFC 9449 §7.1)."""

    error = "invalid_dpop_proof"
    challenge = "DPoP"


class DPoPRequired(InvalidToken):
    """A bearer token where the resource takes DPoP-bound tokens only (RFC 9449 §7.1)."""

    challenge = "DPoP"


class UseDPoPNonce(TokenError):
    """The proof must carry this resource's nonce, sent in ``DPoP-Nonce`` (RFC 9449 §9)."""

    error = "use_dpop_nonce"
    challenge = "DPoP"

    def __init__(self, description: str, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce


class InsufficientScope(TokenError):
    """The token is valid but lacks scopes the resource requires (RFC 6750 §3.1)."""

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str, required_scopes: Iterable[str]) -> None:
        super().__init__(description)
        self.required_scopes: tuple[str, ...] = tuple(required_scopes)


class VerifierUnavailable(TokenError):
    """The verifier cannot decide right now (no signing keys, introspection down).

    Not the client's fault, so resource servers answer 503 rather than 401.
    """

    error = "temporarily_unavailable"
    status_code = 503


__all__ = [
    "DPoPRequired",
    "ExpiredToken",
    "InsufficientScope",
    "InvalidDPoPProof",
    "InvalidRequest",
    "InvalidToken",
    "MissingToken",
    "RevokedToken",
    "TokenError",
    "UseDPoPNonce",
    "VerifierUnavailable",
]
