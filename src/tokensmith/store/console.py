"""The console's login links and sessions in SQL (domain/console.py). Redeeming a link
is one conditional UPDATE: of any number of redemptions at once, on any node, exactly
one finds it unused, and the session it opens is written in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tokensmith.domain.audit import AuditEvent
from tokensmith.domain.console import LoginLink, Session
from tokensmith.store import audit
from tokensmith.store.schema import console_login_links, console_sessions


def _to_session(row: Any) -> Session:
    return Session(row.session_hash, row.person, row.csrf_token, row.created_at, row.expires_at)


class ConsoleRepository:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def add_link(self, link: LoginLink, audit_event: AuditEvent | None = None) -> None:
        with self._engine.begin() as connection:
            # Links and sessions past their expiry are of no use: dropped as new ones come.
            connection.execute(console_login_links.delete().where(console_login_links.c.expires_at < link.created_at))
            connection.execute(console_sessions.delete().where(console_sessions.c.expires_at < link.created_at))
            connection.execute(
                console_login_links.insert().values(
                    link_hash=link.link_hash, person=link.person, created_at=link.created_at, expires_at=link.expires_at
                )
            )
            if audit_event is not None:
                audit.record(connection, audit_event)

    def link_person(self, link_hash: str, now: int) -> str | None:
        """Whose the link is, while it is unused and unexpired."""
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(console_login_links.c.person).where(
                    (console_login_links.c.link_hash == link_hash)
                    & console_login_links.c.used_at.is_(None)
                    & (console_login_links.c.expires_at > now)
                )
            ).first()
        return None if row is None else str(row.person)

    def redeem(
        self, link_hash: str, session_for: Callable[[str], Session], now: int, audit_for: Callable[[Session], AuditEvent]
    ) -> Session | None:
        """Marks the link used and opens the session `session_for(person)` gives, with
        the event `audit_for(session)` gives; None when the link is unknown, used or expired."""
        with self._engine.begin() as connection:
            used = connection.execute(
                console_login_links.update()
                .where(
                    (console_login_links.c.link_hash == link_hash)
                    & console_login_links.c.used_at.is_(None)
                    & (console_login_links.c.expires_at > now)
                )
                .values(used_at=now)
            ).rowcount
            if not used:
                return None
            person = connection.execute(
                sa.select(console_login_links.c.person).where(console_login_links.c.link_hash == link_hash)
            ).scalar_one()
            session = session_for(person)
            connection.execute(
                console_sessions.insert().values(
                    session_hash=session.session_hash,
                    person=session.person,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                )
            )
            audit.record(connection, audit_for(session))
            return session

    def session(self, session_hash: str, now: int) -> Session | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                sa.select(console_sessions).where((console_sessions.c.session_hash == session_hash) & (console_sessions.c.expires_at > now))
            ).first()
        return None if row is None else _to_session(row)

    def end(self, session_hash: str, audit_event: AuditEvent | None = None) -> bool:
        with self._engine.begin() as connection:
            ended = connection.execute(console_sessions.delete().where(console_sessions.c.session_hash == session_hash)).rowcount > 0
            if ended and audit_event is not None:
                audit.record(connection, audit_event)
            return ended
