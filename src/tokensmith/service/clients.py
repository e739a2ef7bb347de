"""Clients and their credentials: create, change, enable or disable, delete; add and
remove a secret; add and remove a federated credential (federate, unfederate).
Input arrives as plain values (what a command's options or an API request's fields
say) and is checked by domain/registration.py, so every tool that changes a client
gets the same refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tokensmith.domain.audit import AuditAction, client_changes, client_snapshot, federation_summary, secret_summary
from tokensmith.domain.client_keys import AuthMethod
from tokensmith.domain.clients import Client
from tokensmith.domain.lifetimes import parse_lifetime
from tokensmith.domain.registration import build_client, change_client, new_federation, new_secret
from tokensmith.domain.secrets import StoredSecret
from tokensmith.domain.sender_constraints import TokenBinding
from tokensmith.domain.trusts import Federation
from tokensmith.service.changes import Changes
from tokensmith.service.trusts import existing_trust
from tokensmith.store.clients import ClientAlreadyExists, ClientQuery, IdempotencyClaim, IdempotencyKeyUsed, StaleRevision
from tokensmith.store.fanout import client_changed

__all__ = [
    "ClientAlreadyExists",
    "ClientChanges",
    "ClientNotFound",
    "ClientQuery",
    "ClientSpec",
    "IdempotencyClaim",
    "IdempotencyKeyUsed",
    "NewSecret",
    "StaleRevision",
    "add_secret",
    "create_client",
    "credential_uses",
    "delete_client",
    "federate",
    "find_clients",
    "remove_secret",
    "set_enabled",
    "unfederate",
    "update_client",
]


class ClientNotFound(LookupError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"no client {client_id!r}")
        self.client_id = client_id


@dataclass(frozen=True)
class ClientSpec:
    """A new client. `lifetime` is seconds or "HH:MM Area/City" (default:
    TOKENSMITH_DEFAULT_LIFETIME_SECONDS); `imported_secret` keeps an older system's
    secret (argon2id) instead of generating one. A private_key_jwt client gives its
    public keys (`jwks`, a JWKS document, or `jwks_uri`); it and a federated client
    get no secret."""

    scopes: tuple[str, ...]
    client_id: str | None = None
    name: str = ""
    default_scopes: tuple[str, ...] | None = None
    audiences: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)
    lifetime: str | None = None
    rate_limit: int | None = None
    reuse_tokens: bool = False
    imported_secret: str | None = None
    secret_expires_at: int | None = None
    auth_method: AuthMethod = AuthMethod.CLIENT_SECRET_BASIC
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    token_binding: TokenBinding = TokenBinding.NONE


@dataclass(frozen=True)
class ClientChanges:
    """What to change; None (or empty) leaves a field as it is. Giving `jwks`
    replaces a `jwks_uri` and the other way round; leaving private_key_jwt drops
    both. Leaving a secret method removes the client's secrets in the same change,
    refused while one is live unless `remove_secrets` says so."""

    name: str | None = None
    scopes: tuple[str, ...] | None = None
    default_scopes: tuple[str, ...] | None = None
    audiences: tuple[str, ...] | None = None
    set_claims: Mapping[str, Any] = field(default_factory=dict)
    removed_claims: tuple[str, ...] = ()
    lifetime: str | None = None
    rate_limit: int | None = None
    clear_rate_limit: bool = False
    reuse_tokens: bool | None = None
    enabled: bool | None = None
    auth_method: AuthMethod | None = None
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    remove_secrets: bool = False
    token_binding: TokenBinding | None = None


@dataclass(frozen=True)
class NewSecret:
    """A secret just made: what is stored, and the text shown this once."""

    stored: StoredSecret
    text: str


def existing(changes: Changes, client_id: str) -> Client:
    client = changes.node.clients.get(client_id)
    if client is None:
        raise ClientNotFound(client_id)
    return client


def credential_uses(changes: Changes, client_id: str) -> dict[str, int]:
    """When each credential of the client last authenticated it (store/usage.py):
    a secret's id, "key:" + a kid, or a federated credential's id."""
    return changes.node.credential_uses.for_client(client_id)


def find_clients(changes: Changes, query: ClientQuery) -> list[Client]:
    """One page of clients (store/clients.py ClientQuery)."""
    if not 1 <= query.limit <= 500:
        raise ValueError("a page holds 1 to 500 clients")
    return changes.node.clients.page(query)


def create_client(
    changes: Changes, spec: ClientSpec, now: int, claim: IdempotencyClaim | None = None
) -> tuple[Client, NewSecret | None]:
    """Registers the client, with its first secret when it authenticates with one
    (None otherwise). ClientAlreadyExists for a taken id; IdempotencyKeyUsed when
    `claim`'s key already made one (nothing is written then)."""
    node = changes.node
    if not spec.auth_method.uses_secrets and (spec.imported_secret is not None or spec.secret_expires_at is not None):
        raise ValueError(f"a {spec.auth_method.value} client has no secret to import or expire")
    client = build_client(
        client_id=spec.client_id,
        name=spec.name,
        scopes=spec.scopes,
        default_scopes=spec.default_scopes,
        audiences=spec.audiences,
        claims=spec.claims,
        lifetime=parse_lifetime(spec.lifetime or str(node.settings.default_lifetime_seconds)),
        now=now,
        rate_limit=spec.rate_limit,
        reuse_tokens=spec.reuse_tokens,
        auth_method=spec.auth_method,
        jwks=spec.jwks,
        jwks_uri=spec.jwks_uri,
        token_binding=spec.token_binding,
    )
    secret = None
    if client.auth_method.uses_secrets:
        stored, text = new_secret(client, node.checker, now, imported=spec.imported_secret, expires_at=spec.secret_expires_at)
        client = replace(client, secrets=(stored,))
        secret = NewSecret(stored, text)
    audit_event = changes.event(
        AuditAction.CLIENT_CREATED,
        client.client_id,
        now,
        client=client_snapshot(client),
        secrets=[secret_summary(secret) for secret in client.secrets],
    )
    node.clients.create(client, audit_event, claim)
    changes.done(audit_event, client_changed(client.client_id))
    return client, secret


def _changed_fields(client: Client, what: ClientChanges) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if what.name is not None:
        fields["name"] = what.name
    # An empty tuple of scopes is a change too, which the domain refuses (a client
    # needs a scope); the command line gives None when no --scope is given.
    if what.scopes is not None:
        fields["scopes"] = what.scopes
        if what.default_scopes is None:  # keep the defaults that are still allowed
            fields["default_scopes"] = tuple(s for s in client.default_scopes if s in what.scopes) or what.scopes
    if what.default_scopes is not None:
        fields["default_scopes"] = what.default_scopes
    if what.audiences is not None:
        fields["audiences"] = what.audiences
    if what.set_claims or what.removed_claims:
        merged = {**client.claims, **what.set_claims}
        for name in what.removed_claims:
            merged.pop(name, None)
        fields["claims"] = merged
    if what.lifetime is not None:
        fields["lifetime"] = parse_lifetime(what.lifetime)
    if what.rate_limit is not None and what.clear_rate_limit:
        raise ValueError("give a rate limit or remove it, not both")
    if what.rate_limit is not None or what.clear_rate_limit:
        fields["rate_limit"] = what.rate_limit
    if what.reuse_tokens is not None:
        fields["reuse_tokens"] = what.reuse_tokens
    if what.enabled is not None:
        fields["enabled"] = what.enabled
    if what.token_binding is not None:
        fields["token_binding"] = what.token_binding
    fields.update(_changed_keys(client, what))
    return fields


def _changed_keys(client: Client, what: ClientChanges) -> dict[str, Any]:
    if what.jwks is not None and what.jwks_uri is not None:
        raise ValueError("give a JWKS file or a JWKS URI, not both")
    fields: dict[str, Any] = {}
    if what.auth_method is not None:
        fields["auth_method"] = what.auth_method
    if what.jwks is not None:
        fields.update(jwks=what.jwks, jwks_uri=None)
    elif what.jwks_uri is not None:
        fields.update(jwks=None, jwks_uri=what.jwks_uri)
    elif (what.auth_method or client.auth_method) is not AuthMethod.PRIVATE_KEY_JWT:
        fields.update(jwks=None, jwks_uri=None)  # no other method has keys
    return fields


def _secrets_to_remove(before: Client, after: Client, what: ClientChanges, now: int) -> list[str]:
    """The secrets a change of method leaves without use: all of them, when the
    client stops authenticating with secrets. A live one only when asked: removing
    it cuts off whoever holds it."""
    if after.auth_method.uses_secrets or not before.secrets:
        return []
    live = before.live_secrets(now)
    if live and not what.remove_secrets:
        raise ValueError(
            f"client {before.client_id!r} has {len(live)} live secret{'s' if len(live) != 1 else ''}: "
            f"switching to {after.auth_method.value} removes its secrets; say so with --remove-secrets"
        )
    return [secret.secret_id for secret in before.secrets]


def update_client(changes: Changes, client_id: str, what: ClientChanges, now: int, *, expected_revision: int | None = None) -> Client:
    """The changed client. With `expected_revision`, StaleRevision when the stored
    client has been changed since (and nothing is written). A change of `enabled`
    alone is recorded as client.enabled or client.disabled, like set_enabled."""
    before = existing(changes, client_id)
    after = change_client(before, now, **_changed_fields(before, what))
    removed = _secrets_to_remove(before, after, what, now)
    differences = client_changes(before, after)
    action = AuditAction.CLIENT_CHANGED
    if set(differences) == {"enabled"} and not removed:
        action = AuditAction.CLIENT_ENABLED if after.enabled else AuditAction.CLIENT_DISABLED
    details: dict[str, Any] = {"changes": differences}
    if removed:
        details["secrets_removed"] = removed
        after = replace(after, secrets=())
    audit_event = changes.event(action, client_id, now, **details)
    keys_changed = (before.jwks, before.jwks_uri) != (after.jwks, after.jwks_uri)
    revision = changes.node.clients.update(
        after, audit_event, expected_revision=expected_revision, remove_secrets=bool(removed), keys_changed=keys_changed
    )
    if revision is None:
        raise ClientNotFound(client_id)
    changes.done(audit_event, client_changed(client_id))
    return replace(after, revision=revision)


def set_enabled(changes: Changes, client_id: str, enabled: bool, now: int) -> Client:
    """A disabled client gets no tokens, and its tokens already issued are inactive at
    introspection (http/introspection.py) until it is enabled again."""
    before = existing(changes, client_id)
    after = replace(before, enabled=enabled, updated_at=now)
    action = AuditAction.CLIENT_ENABLED if enabled else AuditAction.CLIENT_DISABLED
    audit_event = changes.event(action, client_id, now, was_enabled=before.enabled)
    changes.node.clients.update(after, audit_event)
    changes.done(audit_event, client_changed(client_id))
    return after


def delete_client(changes: Changes, client_id: str, now: int, *, expected_revision: int | None = None) -> None:
    """ClientNotFound when there is no such client; StaleRevision as for update_client."""
    before = changes.node.clients.get(client_id)
    details = {"client": client_snapshot(before)} if before is not None else {}
    audit_event = changes.event(AuditAction.CLIENT_DELETED, client_id, now, **details)
    deleted = changes.node.clients.delete(client_id, audit_event, expected_revision=expected_revision)
    # Announced either way: a node may still cache a client deleted by a race.
    changes.done(audit_event if deleted else None, client_changed(client_id))
    if not deleted:
        raise ClientNotFound(client_id)


def add_secret(
    changes: Changes, client_id: str, now: int, *, imported: str | None = None, expires_at: int | None = None
) -> NewSecret:
    client = existing(changes, client_id)
    stored, text = new_secret(client, changes.node.checker, now, imported=imported, expires_at=expires_at)
    audit_event = changes.event(AuditAction.SECRET_ADDED, client_id, now, secret=secret_summary(stored))
    changes.node.clients.add_secret(client_id, stored, now, audit_event)
    changes.done(audit_event, client_changed(client_id))
    return NewSecret(stored, text)


def remove_secret(changes: Changes, client_id: str, secret_id: str, now: int) -> bool:
    """False when the client has no such secret; ClientNotFound without the client."""
    existing(changes, client_id)
    audit_event = changes.event(AuditAction.SECRET_REMOVED, client_id, now, secret={"secret_id": secret_id})
    removed = changes.node.clients.remove_secret(client_id, secret_id, now, audit_event)
    changes.done(audit_event if removed else None, client_changed(client_id))
    return removed


def federate(
    changes: Changes, client_id: str, trust: str, subject: str, conditions: tuple[str, ...], now: int
) -> Federation:
    """A federated credential for a federated client: tokens of `trust` with this
    `sub` whose claims meet every CLAIM=PATTERN condition. TrustNotFound without
    the trust."""
    client = existing(changes, client_id)
    federation = new_federation(client, existing_trust(changes, trust), subject, conditions, now)
    audit_event = changes.event(AuditAction.CLIENT_FEDERATED, client_id, now, federation=federation_summary(federation))
    changes.node.clients.add_federation(client_id, federation, now, audit_event)
    changes.done(audit_event, client_changed(client_id))
    return federation


def unfederate(changes: Changes, client_id: str, federation_id: str, now: int) -> bool:
    """False when the client has no such federated credential."""
    client = existing(changes, client_id)
    found = [federation for federation in client.federations if federation.federation_id == federation_id]
    summary = federation_summary(found[0]) if found else {"federation_id": federation_id}
    audit_event = changes.event(AuditAction.CLIENT_UNFEDERATED, client_id, now, federation=summary)
    removed = changes.node.clients.remove_federation(client_id, federation_id, now, audit_event)
    changes.done(audit_event if removed else None, client_changed(client_id))
    return removed
