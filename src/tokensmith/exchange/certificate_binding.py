"""Certificate-bound access tokens (RFC 8705 §3): when a token is bound to the client
certificate, and the refusal when it must be and cannot.

Bound when the client authenticated with its certificate (tls_client_auth or
self_signed_tls_client_auth: RFC 8705 §3 lets the server bind then, and tokensmith
always does, so a token got with a certificate is never a bearer token), or when the
client's token binding is mtls (whatever method authenticated it: the certificate
then only binds, and is not verified; the resource server compares its hash). A
client bound to DPoP, or one authenticated by certificate that sends a DPoP proof,
gets a DPoP-bound token instead (exchange/sender_constraint.py). A certificate
presented by any other client is ignored: its tokens stay bearer."""

from __future__ import annotations

from tokensmith.domain.certificates import certificate_thumbprint
from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.sender_constraints import Confirmation, TokenBinding
from tokensmith.exchange.authentication.tls_client import TLS_METHODS


def certificate_confirmation(certificate: bytes | None, client: Client, *, dpop_proof: bool) -> Confirmation | None:
    """`cnf` {"x5t#S256": …} for a token bound to `certificate`; None when this
    client's token is not bound to a certificate."""
    binding = client.token_binding
    if binding is not TokenBinding.MTLS and (binding is not TokenBinding.NONE or client.auth_method not in TLS_METHODS or dpop_proof):
        return None
    if certificate is None:
        # Authenticated by certificate implies one; so only a binding-mtls client without one.
        raise TokensmithError(Problem.MALFORMED_REQUEST, "This client's tokens are bound to its TLS client certificate: present one")
    return Confirmation({"x5t#S256": certificate_thumbprint(certificate)}, "Bearer")  # RFC 8705 §3: still Bearer
