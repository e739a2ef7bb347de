"""The client certificate a request presents (RFC 8705): from the TLS connection
tokensmith terminated itself (the ASGI TLS extension that http/protocol.py fills in:
scope["extensions"]["tls"]), or, behind a TLS-terminating proxy, from the RFC 9440
`Client-Cert` field, believed only when the socket peer is a trusted proxy
(TOKENSMITH_TRUSTED_PROXIES). From anyone else the field is ignored: it counts as no
certificate at all, so it can neither authenticate nor bind.

A trusted proxy must remove any Client-Cert a client sent before adding its own
(RFC 9440 §2.4); should two arrive all the same, their combined value is not one
certificate and the request has none."""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import Scope

from tokensmith.http.parsing import BodyHead
from tokensmith.http.source_address import SourceAddresses
from tokensmith.verify.certificates import client_cert_field  # one reading of the field, server and verifier

log = logging.getLogger("tokensmith.http")

TLS_EXTENSION = "tls"
DER_KEY = "client_cert_der"  # ours: the leaf certificate, DER, as the TLS layer gave it


def tls_extension(der: bytes | None) -> dict[str, Any]:
    """The ASGI TLS extension's entry for one connection (asgiref's TLS extension:
    `client_cert_chain` as PEM strings), with the DER beside it so no one decodes PEM."""
    if der is None:
        return {"client_cert_chain": [], DER_KEY: None}
    import ssl  # only on a TLS listener

    return {"client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)], DER_KEY: der}


def presented_certificate(scope: Scope, head: BodyHead, addresses: SourceAddresses) -> bytes | None:
    """The DER client certificate of this request, or None (two reads without one).
    From a trusted proxy only its Client-Cert counts: the certificate of its own TLS
    connection to tokensmith, if it has one, is the proxy's, not the client's."""
    field = head.client_cert
    extensions = scope.get("extensions")
    tls = extensions.get(TLS_EXTENSION) if extensions else None
    der: bytes | None = tls.get(DER_KEY) if tls else None
    if field is None and der is None:
        return None
    client = scope.get("client")
    if not (client and addresses.is_trusted_peer(client[0])):
        return der
    if field is None:
        return None
    forwarded = client_cert_field(field)
    if forwarded is None:
        log.warning("a trusted proxy's Client-Cert is not one base64 certificate; ignored")
    return forwarded
