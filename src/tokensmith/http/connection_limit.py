"""How many connections one source address holds open in this worker process, and
whether it may open another (TOKENSMITH_MAX_CONNECTIONS_PER_ADDRESS).

Without a cap one address can open connections until the process runs out of file
descriptors, and then nobody else is served (RFC 9110 §15.6.4 lets a server refuse
with 503 while overloaded). The count is the peer's socket address: X-Forwarded-For
arrives only after the connection is accepted, and a connection from a trusted proxy
(TOKENSMITH_TRUSTED_PROXIES) carries many callers' requests, so those peers are not
capped here; the proxy bounds its own clients. IPv6 peers are counted by prefix
(TOKENSMITH_BRUTEFORCE_IPV6_PREFIX), since one host usually holds a whole /64.
"""

from __future__ import annotations

import ipaddress
from collections import Counter

from tokensmith.http.source_address import SourceAddresses


class ConnectionLimit:
    def __init__(self, cap: int, trusted_proxies: tuple[str, ...], ipv6_prefix: int) -> None:
        self._cap = cap  # 0: no cap
        self._trusted = SourceAddresses(trusted_proxies)
        self._ipv6_prefix = ipv6_prefix
        self._open: Counter[str] = Counter()

    def admit(self, peer: str | None) -> str | None:
        """The key the new connection from `peer` is counted under (give it back to
        `release` when the connection ends), None when it is over the cap and must be
        refused. Uncounted peers (no cap, a trusted proxy) get the empty key."""
        if self._cap == 0 or peer is None or self._trusted.is_trusted_peer(peer):
            return ""
        key = self._key(peer)
        if self._open[key] >= self._cap:
            return None
        self._open[key] += 1
        return key

    def release(self, key: str) -> None:
        if key and self._open[key] > 0:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]  # an address that left takes no memory

    def _key(self, peer: str) -> str:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return peer  # a Unix socket path or the like: counted as it is named
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, self._ipv6_prefix), strict=False))
        return str(address)
