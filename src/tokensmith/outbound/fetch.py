"""One GET of one JSON object under an OutboundPolicy (policy.py).

The host is resolved once, here; every address it gives must be allowed; the
connection then goes to those checked addresses and nowhere else (a network
backend pinned to them), so a DNS answer that changes between the check and the
connect (DNS rebinding) changes nothing. TLS still verifies the certificate
against the URL's host name: httpcore sends that name as SNI and checks it
(RFC 6125 §6), whatever address the socket reached. No redirects (each hop would
be a new, unchecked target), no proxies from the environment, no decompression,
one time bound for the whole fetch, the body cut at the policy's size.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpcore

from tokensmith import metrics
from tokensmith.jose.strict_json import NotAJsonObject, json_object
from tokensmith.outbound.policy import FetchFailed, FetchRefused, IPAddress, OutboundPolicy, Target, address_allowed, check_url

logger = logging.getLogger("tokensmith.outbound")

#: (host, port) -> the addresses a connection to it could reach.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_MAX_ADDRESSES = 32
_NETWORK_ERRORS = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException, httpcore.UnsupportedProtocol, OSError)


@dataclass(frozen=True)
class Fetched:
    document: dict[str, Any]
    # Cache-Control max-age in seconds when the answer gave one (no-store/no-cache: 0),
    # RFC 9111 §5.2.2.1; the caller bounds it.
    max_age: int | None


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses the operating system's resolver gives for host, in its order."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {host}: {exc.args[-1] if exc.args else exc}") from None
    addresses: list[IPAddress] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ipaddress.ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    return addresses


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    # The default context: CERT_REQUIRED, check_hostname, TLS 1.2 or later.
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the addresses checked for this fetch, in order."""

    def __init__(self, host: str, addresses: Iterable[IPAddress], policy: OutboundPolicy) -> None:
        self._host = host
        self._addresses = tuple(addresses)
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != self._host:  # only the checked origin: no redirect, no proxy
            raise httpcore.ConnectError(f"connection to unchecked host {host}")
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in self._addresses:
            if not address_allowed(address, self._policy):  # checked already; never connect unchecked
                raise httpcore.ConnectError(f"address {address} not allowed")
            try:
                return await self._inner.connect_tcp(str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in headers if key.lower() == name]


def _max_age(headers: list[tuple[bytes, bytes]]) -> int | None:
    found: int | None = None
    for value in _header(headers, b"cache-control"):
        for directive in value.split(","):
            name, _, argument = directive.strip().partition("=")
            name = name.strip().lower()
            if name in ("no-store", "no-cache"):
                return 0
            if name == "max-age":
                argument = argument.strip().strip('"')
                if argument.isascii() and argument.isdigit():
                    found = int(argument)
    return found


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


async def _addresses(target: Target, policy: OutboundPolicy, resolver: Resolver) -> list[IPAddress]:
    if target.literal is not None:
        return [target.literal]  # check_url checked it
    addresses = (await resolver(target.host, target.port))[:_MAX_ADDRESSES]
    if not addresses:
        raise FetchFailed(f"cannot resolve {target.host}: no address")
    # Every address: a resolver may answer one public and one internal address, and
    # which of them a connection reaches is not ours to choose.
    for address in addresses:
        if not address_allowed(address, policy):
            raise FetchRefused(f"host {target.host} resolves to {address}, which is not allowed (loopback, private, link-local or reserved)")
    return addresses


async def _get(target: Target, policy: OutboundPolicy, resolver: Resolver) -> Fetched:
    addresses = await _addresses(target, policy, resolver)
    try:
        context = _ssl_context(policy.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise FetchFailed(f"cannot load the CA file: {_short(exc)}") from None
    url = httpcore.URL(scheme=target.scheme.encode(), host=target.host.encode(), port=target.port, target=target.path.encode())
    headers = [
        (b"Host", target.authority.encode()),
        (b"Accept", b"application/json, application/jwk-set+json"),
        (b"Accept-Encoding", b"identity"),  # never a decompression bomb
        (b"User-Agent", b"tokensmith"),
    ]
    seconds = policy.timeout_seconds
    extensions = {"timeout": {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}}
    backend = _PinnedBackend(target.host, addresses, policy)
    try:
        async with (
            httpcore.AsyncConnectionPool(ssl_context=context, network_backend=backend, max_connections=1, retries=0) as pool,
            pool.stream("GET", url, headers=headers, extensions=extensions) as response,
        ):
            status = response.status
            if 300 <= status < 400:
                raise FetchFailed(f"redirects are not followed (HTTP {status} from {target.host})", status)
            if status != 200:
                raise FetchFailed(f"HTTP {status} from {target.host}", status)
            for length in _header(response.headers, b"content-length"):  # h11 has checked its syntax
                if length.strip().isascii() and length.strip().isdigit() and int(length) > policy.max_bytes:
                    raise FetchFailed(f"answer from {target.host} larger than {policy.max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_stream():
                body += chunk
                if len(body) > policy.max_bytes:
                    raise FetchFailed(f"answer from {target.host} larger than {policy.max_bytes} bytes")
            max_age = _max_age(response.headers)
    except _NETWORK_ERRORS as exc:
        raise FetchFailed(f"fetch from {target.host} failed: {_short(exc)}") from None
    try:
        return Fetched(json_object(bytes(body)), max_age)
    except NotAJsonObject as exc:
        raise FetchFailed(f"answer from {target.host} is not a strict JSON object ({exc})") from None


def _host_for_log(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "?"
    return host if host and len(host) <= 253 and host.isascii() and host.isprintable() else "?"


async def fetch(url: str, policy: OutboundPolicy, *, resolver: Resolver = system_resolver) -> Fetched:
    """The JSON object at url and its Cache-Control max-age; FetchRefused when the
    policy forbids it (nothing sent), FetchFailed when it gave nothing usable."""
    host = _host_for_log(url)
    try:
        target = check_url(url, policy)
        host = target.host
        try:
            async with asyncio.timeout(policy.timeout_seconds):
                fetched = await _get(target, policy, resolver)
        except TimeoutError:
            raise FetchFailed(f"no complete answer from {host} within {policy.timeout_seconds:g} s") from None
    except FetchRefused as exc:
        metrics.incrementer(metrics.outbound_fetches, "refused")()
        logger.warning("outbound fetch refused: %s", exc.reason, extra={"host": host})
        raise
    except FetchFailed as exc:
        metrics.incrementer(metrics.outbound_fetches, "failed")()
        logger.warning("outbound fetch failed: %s", exc.reason, extra={"host": host})
        raise
    metrics.incrementer(metrics.outbound_fetches, "ok")()
    return fetched


async def fetch_json(url: str, policy: OutboundPolicy, *, resolver: Resolver = system_resolver) -> dict[str, Any]:
    """The JSON object at url (see fetch)."""
    return (await fetch(url, policy, resolver=resolver)).document
