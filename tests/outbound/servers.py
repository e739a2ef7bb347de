"""Real HTTPS servers on 127.0.0.1 for the outbound tests: a throwaway CA made with
`cryptography`, certificates for whatever names a test wants, and a threaded server
that counts every TCP connection it accepts and every request per path, so a test can
prove that a refused fetch never reached it."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tokensmith.outbound.policy import IPAddress

Route = Callable[[BaseHTTPRequestHandler], None]


class Pki:
    """A CA (its certificate in `ca_file`) that issues server certificates."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokensmith outbound test CA")])
        now = datetime.datetime.now(datetime.UTC)
        public = self._key.public_key()
        self._ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = str(directory / "ca.pem")
        Path(self.ca_file).write_bytes(self._ca.public_bytes(serialization.Encoding.PEM))
        self._issued = 0

    def server_context(self, names: Iterable[str]) -> ssl.SSLContext:
        """A server TLS context whose certificate names exactly `names` (DNS names or
        IP addresses in the subjectAltName)."""
        key = ec.generate_private_key(ec.SECP256R1())
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound test server")]))
            .issuer_name(self._ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self._issued += 1
        cert_file = self.directory / f"server-{self._issued}.pem"
        key_file = self.directory / f"server-{self._issued}.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context


def json_route(document: Any, headers: dict[str, str] | None = None) -> Route:
    return raw_route(json.dumps(document).encode(), headers=headers)


def raw_route(body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def redirect_route(location: str, status: int = 302) -> Route:
    return raw_route(b"", status=status, headers={"Location": location})


def stream_route(total: int) -> Route:
    """`total` bytes of a JSON-looking body, with no Content-Length (read to the close)."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.end_headers()
        sent = 0
        try:
            handler.wfile.write(b'{"keys": "')
            while sent < total:
                handler.wfile.write(b"a" * 16384)
                sent += 16384
        except OSError:
            pass  # the client hung up, as it should

    return answer


def trickle_route(interval: float, total: int = 1000) -> Route:
    """A head, then one byte of the body every `interval` seconds: each read is quick,
    the whole never ends in time."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        try:
            for _ in range(total):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:
            pass

    return answer


class TestServer:
    """HTTPS (or plain HTTP, `context=None`) on 127.0.0.1:<free port> from daemon threads."""

    __test__ = False  # not a pytest class

    def __init__(self, context: ssl.SSLContext | None, routes: dict[str, Route] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.connections = 0
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()  # stalled answers wait for it
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.do_handshake()

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[path] += 1
                route = server.routes.get(path)
                if route is None:
                    raw_route(b'{"error": "not found"}', status=404)(self)
                else:
                    route(self)

        class _Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = self.socket.accept()
                with server._lock:
                    server.connections += 1
                if context is not None:
                    sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client refusing our certificate, hanging up: expected here

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self.port: int = self._httpd.server_address[1]
        self.scheme = "https" if context is not None else "http"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        self._stopped = False

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def stall_route(self) -> Route:
        """The head and the start of a body, then nothing until `release` is set."""

        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", "1000")
            handler.end_headers()
            handler.wfile.write(b'{"keys": [')
            handler.wfile.flush()
            self.release.wait(30)

        return answer

    def stop(self) -> None:
        """Closes the listening socket: later connections are refused."""
        if not self._stopped:
            self._stopped = True
            self.release.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(5)


class StaticResolver:
    """Answers names from a table (as a DNS server under an attacker's control
    would), and counts how often it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        return [ipaddress.ip_address(address) for address in self.table.get(host, [])]
