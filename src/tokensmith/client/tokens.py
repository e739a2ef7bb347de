"""Token responses and when to renew them.

``expires_in`` means two different things at tokensmith's two endpoints:

* ``POST /oauth2/token`` (RFC 6749 §5.1): seconds until the token expires.
* ``POST /v1/api/oauth/token`` (legacy "seed" endpoint): the expiry itself,
  as Unix epoch seconds (equal to the token's ``exp``).

Rule: the value is read as an epoch timestamp when the token URL's path ends
with ``/v1/api/oauth/token`` (override with ``seed_endpoint=``), or when it
exceeds ten years of seconds (315 360 000), which no real lifetime does and
every current epoch timestamp does. Otherwise it is seconds remaining.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tokensmith.client._credentials import Secret
from tokensmith.client.errors import TokenRequestError, TokenResponseError

SEED_TOKEN_PATH = "/v1/api/oauth/token"
#: expires_in values above this are epoch timestamps, not durations.
EPOCH_THRESHOLD = 10 * 365 * 24 * 3600

_MAX_ERROR_TEXT = 200


@dataclass(frozen=True)
class AccessToken:
    """A token plus the client-clock times at which it expires / should be renewed."""

    value: str = field(repr=False)
    expires_at: float
    renew_at: float
    scope: str | None = None
    token_type: str = "Bearer"  # or "DPoP": bound to the DPoPKey that asked for it (RFC 9449 §5)


def is_seed_endpoint(token_url: str) -> bool:
    return urlsplit(token_url).path.rstrip("/").endswith(SEED_TOKEN_PATH)


def expires_at(expires_in: object, *, now: float, epoch: bool) -> float:
    """Absolute expiry (client clock) from an ``expires_in`` value; see module docstring."""
    if expires_in is None:
        # RFC 6749 §5.1 only RECOMMENDS expires_in; without it the token is
        # used until the API answers 401, which triggers a renewal.
        return math.inf
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)  # some servers send a JSON string
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not math.isfinite(expires_in):
        raise TokenResponseError("token response has a non-numeric expires_in")
    if epoch or expires_in > EPOCH_THRESHOLD:
        return float(expires_in)
    return now + expires_in


def renew_at(expiry: float, *, now: float, renew_before: float) -> float:
    """Renew ``renew_before`` seconds early, but never sooner than half-way
    through the token's life, so short-lived tokens are not refetched on
    every call."""
    if math.isinf(expiry):
        return expiry
    remaining = max(expiry - now, 0.0)
    return expiry - min(renew_before, remaining / 2)


def parse_token_response(body: bytes, *, now: float, epoch_expiry: bool, renew_before: float, dpop: bool = False) -> AccessToken:
    """Parse a successful (2xx) token endpoint response."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TokenResponseError("token endpoint returned a response that is not JSON") from None
    if not isinstance(document, dict):
        raise TokenResponseError("token endpoint returned JSON that is not an object")
    value = document.get("access_token")
    if not isinstance(value, str) or not value:
        raise TokenResponseError("token response has no access_token")
    token_type = document.get("token_type", "Bearer")
    # RFC 6749 §7.1: only Bearer tokens can be sent the way this SDK sends them, and
    # DPoP tokens when it asked for one with its key (RFC 9449 §5).
    kind = token_type.lower() if isinstance(token_type, str) else None
    if kind != "bearer" and not (dpop and kind == "dpop"):
        raise TokenResponseError("token response has an unsupported token_type")
    expiry = expires_at(document.get("expires_in"), now=now, epoch=epoch_expiry)
    scope = document.get("scope")
    return AccessToken(
        value=value,
        expires_at=expiry,
        renew_at=renew_at(expiry, now=now, renew_before=renew_before),
        scope=scope if isinstance(scope, str) else None,
        token_type="DPoP" if kind == "dpop" else "Bearer",
    )


def refusal(status_code: int, body: bytes, secret: Secret) -> TokenRequestError:
    """A :class:`TokenRequestError` for a non-2xx answer (RFC 6749 §5.2), secret-free."""
    error: str | None = None
    description: str | None = None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict):
        if isinstance(document.get("error"), str):
            error = secret.redact(document["error"])[:_MAX_ERROR_TEXT]
        if isinstance(document.get("error_description"), str):
            description = secret.redact(document["error_description"])[:_MAX_ERROR_TEXT]
    message = f"token endpoint refused the request: HTTP {status_code}"
    if error:
        message += f" {error}"
    if description:
        message += f": {description}"
    return TokenRequestError(message, status_code=status_code, error=error, error_description=description)
