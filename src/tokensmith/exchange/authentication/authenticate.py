"""The steps every client authentication shares, behind the brute-force guard
(store/throttle.py): a source blocked for failing too often gets 429 with
Retry-After whatever it presents; an attempt from a source that failed recently is
counted *before* its credentials are checked (a reservation, given back on success),
so that guesses sent together cannot all be checked before any is counted; every
failure is counted against the source address and (address, client id), never the
client id alone, so an attacker cannot lock the real client out of its own address.

The client id goes to the access log only once the lookup shows it is a registered
client's: an unknown "id" may be a secret sent in the wrong field."""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH, Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.throttling import retry_after
from tokensmith.exchange.authentication.methods import Checks, Credential
from tokensmith.exchange.needs import Admission, Admit, Failed, Need, Release, Reserve, Used


@dataclass(slots=True)
class Trace:
    """What one exchange learned that the access log and the metrics report."""

    client_id: str | None = None  # a registered client's id, authenticated or not
    authenticated_client_id: str | None = None

    def report(self, state: dict[str, Any]) -> None:
        """Into a request's state, where the access log and the metrics read it."""
        state["client_id"] = self.client_id
        if self.authenticated_client_id is not None:
            state["authenticated_client_id"] = self.authenticated_client_id


def authenticate(credential: Credential, checks: Checks, trace: Trace) -> Generator[Need, Any, Client]:
    """The client `credential` proves, or a refusal: 429 while the source is blocked,
    else 401 invalid_client for any credential failure (which is counted)."""
    client_id = credential.client_id[:MAX_CLIENT_ID_LENGTH]
    admission: Admission = yield Admit(client_id, credential.is_plausible())
    if admission.blocked_for > 0:
        raise _blocked(admission.blocked_for)
    client, reservation = admission.client, admission.reservation
    if client is not None:
        trace.client_id = client.client_id
    now = int(time.time())
    if reservation is None and credential.waits(client, checks, now):
        reservation = yield Reserve(client_id, client is not None)
        if reservation is not None and reservation.blocked_for > 0:
            raise _blocked(reservation.blocked_for)
    proven = yield from credential.verify(client, checks, now)
    if not proven or client is None:
        yield Failed(client_id, reservation, client is not None, credential.method, credential.reason)
        raise TokensmithError(Problem.INVALID_CLIENT)
    if reservation is not None and reservation.counted:
        yield Release(reservation)
    yield Used(client.client_id, credential.method, credential.used)
    trace.authenticated_client_id = client.client_id
    return client


def _blocked(seconds: float) -> TokensmithError:
    return TokensmithError(Problem.RATE_LIMITED, "Too many failed authentications", retry_after=retry_after(seconds))
