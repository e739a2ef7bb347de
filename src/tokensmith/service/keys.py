"""The signing key ring: its first keys, rotation, publishing a next key, and the
emergency removal of a compromised key. Each change is planned by domain/keys.py,
written with its audit event in one transaction under the store's exclusive lock
(nodes and commands acting together change the ring one at a time), and announced."""

from __future__ import annotations

import time
from collections.abc import Sequence

from tokensmith.domain.audit import KEY_RING_SUBJECT, AuditAction, rotation_summary
from tokensmith.domain.keys import KeyState, Rotation, SigningKey, plan_next_key, plan_removal, plan_rotation
from tokensmith.service.changes import Changes
from tokensmith.store.database import exclusive
from tokensmith.store.fanout import keys_changed


def ensure_signing_key(changes: Changes) -> bool:
    """Creates an active and a next key when the ring has no active key. True when it
    made them. Nodes starting together make them once. Audited in the store only: any
    command makes the first ring implicitly, and no node has a ring to drop yet."""
    node = changes.node
    with exclusive(node.engine):
        keys = node.keys.all()
        if any(key.state is KeyState.ACTIVE for key in keys):
            return False
        _rotate(changes, keys, None, initial=True)
    return True


def rotate_keys(changes: Changes, algorithm: str | None = None) -> Rotation:
    """next → active, active → retired, and a new next key of `algorithm` (default:
    TOKENSMITH_SIGNING_ALGORITHM)."""
    with exclusive(changes.node.engine):
        rotation = _rotate(changes, changes.node.keys.all(), algorithm)
    changes.done(None, keys_changed())
    return rotation


def publish_next_key(changes: Changes, algorithm: str) -> Rotation:
    """A new next key of `algorithm` in place of the current next key; the active key
    goes on signing (domain/keys.py plan_next_key)."""
    node = changes.node
    with exclusive(node.engine):
        now = int(time.time())
        rotation = plan_next_key(node.keys.all(), algorithm, now)
        audit_event = changes.event(AuditAction.KEYS_ROTATED, KEY_RING_SUBJECT, now, **rotation_summary(rotation), next_only=True)
        node.keys.apply(rotation, audit_event)
    changes.done(audit_event, keys_changed())
    return rotation


def remove_key(changes: Changes, kid: str, reason: str = "compromised") -> Rotation:
    """Takes `kid` out of the ring and the JWKS at once (domain/keys.py plan_removal):
    every token it signed stops verifying, at introspection as soon as each node hears
    the announcement (or within TOKENSMITH_KEY_CACHE_SECONDS without Redis), and at
    other verifiers once their JWKS cache lets go of it. ValueError for an unknown kid."""
    node = changes.node
    with exclusive(node.engine):
        now = int(time.time())
        keys = node.keys.all()
        removed = next((key for key in keys if key.kid == kid), None)
        rotation = plan_removal(keys, kid, node.settings.signing_algorithm, now)
        assert removed is not None  # plan_removal refused an unknown kid
        audit_event = changes.event(
            AuditAction.KEY_REMOVED,
            KEY_RING_SUBJECT,
            now,
            kid=kid,
            state=removed.state.value,
            reason=reason,
            **rotation_summary(rotation),
        )
        node.keys.apply(rotation, audit_event)
    changes.done(audit_event, keys_changed())
    return rotation


def _rotate(changes: Changes, keys: Sequence[SigningKey], algorithm: str | None, *, initial: bool = False) -> Rotation:
    settings = changes.node.settings
    now = int(time.time())
    rotation = plan_rotation(keys, algorithm or settings.signing_algorithm, now, settings.retired_key_retention_seconds)
    summary = rotation_summary(rotation)
    if initial:
        summary["initial"] = True
    audit_event = changes.event(AuditAction.KEYS_ROTATED, KEY_RING_SUBJECT, now, **summary)
    changes.node.keys.apply(rotation, audit_event)
    if not initial:  # the first ring, made implicitly by any command, is in the store only
        changes.done(audit_event)
    return rotation
