"""The web console's credentials: one-time login links and the sessions they open.

Only a hash of either is stored (SHA-256 of 32 random bytes: nothing to brute-force,
so no slow hash is needed), so a copy of the store opens no session. A link is used
once, and a session carries its own CSRF token for the console's writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tokensmith.domain.randomness import token_urlsafe

LINK_PREFIX = "tkl_"
SESSION_PREFIX = "tkc_"
MAX_LINK_TTL_SECONDS = 3600
MAX_PERSON_LENGTH = 100


def credential_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class LoginLink:
    link_hash: str
    person: str
    created_at: int
    expires_at: int


@dataclass(frozen=True)
class Session:
    session_hash: str
    person: str
    csrf_token: str
    created_at: int
    expires_at: int

    @property
    def actor_name(self) -> str:
        """Who a change made in this session is recorded for in the audit log."""
        return f"person:{self.person}"


def check_person(person: str) -> str:
    person = person.strip()
    if not person or len(person) > MAX_PERSON_LENGTH or not person.isprintable():
        raise ValueError(f"a console user's name must be 1 to {MAX_PERSON_LENGTH} printable characters")
    return person


def new_login_link(person: str, ttl_seconds: int, now: int) -> tuple[LoginLink, str]:
    """A link's stored form and its one-time code (shown once, in the URL)."""
    if not 1 <= ttl_seconds <= MAX_LINK_TTL_SECONDS:
        raise ValueError(f"a login link lives 1 to {MAX_LINK_TTL_SECONDS} seconds")
    text = LINK_PREFIX + token_urlsafe(32)
    return LoginLink(credential_hash(text), check_person(person), now, now + ttl_seconds), text


def new_session(person: str, lifetime_seconds: int, now: int) -> tuple[Session, str]:
    """A session's stored form and its cookie value (sent once, in Set-Cookie)."""
    text = SESSION_PREFIX + token_urlsafe(32)
    return Session(credential_hash(text), person, token_urlsafe(32), now, now + lifetime_seconds), text
