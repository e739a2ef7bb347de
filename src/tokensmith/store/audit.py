"""Audit events in SQL. An event is written in the same transaction as the change it
describes (store/clients.py and store/keys.py take it along), so there is never a
change without its event, nor an event for a change that did not happen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tokensmith.domain.audit import AuditAction, AuditEvent
from tokensmith.store.schema import audit_events


def record(connection: sa.Connection, event: AuditEvent) -> None:
    connection.execute(
        audit_events.insert().values(
            occurred_at=event.occurred_at,
            action=event.action.value,
            subject=event.subject[:255],
            actor=event.actor[:128],
            host=event.host[:255],
            details=dict(event.details),
        )
    )


def _to_event(row: Any) -> AuditEvent:
    return AuditEvent(
        action=AuditAction(row.action),
        subject=row.subject,
        actor=row.actor,
        host=row.host,
        occurred_at=row.occurred_at,
        details=dict(row.details or {}),
        event_id=row.id,
    )


@dataclass(frozen=True)
class AuditQuery:
    """Newest first, older than event `before` (the cursor); each filter optional.
    `since` and `until` are epoch seconds, both included."""

    actor: str | None = None
    subject: str | None = None
    action: str | None = None
    since: int | None = None
    until: int | None = None
    before: int | None = None
    limit: int = 50


class AuditRepository:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def record(self, event: AuditEvent) -> None:
        with self._engine.begin() as connection:
            record(connection, event)

    def latest(self, limit: int = 50, *, subject: str | None = None, action: str | None = None) -> list[AuditEvent]:
        """The newest events first."""
        query = sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if subject is not None:
            query = query.where(audit_events.c.subject == subject)
        if action is not None:
            query = query.where(audit_events.c.action == action)
        with self._engine.connect() as connection:
            return [_to_event(row) for row in connection.execute(query)]

    def search(self, query: AuditQuery) -> list[AuditEvent]:
        selected = sa.select(audit_events).order_by(audit_events.c.id.desc()).limit(query.limit)
        for column, value in (
            (audit_events.c.actor, query.actor),
            (audit_events.c.subject, query.subject),
            (audit_events.c.action, query.action),
        ):
            if value is not None:
                selected = selected.where(column == value)
        if query.since is not None:
            selected = selected.where(audit_events.c.occurred_at >= query.since)
        if query.until is not None:
            selected = selected.where(audit_events.c.occurred_at <= query.until)
        if query.before is not None:
            selected = selected.where(audit_events.c.id < query.before)
        with self._engine.connect() as connection:
            return [_to_event(row) for row in connection.execute(selected)]
