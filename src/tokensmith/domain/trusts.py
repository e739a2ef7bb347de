"""Workload identity federation: external issuers the operator trusts (a Kubernetes
cluster, a SPIFFE trust domain's JWT bundle, a CI system's OIDC issuer) and the
federated credentials that bind a client to tokens of one of them: a subject, and
conditions on the token's other claims."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any

from tokensmith.domain.client_keys import keys_of_jwks
from tokensmith.jose.jwk import VerificationKey

_TRUST_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_FEDERATIONS_PER_CLIENT = 16
MAX_CONDITIONS = 16
MAX_SUBJECT_LENGTH = 512
# A platform token is legitimately presented again while it lives (kubelet renews a
# projected token at 80 % of its life): by default one is accepted while it is at
# most this old, measured from its iat.
DEFAULT_MAX_TOKEN_AGE = 3600
MAX_TOKEN_AGE = 86400


class ReplayRule(str, Enum):
    MAX_AGE = "max-age"  # reusable while iat is within max_token_age (the default)
    SINGLE_USE = "single-use"  # each jti accepted once, until its exp


def is_valid_trust_name(name: str) -> bool:
    return _TRUST_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Trust:
    """An external issuer whose tokens may authenticate federated clients. Its keys
    come from `jwks` (inline, e.g. a SPIFFE bundle), `jwks_uri`, or else the
    issuer's OIDC discovery document."""

    name: str
    issuer: str
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    audience: str | None = None  # what the token's aud must contain; None: this server's issuer
    replay: ReplayRule = ReplayRule.MAX_AGE
    max_token_age: int = DEFAULT_MAX_TOKEN_AGE
    created_at: int = 0
    updated_at: int = 0

    @cached_property
    def registered_keys(self) -> tuple[VerificationKey, ...]:
        """The keys of its inline JWKS, parsed once per loaded trust."""
        try:
            return keys_of_jwks(self.jwks) if self.jwks is not None else ()
        except ValueError:
            return ()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, where member names may hold dots themselves:
    `kubernetes.io.namespace` is claims["kubernetes.io"]["namespace"] in a
    Kubernetes token. Every split is tried; None when no member matches."""
    if path in claims:
        return claims[path]
    for name, value in claims.items():
        if isinstance(value, Mapping) and path.startswith(name + "."):
            found = claim_at(value, path[len(name) + 1 :])
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class Condition:
    """A claim (dotted path) whose value must match a glob (`*`, `?`, `[…]`; case
    sensitive, `*` also matches `/`). Only a string value can match: a number, a
    list or a missing claim never does."""

    claim: str
    pattern: str

    def matches(self, claims: Mapping[str, Any]) -> bool:
        value = claim_at(claims, self.claim)
        return isinstance(value, str) and fnmatchcase(value, self.pattern)

    def __str__(self) -> str:
        return f"{self.claim}={self.pattern}"


def parse_condition(text: str) -> Condition:
    claim, equals, pattern = text.partition("=")
    if not equals or not claim or not pattern:
        raise ValueError(f"condition {text!r}: expected CLAIM=PATTERN")
    if claim in ("iss", "sub", "aud", "exp", "iat", "nbf", "jti"):
        raise ValueError(f"condition {text!r}: {claim} is checked by the trust and the subject already")
    return Condition(claim, pattern)


@dataclass(frozen=True)
class Federation:
    """A federated credential of one client: tokens of `trust` with this exact `sub`
    whose claims meet every condition."""

    federation_id: str
    trust: str
    subject: str
    conditions: tuple[Condition, ...] = ()
    created_at: int = 0

    def accepts(self, trust: str, claims: Mapping[str, Any]) -> bool:
        return (
            trust == self.trust
            and claims.get("sub") == self.subject
            and all(condition.matches(claims) for condition in self.conditions)
        )
