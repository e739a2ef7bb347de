"""Certificate-bound access tokens at the resource server (RFC 8705 §3): a token whose
``cnf`` holds ``x5t#S256`` is accepted only from a request that presents that very
certificate; otherwise 401 invalid_token (§3, RFC 6750 §3.1).

Where the certificate comes from, in an ASGI app: the TLS connection, as the ASGI TLS
extension gives it (``scope["extensions"]["tls"]``: tokensmith's own server adds
``client_cert_der``; other servers give ``client_cert_chain``, PEM, leaf first), or,
behind a TLS-terminating proxy, the RFC 9440 ``Client-Cert`` field, believed only
when the socket peer is one of ``trusted_proxies`` (from anyone else it counts as no
certificate, and from a trusted proxy only it counts). In a WSGI app (Flask, Django):
the server's own ``SSL_CLIENT_CERT`` (PEM; Apache mod_wsgi with +ExportCertData), or
the trusted proxy's Client-Cert."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith.verify.errors import InvalidToken

THUMBPRINT = "x5t#S256"
_MAX_FIELD_BYTES = 24 * 1024


def check_certificate_binding(cnf: object, certificate: bytes | None) -> None:
    """RFC 8705 §3.1: nothing for a token not bound to a certificate; else the DER
    presented must hash to the token's x5t#S256."""
    if not isinstance(cnf, Mapping) or THUMBPRINT not in cnf:
        return
    expected = cnf[THUMBPRINT]
    if certificate is None:
        raise InvalidToken("The token is bound to a client certificate; present it (mutual TLS)")
    presented = base64.urlsafe_b64encode(hashlib.sha256(certificate).digest()).rstrip(b"=")
    if not isinstance(expected, str) or not hmac.compare_digest(presented, expected.encode("ascii", "replace")):
        raise InvalidToken("The token is bound to another client certificate")


class TrustedProxies:
    """The peers whose Client-Cert field is believed (addresses or CIDR networks)."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self._networks = tuple(ipaddress.ip_network(network, strict=False) for network in networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)


def client_cert_field(value: bytes) -> bytes | None:
    """The DER in an RFC 9440 §2.2 Client-Cert value: one RFC 8941 §3.3.5 byte
    sequence, `:base64:` (anything else, two combined fields included: None). The
    server reads the field with this too (tokensmith/http/client_certificate.py)."""
    value = value.strip(b" \t")
    if len(value) > _MAX_FIELD_BYTES or len(value) < 3 or value[:1] != b":" or value[-1:] != b":":
        return None
    try:
        return binascii.a2b_base64(value[1:-1], strict_mode=True) or None
    except binascii.Error:
        return None


def _from_tls(scope: Mapping[str, Any]) -> bytes | None:
    extensions = scope.get("extensions")
    tls = extensions.get("tls") if extensions else None
    if not tls:
        return None
    der = tls.get("client_cert_der")
    if der is not None:
        return bytes(der)
    chain = tls.get("client_cert_chain")
    if chain:
        try:
            return ssl.PEM_cert_to_DER_cert(chain[0])
        except ValueError:
            return None
    return None


def scope_certificate(scope: Mapping[str, Any], trusted_proxies: TrustedProxies) -> bytes | None:
    """The DER client certificate an ASGI request presents, or None."""
    if trusted_proxies:
        client = scope.get("client")
        if client and trusted_proxies.trusts(client[0]):
            fields = [value for name, value in scope.get("headers", ()) if name == b"client-cert"]
            # Two fields (a proxy that appended instead of replacing) are no certificate.
            return client_cert_field(fields[0]) if len(fields) == 1 else None
    return _from_tls(scope)


def wsgi_certificate(environ: Mapping[str, Any], trusted_proxies: TrustedProxies) -> bytes | None:
    """The DER client certificate a WSGI request presents, or None."""
    if trusted_proxies and trusted_proxies.trusts(str(environ.get("REMOTE_ADDR", ""))):
        field = environ.get("HTTP_CLIENT_CERT")  # repeated fields arrive joined: no longer one certificate
        return client_cert_field(field.encode("latin-1")) if isinstance(field, str) else None
    pem = environ.get("SSL_CLIENT_CERT")
    if isinstance(pem, str) and pem:
        try:
            return ssl.PEM_cert_to_DER_cert(pem)
        except ValueError:
            return None
    return None
