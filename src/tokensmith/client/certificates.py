"""A TLS client certificate (RFC 8705) for the token request and for API calls.

    cert = ClientCertificate("client.pem", "client.key", ca_file="server-ca.pem")
    auth = ClientCredentialsAuth(token_url, "my-client", certificate=cert)   # tls_client_auth
    with httpx.Client(auth=auth, verify=cert.ssl_context()) as api:          # API calls: same certificate
        api.get(url)
    session.cert = cert.requests_cert; session.verify = cert.requests_verify # requests

Given alone, the certificate authenticates the client (tls_client_auth or
self_signed_tls_client_auth: on the wire both are the client_id and the certificate);
beside a secret or an assertion it only binds the token (a client registered with
--token-binding mtls). A certificate-bound token works only over connections that
present the same certificate, so API calls must use it too."""

from __future__ import annotations

import os
import ssl

CERTIFICATE_METHODS = ("tls_client_auth", "self_signed_tls_client_auth")


class ClientCertificate:
    """Certificate and key files (PEM); read again for every connection context made,
    so a rotated pair on disk is used by the next token request."""

    __slots__ = ("_password", "auth_method", "ca_file", "cert_file", "key_file")

    def __init__(
        self,
        cert_file: str | os.PathLike[str],
        key_file: str | os.PathLike[str] | None = None,
        *,
        password: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        auth_method: str = "tls_client_auth",
    ) -> None:
        if auth_method not in CERTIFICATE_METHODS:
            raise ValueError(f"auth_method must be one of {CERTIFICATE_METHODS}, got {auth_method!r}")
        self.cert_file = os.fspath(cert_file)
        self.key_file = os.fspath(key_file) if key_file is not None else None
        self.ca_file = os.fspath(ca_file) if ca_file is not None else None  # the server's CA; None: the system's
        self._password = password
        self.auth_method = auth_method
        self.ssl_context()  # fail now on a missing file or a key that does not match

    def __repr__(self) -> str:  # the password, if any, never shown
        return f"ClientCertificate({self.cert_file!r}, {self.key_file!r}, auth_method={self.auth_method!r})"

    def ssl_context(self) -> ssl.SSLContext:
        """An httpx ``verify=`` context verifying the server as usual and presenting the
        certificate."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.load_cert_chain(self.cert_file, self.key_file, self._password)
        return context

    @property
    def requests_cert(self) -> str | tuple[str, str]:
        """requests' ``cert=`` (requests cannot use an encrypted key)."""
        return (self.cert_file, self.key_file) if self.key_file is not None else self.cert_file

    @property
    def requests_verify(self) -> str | bool:
        """requests' ``verify=``."""
        return self.ca_file if self.ca_file is not None else True
