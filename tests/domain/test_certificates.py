"""The certificate rules of RFC 8705 (domain/certificates.py) and the Client-Cert
field's parsing (http/client_certificate.py), on certificates made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.certificates import CA, self_signed
from tokensmith.domain.certificates import CertificateRefused, ClientCA, canonical_dn, check_pki_subject, matching_key, parse_certificate
from tokensmith.domain.client_keys import AuthMethod
from tokensmith.domain.clients import Client
from tokensmith.domain.lifetimes import FixedLifetime
from tokensmith.http.client_certificate import client_cert_field
from tokensmith.jose.jwk import VerificationKey


def client(**fields: object) -> Client:
    return Client(
        client_id="c", name="", scopes=("edit",), default_scopes=("edit",), audiences=(), claims={}, lifetime=FixedLifetime(60),
        enabled=True, created_at=0, updated_at=0, auth_method=AuthMethod.TLS_CLIENT_AUTH, **fields,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CA:
    return CA.make(tmp_path_factory.mktemp("ca"))


def test_a_dn_is_compared_exactly_after_parsing(ca: CA) -> None:
    issued = ca.issue("c1", "CN=svc,O=Example")
    certificate = parse_certificate(issued.der)
    check_pki_subject(certificate, client(tls_subject_dn="CN=svc,O=Example"))
    check_pki_subject(certificate, client(tls_subject_dn=canonical_dn("CN=svc,O=Example")))
    for other in ("CN=SVC,O=Example", "O=Example,CN=svc", "CN=svc", "CN=svc,O=Example,C=DE", "CN=svc,OU=Example"):
        with pytest.raises(CertificateRefused):
            check_pki_subject(certificate, client(tls_subject_dn=other))


def test_dns_sans_ignore_case_and_uris_do_not(ca: CA) -> None:
    certificate = parse_certificate(ca.issue("c2", "CN=x", dns=("svc.example",), uris=("spiffe://example/svc",)).der)
    check_pki_subject(certificate, client(tls_san_dns=("other.example", "SVC.Example")))
    check_pki_subject(certificate, client(tls_san_uri=("spiffe://example/svc",)))
    for fields in ({"tls_san_dns": ("example",)}, {"tls_san_dns": ("*.example",)}, {"tls_san_uri": ("spiffe://EXAMPLE/svc",)}, {}):
        with pytest.raises(CertificateRefused):
            check_pki_subject(certificate, client(**fields))


def test_a_chain_must_end_at_the_client_ca(ca: CA, tmp_path: Path) -> None:
    trusted = ClientCA(ca.path.read_bytes())
    trusted.verify(parse_certificate(ca.issue("c3", "CN=x").der))  # no SAN: allowed for a client
    other = CA.make(tmp_path, "Other")
    for der in (other.issue("c4", "CN=x").der, self_signed(tmp_path, "s", "CN=x").der):
        with pytest.raises(CertificateRefused) as refused:
            trusted.verify(parse_certificate(der))
        assert refused.value.reason == "chain"


def test_a_self_signed_certificate_matches_its_own_key_only(tmp_path: Path) -> None:
    mine, theirs = self_signed(tmp_path, "a", "CN=a"), self_signed(tmp_path, "b", "CN=a")
    keys = (VerificationKey("k1", "ES256", mine.key.public_key()),)
    assert matching_key(parse_certificate(mine.der), keys).kid == "k1"
    with pytest.raises(CertificateRefused):
        matching_key(parse_certificate(theirs.der), keys)


@pytest.mark.parametrize("dn", ["", "CN=a, O=b", "not a dn", "CN"])
def test_a_dn_that_is_not_rfc_4514_is_refused(dn: str) -> None:
    with pytest.raises(ValueError):
        canonical_dn(dn)


def test_the_client_cert_field_is_one_byte_sequence(tmp_path: Path) -> None:
    issued = self_signed(tmp_path, "f", "CN=f")
    assert client_cert_field(issued.client_cert_field.encode()) == issued.der
    assert client_cert_field(b" " + issued.client_cert_field.encode() + b" ") == issued.der
    field = issued.client_cert_field.encode()
    for bad in (field.strip(b":"), field + b", " + field, b"::", field[:-2] + b"!:", field + b";a=1"):
        assert client_cert_field(bad) is None
    with pytest.raises(CertificateRefused):
        parse_certificate(b"\x30\x03garbage")
