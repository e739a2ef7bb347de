"""Clients and their secrets: create, change, enable or disable, delete; add and
remove a secret. Input arrives as plain values (what a command's options or an API
request's fields say) and is checked by domain/registration.py, so every tool that
changes a client gets the same refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tokensmith.domain.audit import AuditAction, client_changes, client_snapshot, secret_summary
from tokensmith.domain.clients import Client
from tokensmith.domain.lifetimes import parse_lifetime
from tokensmith.domain.registration import build_client, change_client, new_secret
from tokensmith.domain.secrets import StoredSecret
from tokensmith.service.changes import Changes
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
    "delete_client",
    "find_clients",
    "remove_secret",
    "set_enabled",
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
    secret (argon2id) instead of generating one."""

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


@dataclass(frozen=True)
class ClientChanges:
    """What to change; None (or empty) leaves a field as it is."""

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


def find_clients(changes: Changes, query: ClientQuery) -> list[Client]:
    """One page of clients (store/clients.py ClientQuery)."""
    if not 1 <= query.limit <= 500:
        raise ValueError("a page holds 1 to 500 clients")
    return changes.node.clients.page(query)


def create_client(changes: Changes, spec: ClientSpec, now: int, claim: IdempotencyClaim | None = None) -> tuple[Client, NewSecret]:
    """Registers the client with its first secret. ClientAlreadyExists for a taken id;
    IdempotencyKeyUsed when `claim`'s key already made one (nothing is written then)."""
    node = changes.node
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
    )
    stored, text = new_secret(client, node.checker, now, imported=spec.imported_secret, expires_at=spec.secret_expires_at)
    client = replace(client, secrets=(stored,))
    audit_event = changes.event(
        AuditAction.CLIENT_CREATED,
        client.client_id,
        now,
        client=client_snapshot(client),
        secrets=[secret_summary(secret) for secret in client.secrets],
    )
    node.clients.create(client, audit_event, claim)
    changes.done(audit_event, client_changed(client.client_id))
    return client, NewSecret(stored, text)


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
    return fields


def update_client(changes: Changes, client_id: str, what: ClientChanges, now: int, *, expected_revision: int | None = None) -> Client:
    """The changed client. With `expected_revision`, StaleRevision when the stored
    client has been changed since (and nothing is written). A change of `enabled`
    alone is recorded as client.enabled or client.disabled, like set_enabled."""
    before = existing(changes, client_id)
    after = change_client(before, now, **_changed_fields(before, what))
    differences = client_changes(before, after)
    action = AuditAction.CLIENT_CHANGED
    if set(differences) == {"enabled"}:
        action = AuditAction.CLIENT_ENABLED if after.enabled else AuditAction.CLIENT_DISABLED
    audit_event = changes.event(action, client_id, now, changes=differences)
    revision = changes.node.clients.update(after, audit_event, expected_revision=expected_revision)
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
