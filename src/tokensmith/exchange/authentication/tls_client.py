"""Client authentication by the TLS client certificate (RFC 8705 §2): the request
names its client in the form's `client_id` and presents no other credential; the
certificate came from the TLS connection or a trusted proxy's Client-Cert field
(http/client_certificate.py). The rules are in domain/certificates.py.

Not a `Method` of methods.py: the certificate is not in the header fields or the
form, so exchange/flow.py offers it only when no other method was presented."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from tokensmith.domain.certificates import CertificateRefused, check_pki_subject, matching_key, parse_certificate
from tokensmith.domain.client_keys import AuthMethod, key_credential_id
from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH, Client
from tokensmith.exchange.authentication.methods import Checks
from tokensmith.exchange.needs import ClientKeys, Need

TLS_METHODS = (AuthMethod.TLS_CLIENT_AUTH, AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH)


class CertificateCredential:
    __slots__ = ("certificate", "client_id", "method", "reason", "used")

    def __init__(self, client_id: str, certificate: bytes) -> None:
        self.client_id = client_id
        self.certificate = certificate
        self.method = AuthMethod.TLS_CLIENT_AUTH.value
        self.used: str | None = None
        self.reason = "malformed"

    def __repr__(self) -> str:
        return f"CertificateCredential(client_id={self.client_id!r})"

    def is_plausible(self) -> bool:
        return 0 < len(self.client_id) <= MAX_CLIENT_ID_LENGTH

    def waits(self, client: Client | None, checks: Checks, now: int) -> bool:
        return False  # nothing to guess: a certificate's key proved itself in the handshake

    def verify(self, client: Client | None, checks: Checks, now: int) -> Generator[Need, Any, bool]:
        try:
            if client is None:
                raise CertificateRefused("unknown_client")
            self.method = client.auth_method.value
            if not client.enabled:
                raise CertificateRefused("disabled")
            certificate = parse_certificate(self.certificate)
            if client.auth_method is AuthMethod.TLS_CLIENT_AUTH:
                # §2.1: PKI. Without a configured CA no chain can be trusted.
                if checks.client_ca is None:
                    raise CertificateRefused("no_client_ca")
                checks.client_ca.verify(certificate)
                check_pki_subject(certificate, client)
                return True
            if client.auth_method is AuthMethod.SELF_SIGNED_TLS_CLIENT_AUTH:
                # §2.2: no chain; the key must be one the client registered.
                keys: tuple[Any, ...] | None = yield ClientKeys(client, None)
                if keys is None:
                    raise CertificateRefused("keys_unavailable")
                self.used = key_credential_id(matching_key(certificate, keys).kid)
                return True
            raise CertificateRefused("wrong_method")
        except CertificateRefused as refused:
            self.reason = refused.reason
            return False


def certificate_credential(form: Mapping[str, str], certificate: bytes | None) -> CertificateCredential | None:
    """The certificate as the request's credential: only with a client_id in the form
    (RFC 8705 §2: "the client_id parameter ... MUST be included") and no other
    credential, which the caller has established."""
    if certificate is None:
        return None
    client_id = form.get("client_id")
    return CertificateCredential(client_id, certificate) if client_id is not None else None
