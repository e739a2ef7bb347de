"""Sender-constrained tokens (DESIGN.md §10): what a client's tokens must be bound
to, and the confirmation (`cnf`, RFC 7800) a bound token carries: a DPoP key's
thumbprint (`jkt`, RFC 9449 §6) or a client certificate's (`x5t#S256`, RFC 8705 §3.1)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class TokenBinding(str, Enum):
    NONE = "none"  # bearer tokens; a DPoP proof, if sent, still binds the token
    DPOP = "dpop"  # every token bound to a DPoP key (RFC 9449)
    MTLS = "mtls"  # every token bound to the client certificate (RFC 8705)


def parse_token_binding(text: str) -> TokenBinding:
    try:
        return TokenBinding(text)
    except ValueError:
        names = ", ".join(binding.value for binding in TokenBinding)
        raise ValueError(f"unknown token binding {text!r}; one of: {names}") from None


class Profile(str, Enum):
    NONE = "none"
    # FAPI 2.0 Security Profile for client credentials: asymmetric or mTLS client
    # authentication, a sender constraint, aud = issuer, at most 10 minutes.
    FAPI2 = "fapi2"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A bound token's `cnf` member and its token_type (RFC 9449 §5: DPoP)."""

    claim: dict[str, str]  # {"jkt": …} or {"x5t#S256": …}
    token_type: str  # "DPoP" or "Bearer" (an mTLS-bound token is still presented as Bearer)
