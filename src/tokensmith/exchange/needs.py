"""What an exchange asks its driver for. A step yields one of these and receives the
answer; the driver (exchange/driver.py) answers at once when it can without I/O,
and otherwise awaits it. Keeping every effect behind a need is what lets one flow
serve the protocol's no-I/O path and the ASGI route alike, and lets a new client
authentication method (a JWKS fetch, a replay check) add a need instead of a path.
The needs are few per token (a warm token costs two) and plain slotted records: each
one is built, yielded and answered on the hot path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.clients import Client
from tokensmith.domain.tokens import IssuedToken
from tokensmith.domain.trusts import Trust
from tokensmith.http.parsing import BodyHead


@dataclass(slots=True)
class ReadBody:
    """The request's body, whole, as its head announced it (at most `limit` bytes)."""

    head: BodyHead
    limit: int


@dataclass(slots=True)
class Admit:
    """The guard's word on this source, then the client registered under the id (None
    when unknown, or when `look_up` is False: an id or secret no client can have),
    then, if this source failed recently, the attempt counted ahead of its check.
    One need, answered in that order: whatever waits (the lookup, Redis), the count
    ahead comes after it and before the check, so concurrent guesses cannot all be
    checked before any is counted. Answers an Admission."""

    client_id: str  # as presented, cut to the longest id a client can have
    look_up: bool


@dataclass(slots=True)
class Admission:
    blocked_for: float  # > 0: refused, the source is blocked
    client: Client | None
    reservation: Reservation | None


@dataclass(slots=True)
class Reserve:
    """Count an attempt ahead of its check whatever the guard has seen, because the
    check will wait (a thread) and others could be checked meanwhile. Answers a
    Reservation, or None when the guard is off."""

    client_id: str
    known: bool  # the id is a registered client's (only then may a log name it)


@dataclass(slots=True)
class Reservation:
    client_id: str
    known: bool
    blocked_for: float  # > 0: refused, the source is blocked
    counted: bool  # the attempt was counted as a failure ahead of the check


@dataclass(slots=True)
class Release:
    """The reserved attempt succeeded: take back the failure counted ahead."""

    reservation: Reservation


@dataclass(slots=True)
class Failed:
    """A failed authentication, to count (unless its reservation counted it already)."""

    client_id: str
    reservation: Reservation | None
    known: bool
    method: str
    reason: str  # a metric label (domain/assertions.py REASONS, or "secret")


@dataclass(slots=True)
class Used:
    """A successful authentication: counted by method, and when the credential that
    proved it was last used (noted in memory, written in batches)."""

    client_id: str
    method: str
    credential: str | None


@dataclass(slots=True)
class ClientKeys:
    """The verification keys registered for a private_key_jwt client (its inline
    JWKS, or its jwks_uri's, fetched behind the SSRF guard): those with this kid,
    or all of them for None. Answers a tuple, or None when they cannot be had."""

    client: Client
    kid: str | None


@dataclass(slots=True)
class TrustOf:
    """The trusted issuer of this name (domain/trusts.py), or None."""

    name: str


@dataclass(slots=True)
class TrustKeys:
    """A trusted issuer's verification keys (inline, its jwks_uri's, or found by
    its discovery document), as ClientKeys answers."""

    trust: Trust
    kid: str | None


@dataclass(slots=True)
class FirstUse:
    """Whether this is the first use of an assertion's replay key (store/replay.py):
    True, False (seen), or None when that cannot be told now."""

    key: str
    expires_at: int


@dataclass(slots=True)
class InThread:
    """Run a blocking call (an argon2 check) off the event loop and answer its result."""

    call: Callable[[], Any]


@dataclass(slots=True)
class TakeIssuance:
    """May this client be issued one more token under its per-minute limit?"""

    client_id: str
    per_minute: int


@dataclass(slots=True)
class Signer:
    """The active signer of a fresh key ring, or None when the ring has none."""


@dataclass(slots=True)
class ReusedToken:
    """A still-fresh token of this grant to hand back (store/reuse.py), or None.
    Answered None at once for a server without token reuse."""

    client: Client
    scopes: tuple[str, ...]
    audience: str
    kid: str
    now: int


@dataclass(slots=True)
class KeepToken:
    """Remember a token just signed for its grant (token reuse)."""

    client: Client
    scopes: tuple[str, ...]
    audience: str
    kid: str
    token: IssuedToken


Need = (
    ReadBody | Admit | Reserve | Release | Failed | Used | ClientKeys | TrustOf | TrustKeys | FirstUse
    | InThread | TakeIssuance | Signer | ReusedToken | KeepToken
)  # fmt: skip
