"""Client certificates (RFC 8705): what a certificate proves about a client, and the
thumbprint a certificate-bound token carries. Pure: the DER arrives from http/ (the
TLS connection, or a trusted proxy's Client-Cert field), the CA from configuration.

- tls_client_auth (§2.1): the chain must verify against the configured client CA,
  and the certificate must carry the client's registered subject DN, or one of its
  registered DNS or URI subject alternative names (exactly one kind is registered).
- self_signed_tls_client_auth (§2.2): no chain is verified; the certificate's public
  key must be one of the client's registered JWKS keys.
- A bound token's `cnf` is {"x5t#S256": base64url(SHA-256(DER))} (§3.1).

Subject DNs are compared exactly (RFC 8705 §2.1.2 leaves the rule to the server):
both sides are parsed and rendered as RFC 4514 strings by `cryptography`, so
spacing, escaping and the ASN.1 string type do not matter, while attribute types,
their order, and every value (case included) must be equal. Stricter than LDAP's
caseIgnoreMatch, on purpose: a DN that differs in case is another DN here."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from tokensmith.domain.clients import Client
from tokensmith.jose import base64url
from tokensmith.jose.jwk import VerificationKey

MAX_DN_LENGTH = 1024  # the store's column
MAX_SAN_LENGTH = 512
MAX_SANS = 16
MAX_CERTIFICATE_BYTES = 16 * 1024  # a client certificate, DER; a chain is not accepted


class CertificateRefused(Exception):
    """Why a certificate does not prove the client: a metric label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def certificate_thumbprint(der: bytes) -> str:
    """RFC 8705 §3.1: x5t#S256, the base64url SHA-256 of the DER certificate."""
    return base64url.encode_text(hashlib.sha256(der).digest())


def parse_certificate(der: bytes) -> x509.Certificate:
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise CertificateRefused("malformed")
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise CertificateRefused("malformed") from None


def canonical_dn(text: str) -> str:
    """The RFC 4514 string of a subject DN as given at registration, or ValueError."""
    if not text or len(text) > MAX_DN_LENGTH:
        raise ValueError(f"a subject DN is 1 to {MAX_DN_LENGTH} characters")
    try:
        name = x509.Name.from_rfc4514_string(text)
    except ValueError as exc:
        raise ValueError(f"not an RFC 4514 distinguished name: {text!r} ({exc})") from None
    if not name.rdns:
        raise ValueError("a subject DN names at least one attribute")
    return name.rfc4514_string()


def check_tls_subject(auth_method_is_tls: bool, dn: str | None, san_dns: tuple[str, ...], san_uri: tuple[str, ...]) -> None:
    """RFC 8705 §2.1.2: a tls_client_auth client registers exactly one kind of subject
    value; no other client registers any (it would be a way in nobody checks)."""
    kinds = sum((dn is not None, bool(san_dns), bool(san_uri)))
    if not auth_method_is_tls:
        if kinds:
            raise ValueError("only a tls_client_auth client has a certificate subject (--tls-subject-dn, --tls-san-dns, --tls-san-uri)")
        return
    if kinds != 1:
        raise ValueError("a tls_client_auth client needs exactly one of --tls-subject-dn, --tls-san-dns, --tls-san-uri")
    for value in (*san_dns, *san_uri):
        if not value or len(value) > MAX_SAN_LENGTH or not value.isprintable() or " " in value:
            raise ValueError(f"not a subject alternative name: {value!r}")
    if len(san_dns) + len(san_uri) > MAX_SANS:
        raise ValueError(f"at most {MAX_SANS} subject alternative names")


class ClientCA:
    """The trust anchors tls_client_auth chains must verify against (PEM, one or
    more certificates: TOKENSMITH_TLS_CLIENT_CA). Verification is `cryptography`'s
    RFC 5280 path validation for a TLS client (the leaf's extended key usage, when
    present, must allow clientAuth), at the present time. Its web-PKI profile is
    relaxed for the leaf in two ways client certificates commonly need: a subject
    alternative name and an authority key identifier may be absent (a client
    registered by subject DN often has no SAN)."""

    def __init__(self, pem: bytes) -> None:
        anchors = x509.load_pem_x509_certificates(pem)
        self._store = Store(anchors)
        self._leaf_policy = (
            ExtensionPolicy.webpki_defaults_ee()
            .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
            .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
        )
        self._ca_policy = ExtensionPolicy.webpki_defaults_ca()

    def verify(self, certificate: x509.Certificate) -> None:
        # Only the leaf arrives (the TLS layer's getpeercert; RFC 9440 Client-Cert):
        # the CA file must hold the issuing CA itself.
        builder = PolicyBuilder().store(self._store).time(datetime.datetime.now(datetime.UTC))
        verifier = builder.extension_policies(ca_policy=self._ca_policy, ee_policy=self._leaf_policy).build_client_verifier()
        try:
            verifier.verify(certificate, [])
        except VerificationError:
            raise CertificateRefused("chain") from None


def _sans(certificate: x509.Certificate, kind: type[x509.DNSName] | type[x509.UniformResourceIdentifier]) -> list[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(value) for value in extension.value.get_values_for_type(kind)]


def check_pki_subject(certificate: x509.Certificate, client: Client) -> None:
    """RFC 8705 §2.1.2: the registered subject DN, or one registered SAN of its kind."""
    if client.tls_subject_dn is not None:
        if certificate.subject.rfc4514_string() != canonical_dn(client.tls_subject_dn):
            raise CertificateRefused("subject")
    elif client.tls_san_dns:
        # DNS names are case-insensitive (RFC 4343); exact otherwise, no wildcards.
        names = {name.lower() for name in _sans(certificate, x509.DNSName)}
        if not any(registered.lower() in names for registered in client.tls_san_dns):
            raise CertificateRefused("subject")
    elif client.tls_san_uri:
        uris = set(_sans(certificate, x509.UniformResourceIdentifier))
        if not uris.intersection(client.tls_san_uri):
            raise CertificateRefused("subject")
    else:
        raise CertificateRefused("subject")


def _spki(key: object) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined, no-any-return]


def matching_key(certificate: x509.Certificate, keys: Iterable[VerificationKey]) -> VerificationKey:
    """RFC 8705 §2.2: the registered key whose public key is the certificate's."""
    presented = _spki(certificate.public_key())
    for key in keys:
        if _spki(key.public_key) == presented:
            return key
    raise CertificateRefused("unknown_key")
