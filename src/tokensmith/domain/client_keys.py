"""How a client proves itself without a shared secret: its token endpoint
authentication method (RFC 7591 §2) and, for private_key_jwt (RFC 7523 §2.2), where
its public keys are: a JWKS document given at registration, or a `jwks_uri` fetched
(through outbound/, behind the SSRF guard) when an assertion arrives."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import orjson

from tokensmith.jose.jwk import ALGORITHMS, UnusableKey, VerificationKey, parse_jwk


class AuthMethod(str, Enum):
    # A secret client may present its secret either way (RFC 6749 §2.3.1): both
    # names mean "has secrets", and the registered one is what metadata shows.
    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    PRIVATE_KEY_JWT = "private_key_jwt"
    # Workload identity federation: a platform-issued JWT of a trusted issuer
    # (domain/trusts.py), matched by the client's federated credentials.
    FEDERATED = "federated"
    # RFC 8705 §2: the client certificate of the TLS connection (or a trusted proxy's
    # Client-Cert field), matched by subject DN or SAN, or against the client's JWKS.
    TLS_CLIENT_AUTH = "tls_client_auth"
    SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"

    @property
    def uses_secrets(self) -> bool:
        return self in (AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST)


# JWKS registered inline: a few keys, for rotation; not a key store.
MAX_JWKS_BYTES = 16 * 1024
MAX_JWKS_KEYS = 16
MAX_URI_LENGTH = 2048
# Members only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4.1,
# RFC 8037 §2): a client that sends one has leaked its own key to us.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


# Credential ids of keys in the last-used records (a secret's and a federation's
# ids are their own).
KEY_PREFIX = "key:"


def key_credential_id(kid: str) -> str:
    return KEY_PREFIX + kid


def keys_of_jwks(document: Any) -> tuple[VerificationKey, ...]:
    """The verification keys of a JWKS document (RFC 7517 §5), or ValueError with a
    one-line reason. Stricter than reading a remote set: at registration an
    unusable key is a mistake to report, not one to skip."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS is a JSON object with a \"keys\" array")
    if len(orjson.dumps(dict(document))) > MAX_JWKS_BYTES:
        raise ValueError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
    entries = document["keys"]
    if not entries:
        raise ValueError("the JWKS has no keys")
    if len(entries) > MAX_JWKS_KEYS:
        raise ValueError(f"the JWKS has {len(entries)} keys; at most {MAX_JWKS_KEYS} are allowed")
    keys: list[VerificationKey] = []
    kids: set[str] = set()
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, Mapping):
            raise ValueError(f"key {number} is not a JSON object")
        private = sorted(PRIVATE_MEMBERS & set(entry))
        if private:
            raise ValueError(f"key {number} has a private member {private[0]!r}: register public keys only")
        try:
            parsed = parse_jwk(entry, ALGORITHMS)
        except UnusableKey as exc:
            raise ValueError(f"key {number}: {exc}") from None
        if parsed[0].kid in kids:
            raise ValueError(f"key {number}: kid {parsed[0].kid!r} appears twice")
        kids.add(parsed[0].kid)
        keys.extend(parsed)
    return tuple(keys)


def jwks_kids(document: Mapping[str, Any]) -> list[str]:
    """The kids of a stored JWKS (checked by keys_of_jwks when it was registered),
    for display and audit: what identifies each key without the key itself."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        return []
    return [str(entry.get("kid")) for entry in entries if isinstance(entry, Mapping)]


def parse_auth_method(text: str) -> AuthMethod:
    try:
        return AuthMethod(text)
    except ValueError:
        names = ", ".join(method.value for method in AuthMethod)
        raise ValueError(f"unknown authentication method {text!r}; one of: {names}") from None


def check_jwks_uri(uri: str) -> str:
    """An absolute http(s) URL without credentials or fragment. Whether it may be
    fetched (https, a public address) is the outbound policy's decision, made at
    every fetch on the address it resolves to."""
    parts = urlsplit(uri)
    if len(uri) > MAX_URI_LENGTH or parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("a JWKS URI must be an absolute https URL")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise ValueError("a JWKS URI may not carry credentials or a fragment")
    return uri
