"""A client: who may ask for tokens, for which scopes and audiences, with which
extra claims, and for how long its tokens live."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson

from tokensmith.domain.client_keys import AuthMethod, keys_of_jwks
from tokensmith.domain.lifetimes import FixedLifetime, Lifetime
from tokensmith.domain.secrets import SecretKind, StoredSecret
from tokensmith.domain.sender_constraints import Profile, TokenBinding
from tokensmith.domain.trusts import Federation
from tokensmith.jose.jwk import VerificationKey

MAX_CLIENT_ID_LENGTH = 128
# RFC 6749 Appendix A.1: client_id is VSCHAR; we leave out space and keep it printable.
_CLIENT_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_CLIENT_ID_LENGTH}}}")

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


# Custom-claim values (docs/clients.md, "Custom claims"). Nested deeper than this a
# claim is no longer an attribute but a document; orjson also refuses to write past
# 254 levels, which made every token request of such a client fail.
MAX_CLAIM_DEPTH = 8
# RFC 7159 §6 / RFC 8259 §6: beyond ±(2**53 − 1) a JSON number is not exact in most
# verifiers (JavaScript, and orjson itself turns a 30-digit integer into a float).
MAX_SAFE_INTEGER = 2**53 - 1
MAX_CUSTOM_CLAIMS_BYTES = 2048
# The longest token must still be read by tokensmith.verify (max_token_bytes 8192) and
# fit an introspection or revocation form (TOKENSMITH_MAX_BODY_BYTES, default 8192)
# with its field names: 8000 characters. Less the JOSE header (≤ 120 base64url
# characters), an RSA-2048 signature (342) and two dots, 7536 characters of base64url
# carry 5652 bytes of claims JSON; rounded down to this.
MAX_TOKEN_CLAIMS_BYTES = 5632
# In those bytes, beside the client's own values: the claim names, iat, exp, jti,
# a later cnf, and an issuer URL of up to 512 characters.
RESERVED_CLAIMS_BYTES = 768


def check_custom_claims(
    claims: Mapping[str, Any], *, client_id: str = "", scopes: Iterable[str] = (), audiences: Iterable[str] = ()
) -> None:
    """ValueError unless `claims` can go into every token of a client with this id,
    these scopes and audiences: names, value types and depth, and the token's size."""
    reserved = sorted(set(claims) & REGISTERED_CLAIMS)
    if reserved:
        raise ValueError(f"custom claim may not override a registered claim: {reserved[0]}")
    for name, value in claims.items():
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ValueError("custom claim names must be 1 to 64 characters")
        _check_value(name, value, 1)
    size = len(orjson.dumps(dict(claims))) if claims else 0
    if size > MAX_CUSTOM_CLAIMS_BYTES:
        raise ValueError(f"custom claims take {size} bytes as JSON; at most {MAX_CUSTOM_CLAIMS_BYTES} are allowed")
    # The largest token this client can get: every scope at once, its longest audience.
    scope_bytes = len(" ".join(scopes).encode())
    audience_bytes = max((len(a.encode()) for a in audiences), default=0)
    largest = RESERVED_CLAIMS_BYTES + 2 * len(client_id.encode()) + scope_bytes + audience_bytes + size
    if largest > MAX_TOKEN_CLAIMS_BYTES:
        raise ValueError(
            f"custom claims, scopes and audiences together would make tokens of {largest} bytes of claims; "
            f"verifiers and introspection accept at most {MAX_TOKEN_CLAIMS_BYTES}"
        )


def _check_value(name: str, value: object, depth: int) -> None:
    """`depth`: how many arrays and objects `value` would be inside of, itself included."""
    if isinstance(value, (list, dict)) and depth > MAX_CLAIM_DEPTH:
        raise ValueError(f"custom claim {name}: arrays and objects nested deeper than {MAX_CLAIM_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"custom claim {name}: integers must be within ±(2**53 − 1); give a string instead")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"custom claim {name}: numbers must be finite")
    elif isinstance(value, list):
        for item in value:
            _check_value(name, item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"custom claim {name}: object member names must be strings")
            _check_value(name, item, depth + 1)
    else:
        raise ValueError(f"custom claim {name}: not a JSON value")


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
    # Tokens issued before this instant (epoch seconds) are inactive at introspection:
    # `tokensmith clients revoke-tokens` (service/revocations.py).
    tokens_not_before: int | None = None
    # Counts the stored client's writes (migration 0010): the admin API's ETag, so a
    # change made from an older copy is refused instead of undoing another's.
    revision: int = 0
    # How the client authenticates (domain/client_keys.py): with its secrets, with an
    # assertion signed by one of its keys (inline `jwks` or at `jwks_uri`), or with a
    # platform token matched by one of its federated credentials.
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    federations: tuple[Federation, ...] = ()
    # Sender constraints (domain/sender_constraints.py): what its tokens must be bound
    # to, the FAPI 2.0 preset, and the certificate tls_client_auth matches (RFC 8705 §2.1.2).
    token_binding: TokenBinding = TokenBinding.NONE
    profile: Profile = Profile.NONE
    tls_subject_dn: str | None = None
    tls_san_dns: tuple[str, ...] = ()
    tls_san_uri: tuple[str, ...] = ()
    has_imported_secret: bool = field(init=False, repr=False, compare=False)
    allowed_scopes: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Read on the token path (exchange/): worked out once per client, not per token.
        object.__setattr__(self, "has_imported_secret", any(secret.kind is SecretKind.IMPORTED for secret in self.secrets))
        object.__setattr__(self, "allowed_scopes", frozenset(self.scopes))

    @cached_property
    def registered_keys(self) -> tuple[VerificationKey, ...]:
        """The keys of its inline JWKS, parsed once per loaded client. A document the
        registration rules refuse (it was checked when stored) gives none."""
        try:
            return keys_of_jwks(self.jwks) if self.jwks is not None else ()
        except ValueError:
            return ()

    @property
    def default_audience(self) -> str | None:
        return self.audiences[0] if self.audiences else None

    def live_secrets(self, now: int) -> tuple[StoredSecret, ...]:
        return tuple(secret for secret in self.secrets if secret.is_live(now))
