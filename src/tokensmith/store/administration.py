"""An administrative change, done completely: the write and its audit event in one
transaction, the event on the log stream, and (with Redis) the announcement that
makes every node drop what it cached, so the change is in force everywhere at once
rather than when the nodes' caches expire."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace

from tokensmith import audit_log
from tokensmith.domain.audit import (
    AuditAction,
    AuditEvent,
    client_changes,
    client_snapshot,
    event,
    secret_summary,
)
from tokensmith.domain.clients import Client
from tokensmith.domain.keys import Rotation
from tokensmith.domain.secrets import StoredSecret
from tokensmith.node import Node
from tokensmith.store.fanout import Event, announce_sync, client_changed, keys_changed


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


class Administration:
    def __init__(self, node: Node, notice: Callable[[str], None] = _to_stderr) -> None:
        self._node = node
        self._notice = notice

    def _event(self, action: AuditAction, subject: str, **details: object) -> AuditEvent:
        return event(action, subject, self._node.actor(), int(time.time()), **details)

    def _done(self, audit_event: AuditEvent | None, *announcements: Event) -> None:
        if audit_event is not None:
            audit_log.emit(audit_event, self._node.settings.audit_log)
        link = self._node.redis
        if link is not None and announcements and not announce_sync(link, announcements):
            self._notice(
                "tokensmith: warning: Redis did not take the change announcement; nodes apply the change "
                f"within their cache limits (clients {self._node.settings.client_cache_seconds:g} s, "
                f"keys {self._node.settings.key_cache_seconds:g} s)"
            )

    def create_client(self, client: Client) -> None:
        audit_event = self._event(
            AuditAction.CLIENT_CREATED,
            client.client_id,
            client=client_snapshot(client),
            secrets=[secret_summary(secret) for secret in client.secrets],
        )
        self._node.clients.create(client, audit_event)
        self._done(audit_event, client_changed(client.client_id))

    def update_client(self, before: Client, after: Client) -> None:
        audit_event = self._event(AuditAction.CLIENT_CHANGED, after.client_id, changes=client_changes(before, after))
        self._node.clients.update(after, audit_event)
        self._done(audit_event, client_changed(after.client_id))

    def set_enabled(self, client: Client, enabled: bool, now: int) -> Client:
        changed = replace(client, enabled=enabled, updated_at=now)
        action = AuditAction.CLIENT_ENABLED if enabled else AuditAction.CLIENT_DISABLED
        audit_event = self._event(action, client.client_id, was_enabled=client.enabled)
        self._node.clients.update(changed, audit_event)
        self._done(audit_event, client_changed(client.client_id))
        return changed

    def delete_client(self, client_id: str) -> bool:
        before = self._node.clients.get(client_id)
        details = {"client": client_snapshot(before)} if before is not None else {}
        audit_event = self._event(AuditAction.CLIENT_DELETED, client_id, **details)
        deleted = self._node.clients.delete(client_id, audit_event)
        self._done(audit_event if deleted else None, client_changed(client_id))
        return deleted

    def add_secret(self, client_id: str, secret: StoredSecret, now: int) -> None:
        audit_event = self._event(AuditAction.SECRET_ADDED, client_id, secret=secret_summary(secret))
        self._node.clients.add_secret(client_id, secret, now, audit_event)
        self._done(audit_event, client_changed(client_id))

    def remove_secret(self, client_id: str, secret_id: str, now: int) -> bool:
        audit_event = self._event(AuditAction.SECRET_REMOVED, client_id, secret={"secret_id": secret_id})
        removed = self._node.clients.remove_secret(client_id, secret_id, now, audit_event)
        self._done(audit_event if removed else None, client_changed(client_id))
        return removed

    def rotate_keys(self, algorithm: str | None = None) -> Rotation:
        rotation = self._node.rotate_keys(algorithm)  # audits and logs the rotation itself
        self._done(None, keys_changed())
        return rotation

    def publish_next_key(self, algorithm: str) -> Rotation:
        rotation = self._node.publish_next_key(algorithm)  # audits and logs itself
        self._done(None, keys_changed())
        return rotation
