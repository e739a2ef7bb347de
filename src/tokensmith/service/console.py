"""The web console's login links and sessions: issued by `tokensmith console
login-link`, redeemed once by the browser that opens the link, ended by logging out
or by expiry (TOKENSMITH_CONSOLE_SESSION_SECONDS). Each is an audit event."""

from __future__ import annotations

from dataclasses import replace

from tokensmith.domain.audit import AuditAction, AuditEvent
from tokensmith.domain.console import Session, credential_hash, new_login_link, new_session
from tokensmith.service.changes import Changes
from tokensmith.store.console import ConsoleRepository


def _subject(person: str) -> str:
    return f"console:{person}"


def issue_login_link(changes: Changes, person: str, ttl_seconds: int, now: int) -> str:
    """The one-time code of a new link for `person` (ValueError for a bad name or ttl)."""
    link, text = new_login_link(person, ttl_seconds, now)
    audit_event = changes.event(AuditAction.CONSOLE_LINK_ISSUED, _subject(link.person), now, expires_at=link.expires_at)
    ConsoleRepository(changes.node.engine).add_link(link, audit_event)
    changes.done(audit_event)
    return text


def link_is_usable(changes: Changes, code: str, now: int) -> bool:
    return ConsoleRepository(changes.node.engine).link_person(credential_hash(code), now) is not None


def redeem_login_link(changes: Changes, code: str, now: int) -> tuple[Session, str] | None:
    """The session a link opens and its cookie value; None when the link is unknown,
    used or expired (of concurrent redemptions, exactly one gets a session). The
    login is recorded for the link's person, from `changes`' host."""
    lifetime = changes.node.settings.console_session_seconds
    cookies: list[str] = []
    events: list[AuditEvent] = []

    def session_for(person: str) -> Session:
        session, text = new_session(person, lifetime, now)
        cookies.append(text)
        return session

    def login_event(session: Session) -> AuditEvent:
        event = changes.event(AuditAction.CONSOLE_LOGIN, _subject(session.person), now, expires_at=session.expires_at)
        events.append(replace(event, actor=session.actor_name))
        return events[-1]

    session = ConsoleRepository(changes.node.engine).redeem(credential_hash(code), session_for, now, login_event)
    if session is None:
        return None
    changes.done(events[0])
    return session, cookies[0]


def session_of(changes: Changes, cookie: str, now: int) -> Session | None:
    return ConsoleRepository(changes.node.engine).session(credential_hash(cookie), now)


def end_session(changes: Changes, session: Session, now: int) -> None:
    audit_event = changes.event(AuditAction.CONSOLE_LOGOUT, _subject(session.person), now)
    if ConsoleRepository(changes.node.engine).end(session.session_hash, audit_event):
        changes.done(audit_event)
