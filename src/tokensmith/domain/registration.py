"""Registering clients and giving them secrets: the rules an administrator's change
must follow, whatever tool makes it."""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tokensmith.domain.clients import Client, check_custom_claims, check_rate_limit, is_valid_client_id
from tokensmith.domain.lifetimes import Lifetime
from tokensmith.domain.scopes import validate_scope_tokens
from tokensmith.domain.secrets import (
    MAX_LIVE_SECRETS,
    MAX_SECRET_LENGTH,
    MIN_IMPORTED_SECRET_LENGTH,
    SecretChecker,
    SecretKind,
    StoredSecret,
    generate_secret,
    generate_secret_id,
)

# A secret meant to outlive ten years should not expire at all; the bound also keeps
# the instant inside the store's 64-bit integer.
MAX_SECRET_EXPIRY_SECONDS = 3650 * 86400


def generate_client_id() -> str:
    return "cl_" + random.token_hex(8)


def _check_audiences(audiences: tuple[str, ...]) -> None:
    for audience in audiences:
        if not audience or len(audience) > 512 or any(ch.isspace() for ch in audience):
            raise ValueError(f"not a valid audience: {audience!r}")


def build_client(
    *,
    client_id: str | None,
    name: str,
    scopes: tuple[str, ...],
    default_scopes: tuple[str, ...] | None,
    audiences: tuple[str, ...],
    claims: Mapping[str, Any],
    lifetime: Lifetime,
    now: int,
    rate_limit: int | None = None,
    reuse_tokens: bool = False,
) -> Client:
    client_id = client_id or generate_client_id()
    if not is_valid_client_id(client_id):
        raise ValueError("client id must be 1 to 128 printable ASCII characters without spaces")
    scopes = validate_scope_tokens(scopes)
    if not scopes:
        raise ValueError("a client needs at least one scope")
    defaults = scopes if default_scopes is None else validate_scope_tokens(default_scopes)
    if not set(defaults) <= set(scopes):
        raise ValueError("default scopes must be among the client's scopes")
    _check_audiences(audiences)
    check_custom_claims(claims, client_id=client_id, scopes=scopes, audiences=audiences)
    check_rate_limit(rate_limit)
    return Client(
        client_id=client_id,
        name=name,
        scopes=scopes,
        default_scopes=defaults,
        audiences=tuple(dict.fromkeys(audiences)),
        claims=dict(claims),
        lifetime=lifetime,
        enabled=True,
        created_at=now,
        updated_at=now,
        rate_limit=rate_limit,
        reuse_tokens=reuse_tokens,
    )


def change_client(client: Client, now: int, **changes: Any) -> Client:
    """The client with `changes` applied, checked by the same rules as a new one."""
    changed = replace(client, **changes, updated_at=now)
    build_client(
        client_id=changed.client_id,
        name=changed.name,
        scopes=changed.scopes,
        default_scopes=changed.default_scopes,
        audiences=changed.audiences,
        claims=changed.claims,
        lifetime=changed.lifetime,
        now=now,
        rate_limit=changed.rate_limit,
        reuse_tokens=changed.reuse_tokens,
    )
    return changed


def new_secret(
    client: Client, checker: SecretChecker, now: int, *, imported: str | None = None, expires_at: int | None = None
) -> tuple[StoredSecret, str]:
    """A new secret for `client` and the text to show once. An imported secret keeps
    its text and is hashed with argon2id; otherwise one is generated."""
    if len(client.live_secrets(now)) >= MAX_LIVE_SECRETS:
        raise ValueError(f"a client has at most {MAX_LIVE_SECRETS} live secrets: remove one first")
    if expires_at is not None and expires_at <= now:
        raise ValueError("a secret's expiry must be in the future")
    if expires_at is not None and expires_at - now > MAX_SECRET_EXPIRY_SECONDS:
        raise ValueError("a secret expires within 3650 days at most; leave the expiry out for one that does not expire")
    if imported is None:
        text = generate_secret()
        stored = StoredSecret(generate_secret_id(), SecretKind.GENERATED, checker.hash_generated(text), now, expires_at)
        return stored, text
    if not MIN_IMPORTED_SECRET_LENGTH <= len(imported) <= MAX_SECRET_LENGTH:
        raise ValueError(f"an imported secret must be {MIN_IMPORTED_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters")
    stored = StoredSecret(generate_secret_id(), SecretKind.IMPORTED, checker.hash_imported(imported), now, expires_at)
    return stored, imported
