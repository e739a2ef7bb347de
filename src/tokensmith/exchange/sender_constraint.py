"""Where a token is bound to its sender (DESIGN.md §10): to the key of a DPoP proof
(RFC 9449) or to the client certificate (RFC 8705), as the request presents them and
the client's token binding requires. Answers the confirmation the token carries
(`cnf`), or None for a bearer token.

Consulted only when the client requires a binding or the request presents something
that could bind (exchange/flow.py), so a bearer token costs nothing here."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.sender_constraints import Confirmation, TokenBinding
from tokensmith.exchange.dpop import dpop_confirmation
from tokensmith.exchange.needs import Need

if TYPE_CHECKING:
    from tokensmith.exchange.flow import ExchangeContext, TokenRequest


def sender_constraint(request: TokenRequest, client: Client, context: ExchangeContext) -> Generator[Need, Any, Confirmation | None]:
    binding = client.token_binding
    # DPoP (exchange/dpop.py): a proof binds the token of a client not bound to its
    # certificate, and a client that must bind to DPoP is refused without one.
    if binding is not TokenBinding.MTLS and (request.head.dpop is not None or binding is TokenBinding.DPOP):
        return (yield from dpop_confirmation(request, client, context.dpop))
    if binding is TokenBinding.NONE:
        return None
    # The client's tokens must be bound, and nothing here can bind them yet (the mTLS
    # check, which yields its needs, comes here).
    raise TokensmithError(Problem.MALFORMED_REQUEST, f"This client's tokens must be bound ({binding.value})")
