"""Which client authentication method a request presents: exactly one, or none
(RFC 6749 §2.3: a client MUST NOT use more than one method in each request).

A method is one class with `presented(authorization, form)`: the credential it finds
in the request, or None. A new method is one more class in
exchange/flow.py TOKEN_ENDPOINT_METHODS: client_secret.py, client_assertion.py."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tokensmith.domain.assertions import AssertionRules
from tokensmith.domain.clients import Client
from tokensmith.domain.secrets import SecretChecker
from tokensmith.exchange.needs import Need
from tokensmith.http.parsing import malformed


@dataclass(frozen=True, slots=True)
class Checks:
    """What a method checks a credential with: one per node, no I/O in any of it."""

    secrets: SecretChecker
    assertions: AssertionRules
    issuer: str  # this server's issuer identifier (the aud platform tokens must name)


class Credential(Protocol):
    """What one request presented to prove it is `client_id`."""

    @property
    def method(self) -> str:
        """The RFC 7591 token_endpoint_auth_method name, for metrics and logs."""
        ...

    @property
    def client_id(self) -> str: ...

    @property
    def used(self) -> str | None:
        """Once verified: which of the client's credentials proved it (a secret's id,
        "key:" + a kid, a federation's id), for its last-used time."""
        ...

    @property
    def reason(self) -> str:
        """Once refused: why, as a metric label (domain/assertions.py REASONS and
        the secret methods' own)."""
        ...

    def is_plausible(self) -> bool:
        """False for what no client can present: refused without a store lookup."""
        ...

    def waits(self, client: Client | None, checks: Checks, now: int) -> bool:
        """Whether checking it will wait (a thread): then it is counted first."""
        ...

    def verify(self, client: Client | None, checks: Checks, now: int) -> Generator[Need, Any, bool]:
        """Whether it proves the client (None: unknown id, checked all the same)."""
        ...


class Method(Protocol):
    @property
    def name(self) -> str: ...

    def presented(self, authorization: str | None, form: Mapping[str, str]) -> Credential | None: ...


def presented_credential(authorization: str | None, form: Mapping[str, str], methods: tuple[Method, ...]) -> Credential | None:
    """The one credential the request presents, or None when it presents none (the
    caller answers invalid_client). Two methods at once are refused as malformed."""
    found: Credential | None = None
    for method in methods:
        credential = method.presented(authorization, form)
        if credential is None:
            continue
        if found is not None:
            raise malformed("Use one client authentication method, not two")
        found = credential
    return found
