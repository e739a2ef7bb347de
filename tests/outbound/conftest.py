"""Fixtures: one CA per module, servers stopped after each test, and the policy the
tests fetch under (loopback allowed, the test CA trusted)."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterator

import pytest

from tests.outbound.servers import Pki, Route, TestServer
from tokensmith.outbound.policy import OutboundPolicy

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls(pki: Pki) -> ssl.SSLContext:
    """A certificate for localhost and 127.0.0.1."""
    return pki.server_context(["localhost", "127.0.0.1"])


@pytest.fixture
def loopback_policy(pki: Pki) -> OutboundPolicy:
    return OutboundPolicy(allowed_networks=LOOPBACK, ca_file=pki.ca_file, timeout_seconds=5)


@pytest.fixture
def strict_policy(pki: Pki) -> OutboundPolicy:
    """The defaults (nothing private allowed), trusting the test CA."""
    return OutboundPolicy(ca_file=pki.ca_file)


@pytest.fixture
def serve(tls: ssl.SSLContext) -> Iterator[Callable[..., TestServer]]:
    """serve(routes, context=...) starts a server; every one is stopped afterwards."""
    started: list[TestServer] = []

    def start(routes: dict[str, Route] | None = None, context: ssl.SSLContext | str | None = "default") -> TestServer:
        server = TestServer(tls if context == "default" else context, routes)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
