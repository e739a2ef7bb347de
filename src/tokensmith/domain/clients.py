"""A client: who may ask for tokens, for which scopes and audiences, with which
extra claims, and for how long its tokens live."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tokensmith.domain.lifetimes import FixedLifetime, Lifetime
from tokensmith.domain.secrets import SecretKind, StoredSecret

MAX_CLIENT_ID_LENGTH = 128
# RFC 6749 Appendix A.1: client_id is VSCHAR; we leave out space and keep it printable.
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_CLIENT_ID_LENGTH)

# Claims the token itself defines (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4); a
# custom claim may not replace them.
REGISTERED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "auth_time", "acr", "amr", "cnf", "act", "may_act"}
)


# Per-client issuance limit (tokens per minute), when the client has one.
MAX_RATE_LIMIT = 1_000_000


def check_rate_limit(value: int | None) -> None:
    if value is not None and not 1 <= value <= MAX_RATE_LIMIT:
        raise ValueError(f"rate limit must be 1 to {MAX_RATE_LIMIT} tokens per minute")


def is_valid_client_id(value: str) -> bool:
    return _CLIENT_ID.fullmatch(value) is not None


def check_custom_claims(claims: Mapping[str, Any]) -> None:
    reserved = sorted(set(claims) & REGISTERED_CLAIMS)
    if reserved:
        raise ValueError(f"custom claim may not override a registered claim: {reserved[0]}")
    for name in claims:
        if not name or len(name) > 64:
            raise ValueError("custom claim names must be 1 to 64 characters")


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str = ""
    scopes: tuple[str, ...] = ()
    default_scopes: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)
    lifetime: Lifetime = FixedLifetime(3600)
    enabled: bool = True
    secrets: tuple[StoredSecret, ...] = ()
    created_at: int = 0
    updated_at: int = 0
    rate_limit: int | None = None  # tokens per minute; None: unlimited
    # Hand back the client's last token for the same scopes and audience while it has
    # most of its lifetime left, instead of signing a new one (store/reuse.py).
    reuse_tokens: bool = False
    has_imported_secret: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Read on the token path (http/authentication.py): worked out once per client.
        object.__setattr__(self, "has_imported_secret", any(secret.kind is SecretKind.IMPORTED for secret in self.secrets))

    @property
    def default_audience(self) -> str | None:
        return self.audiences[0] if self.audiences else None

    def live_secrets(self, now: int) -> tuple[StoredSecret, ...]:
        return tuple(secret for secret in self.secrets if secret.is_live(now))
