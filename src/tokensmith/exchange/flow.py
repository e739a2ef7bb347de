"""Where a token request is decided: parse → authenticate → authorise → issue, as a
generator of needs (exchange/needs.py) that returns the 200 body or raises a
catalogue refusal. The token itself is built in domain/tokens.py; each endpoint's
wire format (which parameters, which answer) is an `Endpoint` (http/seed_token.py,
http/oauth_token.py)."""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import choose_audience, grant_scopes
from tokensmith.domain.sender_constraints import TokenBinding
from tokensmith.domain.throttling import IssuanceDecision, retry_after
from tokensmith.domain.tokens import IssuedToken, TokenSigner, issue_token
from tokensmith.exchange.authentication.authenticate import Trace, authenticate
from tokensmith.exchange.authentication.client_assertion import ASSERTION_METHODS, GRANT_METHODS
from tokensmith.exchange.authentication.client_secret import SECRET_METHODS
from tokensmith.exchange.authentication.methods import Checks, Method, presented_credential
from tokensmith.exchange.dpop import DpopChecks
from tokensmith.exchange.needs import (
    KeepToken,
    Need,
    ReadBody,
    ReusedToken,
    Signer,
    TakeIssuance,
)
from tokensmith.exchange.sender_constraint import sender_constraint
from tokensmith.http.parsing import (
    BodyHead,
    check_head,
    form_parameters,
    query_string_parameters,
    received_body,
)

NONE = TokenBinding.NONE

# The client authentication methods every endpoint that authenticates a client
# accepts (introspection, revocation: http/authentication.py), and the token
# endpoints', which also take a JWT-bearer grant's assertion (RFC 7523 §2.1).
CLIENT_AUTHENTICATION_METHODS: tuple[Method, ...] = (*SECRET_METHODS, *ASSERTION_METHODS)
TOKEN_ENDPOINT_METHODS: tuple[Method, ...] = (*CLIENT_AUTHENTICATION_METHODS, *GRANT_METHODS)


@dataclass(frozen=True, slots=True)
class ExchangeContext:
    """What every exchange of one node shares: no I/O in any of it."""

    issuer: str
    default_audience: str
    checks: Checks
    max_body_bytes: int
    seed_max_scope_length: int
    max_scope_length: int
    dpop: DpopChecks | None = None  # exchange/dpop.py


@dataclass(slots=True)  # not frozen: built per request, and frozen costs twice as much
class TokenRequest:
    """A token request as it arrived: what its header fields say (http/parsing.py
    body_head, one pass), the query string, and the body when it has all arrived
    already (else the exchange asks for it)."""

    head: BodyHead
    query_string: bytes
    body: bytes | None = None
    # The client certificate of the TLS connection (DER), or a trusted proxy's
    # Client-Cert (RFC 9440); None without one (http/ sets it: RFC 8705).
    client_certificate: bytes | None = None
    # The endpoint's path, which a DPoP proof's htu must name (RFC 9449 §4.3).
    path: str = ""

    @property
    def may_bind(self) -> bool:
        """Whether the request carries what could bind its token: a DPoP proof or a
        client certificate. (Checked once per token: two attribute reads.)"""
        return self.head.dpop is not None or self.client_certificate is not None

    @property
    def authorization(self) -> str | None:
        """The Authorization field (the first one; two are refused)."""
        value = self.head.authorization
        return value.decode("latin-1") if value is not None else None


class Endpoint(Protocol):
    """One token endpoint's wire format."""

    path: str
    reads_query: bool  # parameters may come in the query string (the seed endpoint)
    form_required: bool  # the body must be a form (RFC 6749 §4.4.2)
    scope_refusal: Problem  # a scope the client may not have

    def parameters(self, query: Mapping[str, str], form: dict[str, str], context: ExchangeContext) -> tuple[tuple[str, ...] | None, str | None]:
        """The scopes (None: the client's default) and the audience asked for."""
        ...

    def answer(self, token: IssuedToken, now: int) -> bytes:
        """The 200 body."""
        ...


def token_exchange(endpoint: Endpoint, request: TokenRequest, context: ExchangeContext, trace: Trace) -> Generator[Need, Any, bytes]:
    # Parse: the query first (nothing to wait for), then the body its head announces.
    query = query_string_parameters(request.query_string) if endpoint.reads_query else {}
    head = check_head(request.head)
    limit = context.max_body_bytes
    body: bytes = received_body(head, request.body, limit) if request.body is not None else (yield ReadBody(head, limit))
    form = form_parameters(head, body, required=endpoint.form_required)
    scopes, audience = endpoint.parameters(query, form, context)
    # Authenticate.
    credential = presented_credential(request.authorization, form, TOKEN_ENDPOINT_METHODS)
    if credential is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    client = yield from authenticate(credential, context.checks, trace)
    # Authorise.
    granted = grant_scopes(client, scopes, refusal=endpoint.scope_refusal)
    target = choose_audience(client, audience, context.default_audience)
    if client.rate_limit is not None:
        decision: IssuanceDecision = yield TakeIssuance(client.client_id, client.rate_limit)
        if not decision.allowed:
            raise TokensmithError(
                Problem.RATE_LIMITED, "Token issuance limit reached for this client", retry_after=retry_after(decision.retry_after_seconds)
            )
    # Bind: to the key of a DPoP proof or the client certificate (exchange/sender_constraint.py).
    confirmation = None
    if client.token_binding is not NONE or request.may_bind:
        confirmation = yield from sender_constraint(request, client, context)
    # Issue.
    signer: TokenSigner | None = yield Signer()
    if signer is None:
        raise TokensmithError(Problem.UNAVAILABLE, "No active signing key")
    now = int(time.time())
    reusable = client.reuse_tokens and confirmation is None  # a bound token is for its key only
    if reusable:
        reused: IssuedToken | None = yield ReusedToken(client, granted, target, signer.kid, now)
        if reused is not None:
            return endpoint.answer(reused, now)
    token = issue_token(signer, client, issuer=context.issuer, audience=target, scopes=granted, now=now, confirmation=confirmation)
    if reusable:
        yield KeepToken(client, granted, target, signer.kid, token)
    return endpoint.answer(token, now)
