"""Where a request comes from, for brute-force counting: the socket's peer address,
or, when that peer is a trusted proxy (TOKENSMITH_TRUSTED_PROXIES), the address the
proxies recorded in X-Forwarded-For.

X-Forwarded-For is read from the right: each trusted proxy appends the address it
received the request from, so the rightmost address that is not a trusted proxy is
the first one no trusted party vouches for beyond, and that is the source. Anything
to its left may be forged by the client and is ignored. A request whose peer is not
a trusted proxy is judged by its peer address alone, whatever headers it carries.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_FORWARDED_HOPS = 32


def _parse(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class SourceAddresses:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted: tuple[IPNetwork, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in trusted_proxies)

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self._trusted)

    def is_trusted_peer(self, peer: str) -> bool:
        """Whether a socket peer address (as uvicorn gives it) is a trusted proxy."""
        address = _parse(peer)
        return address is not None and self._is_trusted(address)

    def of(self, scope: Scope) -> str:
        client = scope.get("client")
        peer_text = client[0] if client else ""
        if not self._trusted:
            return peer_text or "unknown"
        peer = _parse(peer_text)
        if peer is None or not self._is_trusted(peer):
            return str(peer) if peer is not None else (peer_text or "unknown")
        hops: list[str] = []
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                hops.extend(value.decode("latin-1").split(","))
        source: IPAddress = peer
        for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
            address = _parse(hop)
            if address is None:
                break  # garbage where a proxy should have written an address: stop at the last trusted hop
            source = address
            if not self._is_trusted(address):
                break
        return str(source)
