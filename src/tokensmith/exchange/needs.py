"""What an exchange asks its driver for. A step yields one of these and receives the
answer; the driver (exchange/driver.py) answers at once when it can without I/O,
and otherwise awaits it. Keeping every effect behind a need is what lets one flow
serve the protocol's no-I/O path and the ASGI route alike, and lets a new client
authentication method (a JWKS fetch, a replay check) add a need instead of a path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.clients import Client
from tokensmith.domain.tokens import IssuedToken
from tokensmith.http.parsing import BodyHead


@dataclass(frozen=True, slots=True)
class ReadBody:
    """The request's body, whole, as its head announced it (at most `limit` bytes)."""

    head: BodyHead
    limit: int


@dataclass(frozen=True, slots=True)
class BlockedFor:
    """Seconds the source (with this client id) is still blocked for; 0 when it is not.
    Answered from this process's blocks: never I/O."""

    client_id: str


@dataclass(frozen=True, slots=True)
class LookupClient:
    """The client registered under this id, or None."""

    client_id: str


@dataclass(frozen=True, slots=True)
class Reserve:
    """Count an attempt against the brute-force guard before its credentials are
    checked, so that concurrent guesses cannot all be checked before any of them is
    counted. `needed`: the check will wait (a thread), so it must be counted first
    whatever the guard has seen. Answers a Reservation, or None when the guard saw
    no reason to count ahead (no recent failure from this source)."""

    client_id: str
    needed: bool
    known: bool  # the id is a registered client's (only then may a log name it)


@dataclass(frozen=True, slots=True)
class Reservation:
    client_id: str
    known: bool
    blocked_for: float  # > 0: refused, the source is blocked
    counted: bool  # the attempt was counted as a failure ahead of the check


@dataclass(frozen=True, slots=True)
class Release:
    """The reserved attempt succeeded: take back the failure counted ahead."""

    reservation: Reservation


@dataclass(frozen=True, slots=True)
class Failed:
    """A failed authentication, to count (unless its reservation counted it already)."""

    client_id: str
    reservation: Reservation | None
    method: str
    known: bool


@dataclass(frozen=True, slots=True)
class InThread:
    """Run a blocking call (an argon2 check) off the event loop and answer its result."""

    call: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class TakeIssuance:
    """May this client be issued one more token under its per-minute limit?"""

    client_id: str
    per_minute: int


@dataclass(frozen=True, slots=True)
class Signer:
    """The active signer of a fresh key ring, or None when the ring has none."""


@dataclass(frozen=True, slots=True)
class ReusedToken:
    """A still-fresh token of this grant to hand back (store/reuse.py), or None.
    Answered None at once for a server without token reuse."""

    client: Client
    scopes: tuple[str, ...]
    audience: str
    kid: str
    now: int


@dataclass(frozen=True, slots=True)
class KeepToken:
    """Remember a token just signed for its grant (token reuse)."""

    client: Client
    scopes: tuple[str, ...]
    audience: str
    kid: str
    token: IssuedToken


Need = ReadBody | BlockedFor | LookupClient | Reserve | Release | Failed | InThread | TakeIssuance | Signer | ReusedToken | KeepToken
