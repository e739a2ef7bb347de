"""Certificates the mTLS tests make with `cryptography`: CAs, server and client
certificates signed by them, and self-signed ones, written as PEM files."""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from tokensmith.jose.jwk import public_jwk

_NOW = datetime.datetime.now(datetime.UTC)


def _name(dn: str) -> x509.Name:
    return x509.Name.from_rfc4514_string(dn)


@dataclass
class Issued:
    """A certificate with its key, as PEM files in `directory`."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def thumbprint(self) -> str:
        """RFC 8705 §3.1 x5t#S256."""
        return base64.urlsafe_b64encode(hashlib.sha256(self.der).digest()).rstrip(b"=").decode()

    @property
    def client_cert_field(self) -> str:
        """RFC 9440 Client-Cert: the DER as an RFC 8941 byte sequence."""
        return ":" + base64.b64encode(self.der).decode() + ":"

    @property
    def pair(self) -> tuple[str, str]:
        """(certificate file, key file): httpx's and requests' `cert=`."""
        return str(self.cert_path), str(self.key_path)

    def jwk(self, kid: str) -> dict[str, str]:
        return {**public_jwk(self.key.public_key()), "kid": kid, "alg": "ES256", "use": "sig"}


def _write(directory: Path, stem: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Issued(certificate, key, cert_path, key_path)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(minutes=5))
        .not_valid_after(_NOW + datetime.timedelta(days=2))
    )


_CA_USAGE = x509.KeyUsage(
    digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, encipher_only=False, decipher_only=False,
)  # fmt: skip


@dataclass
class CA:
    issued: Issued
    directory: Path

    @classmethod
    def make(cls, directory: Path, name: str = "Test CA") -> CA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(f"CN={name}")
        certificate = (
            _builder(subject, subject, key)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_CA_USAGE, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        stem = name.lower().replace(" ", "-")
        return cls(_write(directory, stem, certificate, key), directory)

    @property
    def path(self) -> Path:
        return self.issued.cert_path

    def issue(self, stem: str, dn: str, *, dns: tuple[str, ...] = (), uris: tuple[str, ...] = (), server: bool = False) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = _builder(_name(dn), self.issued.certificate.subject, key).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issued.key.public_key()), critical=False
        )
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
        names += [x509.UniformResourceIdentifier(uri) for uri in uris]
        if server:
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return _write(self.directory, stem, builder.sign(self.issued.key, hashes.SHA256()), key)


def self_signed(directory: Path, stem: str, dn: str) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _builder(_name(dn), _name(dn), key).sign(key, hashes.SHA256())
    return _write(directory, stem, certificate, key)
