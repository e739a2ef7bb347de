"""What tokensmith may fetch: the SSRF rules for every URL an operator or client
registered (a `jwks_uri`, a trusted issuer's discovery document), DESIGN §9.

Only https to globally reachable addresses, unless the operator widens it
(`TOKENSMITH_OUTBOUND_ALLOW_HTTP`, `TOKENSMITH_OUTBOUND_ALLOWED_NETWORKS`). The rules
are on the address a connection would go to, never on the host name: a name is
whatever its DNS says it is (fetch.py resolves, checks, then connects to the
checked address itself).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048


class FetchRefused(Exception):
    """The policy forbids this fetch; nothing was sent. The message names the rule
    and the host, never the URL's path or query (which may carry a credential)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchFailed(Exception):
    """The fetch was allowed but gave no usable JSON object: unreachable, timed out,
    a status other than 200 (`status` holds it), too big, not strict JSON."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class OutboundPolicy:
    allow_http: bool = False
    # An address inside one of these is allowed whatever the rules below say (tests,
    # development, an issuer on a private network the operator chose to trust).
    allowed_networks: tuple[IPNetwork, ...] = ()
    timeout_seconds: float = 5.0  # the whole fetch: resolution, connect, TLS, body
    max_bytes: int = 256 * 1024
    ca_file: str | None = None  # trusted besides the certifi bundle (private PKI, tests)

    @classmethod
    def from_settings(cls, settings: Any) -> OutboundPolicy:
        """From tokensmith.config.Settings (its outbound_* fields)."""
        return cls(
            allow_http=settings.outbound_allow_http,
            allowed_networks=tuple(ipaddress.ip_network(entry, strict=False) for entry in settings.outbound_allowed_networks),
            timeout_seconds=settings.outbound_timeout_seconds,
            max_bytes=settings.outbound_max_bytes,
            ca_file=settings.outbound_ca_file,
        )


def _networks(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# IANA IPv4 Special-Purpose Address Registry (RFC 6890) and friends: nothing here is a
# public web server. Cloud metadata endpoints all live inside these: 169.254.169.254
# (AWS, GCP, Azure, ...), 169.254.170.2 (ECS), 100.100.100.200 (Alibaba), 192.0.0.192 (Oracle).
_FORBIDDEN_V4 = _networks(
    "0.0.0.0/8",  # "this network", unspecified (RFC 1122 §3.2.1.3): 0.0.0.0 reaches localhost
    "10.0.0.0/8",  # private (RFC 1918)
    "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (RFC 3927), cloud metadata
    "172.16.0.0/12",  # private (RFC 1918)
    "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
    "192.0.2.0/24",  # documentation (RFC 5737)
    "192.88.99.0/24",  # 6to4 relay anycast (RFC 7526)
    "192.168.0.0/16",  # private (RFC 1918)
    "198.18.0.0/15",  # benchmarking (RFC 2544)
    "198.51.100.0/24",  # documentation (RFC 5737)
    "203.0.113.0/24",  # documentation (RFC 5737)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved (RFC 1112), with 255.255.255.255 broadcast
)

# IPv6: only global unicast (2000::/3, RFC 4291 §2.4) less its special-purpose blocks.
# That leaves out ::1, ::, fc00::/7 (ULA, incl. fd00:ec2::254, AWS metadata),
# fe80::/10, fec0::/10, ff00::/8 and every reserved block at once.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_FORBIDDEN_V6 = _networks(
    "2001::/23",  # IETF protocol assignments, Teredo (RFC 2928, RFC 4380)
    "2001:db8::/32",  # documentation (RFC 3849)
    "3fff::/20",  # documentation (RFC 9637)
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries, which is where a packet to it goes:
    IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::).
    (IPv4-compatible ::a.b.c.d, deprecated by RFC 4291 §2.5.5.1, is simply refused:
    it is outside 2000::/3.)"""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _globally_reachable(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return not any(address in network for network in _FORBIDDEN_V4)
    inner = embedded_ipv4(address)
    if inner is not None:
        return _globally_reachable(inner)
    return address in _GLOBAL_UNICAST_V6 and not any(address in network for network in _FORBIDDEN_V6)


def address_allowed(address: IPAddress, policy: OutboundPolicy) -> bool:
    """May tokensmith connect to this address? Globally reachable unicast only, unless
    the address (or the IPv4 address it embeds) is inside one of the allowed networks."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(address.compressed.split("%", 1)[0])
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        candidates.append(inner)
    for candidate in candidates:
        if any(candidate.version == network.version and candidate in network for network in policy.allowed_networks):
            return True
    return _globally_reachable(address)


# Anything a resolver might read as a number (127.1, 0x7f.1, 2130706433, 0177.0.0.1)
# must be a canonical dotted quad: inet_aton's forms are how SSRF filters get bypassed.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$")


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect and what to ask for."""

    scheme: str
    host: str  # lowercase name, or an address without brackets
    port: int
    literal: IPAddress | None  # the host when it is an address
    authority: str  # the Host header: host[:port] as written (RFC 9110 §7.2)
    path: str  # the request target: path and query (RFC 9112 §3.2.1)


def check_url(url: str, policy: OutboundPolicy) -> Target:
    """The URL's own rules; FetchRefused for anything else. Addresses are checked later,
    once known (fetch.py), but a literal address is checked here too."""
    if len(url) > MAX_URL_LENGTH:
        raise FetchRefused(f"URL longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise FetchRefused("URL has characters outside printable ASCII")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused("URL is not well-formed (host or port)") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise FetchRefused("not an absolute http(s) URL")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchRefused("URL has no host")
    if "@" in parts.netloc:
        raise FetchRefused(f"URL for host {host} has userinfo")  # RFC 9110 §4.2.4
    if parts.fragment or url.endswith("#"):
        raise FetchRefused(f"URL for host {host} has a fragment")
    if scheme == "http" and not policy.allow_http:
        raise FetchRefused(f"plain http to {host} is not allowed (https only)")
    if port == 0:
        raise FetchRefused(f"URL for host {host} has port 0")
    literal: IPAddress | None = None
    if parts.netloc.split("@")[-1].startswith("["):
        if "%" in host:
            raise FetchRefused("IPv6 zone identifiers are not allowed")
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            raise FetchRefused("URL host is not a valid IPv6 address") from None
    elif _NUMERIC_HOST.match(host):
        try:
            literal = ipaddress.IPv4Address(host)
        except ValueError:
            raise FetchRefused(f"host {host} is not a canonical IPv4 address") from None
    elif not _HOST_NAME.match(host):
        raise FetchRefused(f"host {host!r} is not a valid host name")
    if literal is not None and not address_allowed(literal, policy):
        raise FetchRefused(f"address {literal} is not allowed (loopback, private, link-local or reserved)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), literal, parts.netloc, path)
