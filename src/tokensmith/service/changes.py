"""What every administrative change shares: who makes it, its audit event, and what
follows the write (the event on the log stream, the announcement to other nodes)."""

from __future__ import annotations

import getpass
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tokensmith import audit_log
from tokensmith.config import Settings
from tokensmith.domain.audit import Actor, AuditAction, AuditEvent, event
from tokensmith.node import Node
from tokensmith.store.fanout import Event, announce_sync


def process_actor(settings: Settings) -> Actor:
    """Who this process acts for in the audit log: TOKENSMITH_ACTOR, else the OS user."""
    name = settings.actor
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry (some containers)
            name = f"uid:{os.getuid()}"
    return Actor(name, socket.gethostname())


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass(frozen=True)
class Changes:
    """The node a change is made on and the actor it is made for. The repositories
    store a change's audit event in the change's own transaction (store/audit.py);
    `done` does what follows once it is committed."""

    node: Node
    actor: Actor
    notice: Callable[[str], None] = field(default=_to_stderr)

    @classmethod
    def of_process(cls, node: Node) -> Changes:
        return cls(node, process_actor(node.settings))

    def event(self, action: AuditAction, subject: str, now: int | None = None, **details: object) -> AuditEvent:
        return event(action, subject, self.actor, int(time.time()) if now is None else now, **details)

    def done(self, audit_event: AuditEvent | None, *announcements: Event) -> None:
        """The committed change's event on the log stream (None: nothing changed), and
        its announcements, so every node drops what it cached at once rather than when
        its caches expire."""
        if audit_event is not None:
            audit_log.emit(audit_event, self.node.settings.audit_log)
        link = self.node.redis
        if link is not None and announcements and not announce_sync(link, announcements):
            self.notice(
                "tokensmith: warning: Redis did not take the change announcement; nodes apply the change "
                f"within their cache limits (clients {self.node.settings.client_cache_seconds:g} s, "
                f"keys {self.node.settings.key_cache_seconds:g} s)"
            )
