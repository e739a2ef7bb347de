"""The workbench of the JWT attack harness (tests/security/test_jwt_catalogue.py): a
real token from a running tokensmith, its server's private key read from the store
(as only an insider could), an attacker's RSA key with its JWK and a self-signed
certificate, and a loopback server recording any fetch of the attacker's JWKS.

Catalogue cases (tests/security/jwt_catalogues/) are functions `Lab -> token`."""

from __future__ import annotations

import datetime
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from tests.support.jws import Signer, claims_of, compact, header_of, jwk_pem, rs256, rsa_public_jwk, segment, server_signing_key
from tests.support.server import Tokensmith


class Recorder:
    """Another server on loopback, standing by with the attacker's JWKS; it records
    every request so a test can prove nobody fetched anything from it."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.paths: list[str] = []
        recorder = self
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                recorder.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Lab:
    """Everything an attacker (or an insider) builds forgeries from."""

    token: str  # a real token of the server
    header: dict[str, Any]  # its header
    claims: dict[str, Any]  # its claims
    kid: str
    server_jwk: dict[str, Any]  # as published in the JWKS
    insider_key: rsa.RSAPrivateKey  # the server's own private key
    attacker_key: rsa.RSAPrivateKey
    attacker_jwk: dict[str, Any]
    certificate_der: bytes  # self-signed, for the attacker's key
    recorder: Recorder
    marker: Path  # must never be created by a kid "command"
    now: int

    @property
    def insider(self) -> Signer:
        return rs256(self.insider_key)

    @property
    def attacker(self) -> Signer:
        return rs256(self.attacker_key)

    @property
    def signature(self) -> str:
        """The real token's signature segment."""
        return self.token.split(".")[2]

    def with_header(self, **fields: Any) -> dict[str, Any]:
        """The real header with fields changed; a field set to `...` is removed."""
        return {k: v for k, v in {**self.header, **fields}.items() if v is not ...}

    def doctored(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """The real token with header fields or claims changed, re-signed by the
        server's own key, so only the check under attack can refuse it. A claim set
        to `...` is removed."""
        new_claims = {k: v for k, v in {**self.claims, **claims}.items() if v is not ...}
        return compact(header or self.header, new_claims, self.insider)

    def original_signature(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        return f"{segment(header)}.{segment(claims)}.{self.signature}"

    def tampered(self, **claims: Any) -> str:
        """Claims changed, the real token's signature kept."""
        return self.original_signature(self.header, {**self.claims, **claims})

    def header_json(self, text: str) -> bytes:
        """Header JSON text as written (KID stands for the real kid)."""
        return text.replace("KID", self.kid).encode()

    def payload_json(self, **replace: str) -> bytes:
        """The real claims as JSON text, with some members' JSON text replaced."""
        members = {name: json.dumps(value) for name, value in self.claims.items()}
        members.update(replace)
        return ("{" + ",".join(f'"{name}":{text}' for name, text in members.items()) + "}").encode()

    def pem(self, fmt: PublicFormat) -> bytes:
        return jwk_pem(self.server_jwk, fmt)

    def spelled(self, header: str | None = None, payload: str | None = None, signature: str | None = None) -> str:
        """The real token with one of its segments spelled differently."""
        parts = self.token.split(".")
        return ".".join(part if new is None else new for part, new in zip(parts, (header, payload, signature), strict=True))


def self_signed_certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokensmith.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def attacker_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    return rsa_public_jwk(key.public_key(), "attacker-key")


def make_lab(server: Tokensmith, token: str, attacker_key: rsa.RSAPrivateKey, recorder: Recorder, marker: Path) -> Lab:
    header = header_of(token)
    jwks = httpx.get(f"{server.url}/.well-known/jwks.json").json()
    return Lab(
        token=token,
        header=header,
        claims=claims_of(token),
        kid=header["kid"],
        server_jwk=next(key for key in jwks["keys"] if key["kid"] == header["kid"]),
        insider_key=server_signing_key(server, header["kid"]),
        attacker_key=attacker_key,
        attacker_jwk=attacker_jwk(attacker_key),
        certificate_der=self_signed_certificate(attacker_key),
        recorder=recorder,
        marker=marker,
        now=int(time.time()),
    )
