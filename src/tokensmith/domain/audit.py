"""The audit trail of administrative changes: who changed what, when, from where.

An event describes a change without any secret: a client's fields, a secret's id,
kind and expiry, a key's id and algorithm, but never a secret, a secret's hash or a
private key. The store keeps events in `audit_events`; the command line also writes
each one to its log stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tokensmith.domain.client_keys import jwks_kids
from tokensmith.domain.clients import Client
from tokensmith.domain.keys import Rotation, SigningKey
from tokensmith.domain.secrets import StoredSecret
from tokensmith.domain.trusts import Federation, Trust


class AuditAction(str, Enum):
    CLIENT_CREATED = "client.created"
    CLIENT_CHANGED = "client.changed"
    CLIENT_DISABLED = "client.disabled"
    CLIENT_ENABLED = "client.enabled"
    CLIENT_DELETED = "client.deleted"
    SECRET_ADDED = "client.secret_added"
    SECRET_REMOVED = "client.secret_removed"
    TOKENS_REVOKED = "client.tokens_revoked"
    TOKEN_REVOKED = "client.token_revoked"  # one token, by an operator (the admin API)
    KEYS_ROTATED = "keys.rotated"
    KEY_REMOVED = "keys.removed"
    CONSOLE_LINK_ISSUED = "console.link_issued"
    CONSOLE_LOGIN = "console.login"
    CONSOLE_LOGOUT = "console.logout"
    CLIENT_FEDERATED = "client.federated"
    CLIENT_UNFEDERATED = "client.unfederated"
    TRUST_ADDED = "trust.added"
    TRUST_CHANGED = "trust.changed"
    TRUST_REMOVED = "trust.removed"


@dataclass(frozen=True)
class Actor:
    """Who made a change (an operator's name or the OS user) and from which host."""

    name: str
    host: str


@dataclass(frozen=True)
class AuditEvent:
    action: AuditAction
    subject: str  # the client id, "key-ring", "trust:" + a trust's name, or "console:<person>"
    actor: str
    host: str
    occurred_at: int  # epoch seconds
    details: Mapping[str, Any] = field(default_factory=dict)
    event_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "occurred_at": self.occurred_at,
            "action": self.action.value,
            "subject": self.subject,
            "actor": self.actor,
            "host": self.host,
            "details": dict(self.details),
        }


KEY_RING_SUBJECT = "key-ring"


def trust_subject(name: str) -> str:
    # Prefixed: a trust's name may also be some client's id.
    return "trust:" + name


# The client's fields an event may show; secrets and federated credentials are
# summarised separately, an inline JWKS by its kids (the document is public, but
# an event says what changed, it does not archive key material).
_CLIENT_FIELDS = (
    "name", "scopes", "default_scopes", "audiences", "claims", "lifetime", "enabled", "rate_limit", "reuse_tokens",
    "auth_method", "jwks_uri", "jwks",
    "token_binding",
)  # fmt: skip
_TRUST_FIELDS = ("issuer", "jwks_uri", "jwks", "audience", "replay", "max_token_age")


def _field(record: Client | Trust, name: str) -> Any:
    value = getattr(record, name, None)
    if isinstance(value, Enum):
        return value.value
    if name == "jwks":
        return None if value is None else {"kids": jwks_kids(value)}
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if name == "lifetime":
        return str(value)
    return value


def _differences(before: Client | Trust, after: Client | Trust, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    changes: dict[str, dict[str, Any]] = {}
    for name in names:
        old, new = _field(before, name), _field(after, name)
        if old != new:
            changes[name] = {"from": old, "to": new}
    return changes


def client_snapshot(client: Client) -> dict[str, Any]:
    snapshot = {name: _field(client, name) for name in _CLIENT_FIELDS}
    if client.federations:
        snapshot["federations"] = [federation_summary(federation) for federation in client.federations]
    return snapshot


def client_changes(before: Client, after: Client) -> dict[str, dict[str, Any]]:
    """Each field that differs, as {"from": old, "to": new}."""
    return _differences(before, after, _CLIENT_FIELDS)


def trust_snapshot(trust: Trust) -> dict[str, Any]:
    return {"name": trust.name, **{name: _field(trust, name) for name in _TRUST_FIELDS}}


def trust_changes(before: Trust, after: Trust) -> dict[str, dict[str, Any]]:
    return _differences(before, after, _TRUST_FIELDS)


def federation_summary(federation: Federation) -> dict[str, Any]:
    return {
        "federation_id": federation.federation_id,
        "trust": federation.trust,
        "subject": federation.subject,
        "conditions": [str(condition) for condition in federation.conditions],
    }


def secret_summary(secret: StoredSecret) -> dict[str, Any]:
    return {"secret_id": secret.secret_id, "kind": secret.kind.value, "expires_at": secret.expires_at}


def _key(key: SigningKey) -> dict[str, Any]:
    return {"kid": key.kid, "algorithm": key.algorithm, "state": key.state.value}


def rotation_summary(rotation: Rotation) -> dict[str, Any]:
    return {
        "changed": [_key(key) for key in rotation.updated],
        "created": [_key(key) for key in rotation.created],
        "deleted": list(rotation.deleted),
    }


def event(action: AuditAction, subject: str, actor: Actor, now: int, **details: Any) -> AuditEvent:
    return AuditEvent(action, subject, actor.name, actor.host, now, details)
