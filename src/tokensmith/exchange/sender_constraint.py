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
from tokensmith.exchange.certificate_binding import certificate_confirmation
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
    # mTLS (RFC 8705 §3): exchange/certificate_binding.py.
    if (certificate := certificate_confirmation(request.client_certificate, client, dpop_proof=request.head.dpop is not None)) is not None:
        return certificate
    if binding is TokenBinding.NONE:
        return None
    # Each binding is handled above (a missing proof or certificate raises there): this
    # is the fail-closed default for a binding nothing here knows.
    raise TokensmithError(Problem.MALFORMED_REQUEST, f"This client's tokens must be bound ({binding.value})")
