"""The client_credentials grant (RFC 6749 §4.4) as pure decisions: who the client
is, which scopes and which audience it gets. The HTTP layer parses, the store
supplies the client, this module decides."""

from __future__ import annotations

from dataclasses import dataclass

from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH, Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.secrets import MAX_SECRET_LENGTH, SecretChecker


@dataclass(slots=True)  # built per request: not frozen, which costs twice as much
class ClientCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=<hidden>)"

    def is_plausible(self) -> bool:
        """Ids and secrets no client can have are refused without a store lookup."""
        return 0 < len(self.client_id) <= MAX_CLIENT_ID_LENGTH and 0 < len(self.client_secret) <= MAX_SECRET_LENGTH


def matched_secret(client: Client | None, credentials: ClientCredentials, checker: SecretChecker, now: int) -> str | None:
    """The id of the client's live secret that the presented one equals, if the
    client is enabled and authenticates with secrets; else None.

    Every failure takes the same work, so that response time does not say whether
    the id exists (RFC 6749 §10.10): an unknown id is checked against a dummy secret."""
    if client is None:
        checker.dummy_check(credentials.client_secret)
        return None
    matched = checker.matching(credentials.client_secret, client.secrets, now)
    return matched if client.enabled and client.auth_method.uses_secrets else None


def authenticate(client: Client | None, credentials: ClientCredentials, checker: SecretChecker, now: int) -> Client:
    """The client if `matched_secret` finds its secret, else the one invalid_client refusal."""
    if matched_secret(client, credentials, checker, now) is None or client is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    return client


def grant_scopes(client: Client, requested: tuple[str, ...] | None, *, refusal: Problem) -> tuple[str, ...]:
    """Every requested scope must be allowed (RFC 6749 §3.3); no request means the
    client's default scopes."""
    if requested is None:
        if not client.default_scopes:
            raise TokensmithError(refusal, "No scope requested and the client has no default scope")
        return client.default_scopes
    if not client.allowed_scopes.issuperset(requested):
        raise TokensmithError(refusal)
    return requested


def choose_audience(client: Client, requested: str | None, server_default: str) -> str:
    """The requested resource/audience if the client may use it (RFC 8707 §2), else
    the client's default audience, else the server's."""
    if requested is not None:
        if requested not in client.audiences:
            raise TokensmithError(Problem.INVALID_TARGET)
        return requested
    return client.default_audience or server_default
