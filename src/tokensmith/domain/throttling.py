"""Throttling as pure arithmetic: when failed authentications block a source, for how
long, and how a per-client issuance limit is counted. The counters themselves live
in the store (store/throttle_memory.py in one process, store/throttle_redis.py shared
by every node); this module only decides.

Brute force. Failed authentications are counted in a fixed window per source address
and per (source address, client id), never per client id alone: an attacker's
failures must not lock the real client out when it calls from elsewhere. Past a
limit, the key is blocked; each further block of the same key within the strike
memory lasts `backoff_factor` times longer, up to a maximum. The count of a blocked
key lasts until a whole window has passed after its block: one more failure right
after a block blocks again, so a persistent guesser gets one attempt per block.

Issuance limit. Tokens per minute per client, counted with a sliding window made of
two fixed windows: the previous window's count weighted by how much of it still
overlaps the last `window` seconds, plus the current window's count.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from dataclasses import dataclass
from enum import Enum


class Scope(str, Enum):
    ADDRESS = "address"  # every failure from one source address
    ADDRESS_CLIENT = "address_client"  # failures from one address for one client id


@dataclass(frozen=True)
class ThrottleKey:
    scope: Scope
    address: str
    client_id: str = ""

    def text(self) -> str:
        """A stable text form, for counter names and messages between nodes."""
        if self.scope is Scope.ADDRESS:
            return f"a|{self.address}"
        return f"c|{self.address}|{self.client_id}"

    @classmethod
    def from_text(cls, text: str) -> ThrottleKey | None:
        kind, _, rest = text.partition("|")
        if kind == "a" and rest:
            return cls(Scope.ADDRESS, rest)
        if kind == "c":
            address, sep, client_id = rest.partition("|")
            if sep and address:
                return cls(Scope.ADDRESS_CLIENT, address, client_id)
        return None


@dataclass(frozen=True)
class BruteForcePolicy:
    window_seconds: float = 60.0
    address_failures: int = 20
    client_failures: int = 10
    block_seconds: float = 30.0
    backoff_factor: float = 2.0
    max_block_seconds: float = 900.0
    strike_memory_seconds: float = 3600.0
    ipv6_prefix: int = 64

    def limit(self, key: ThrottleKey) -> int:
        """Failures allowed in one window; the next one blocks the key."""
        return self.address_failures if key.scope is Scope.ADDRESS else self.client_failures

    def block_duration(self, strikes: int) -> float:
        """How long the `strikes`-th block (1 for the first) within the strike memory lasts."""
        duration = self.block_seconds
        for _ in range(min(max(0, strikes - 1), 64)):
            if duration >= self.max_block_seconds:
                break
            duration *= self.backoff_factor
        return min(self.max_block_seconds, duration)

    def must_block(self, key: ThrottleKey, failures_in_window: int) -> bool:
        return failures_in_window > self.limit(key)

    def keys_for(self, address: str, client_id: str) -> tuple[ThrottleKey, ThrottleKey]:
        source = self.source_of(address)
        return ThrottleKey(Scope.ADDRESS, source), ThrottleKey(Scope.ADDRESS_CLIENT, source, client_id)

    def source_of(self, address: str) -> str:
        """The unit an address is counted as: itself for IPv4, its prefix for IPv6."""
        return _source_of(address, self.ipv6_prefix)


@functools.lru_cache(maxsize=65_536)  # parsing an address costs more than the rest of the check
def _source_of(address: str, ipv6_prefix: int) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if ipv6_prefix >= 128:
            return str(ip)
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)


def retry_after(seconds_left: float) -> int:
    """A Retry-After value (RFC 9110 §10.2.3): whole seconds, at least 1."""
    return max(1, math.ceil(seconds_left))


@dataclass(frozen=True)
class IssuanceDecision:
    allowed: bool
    retry_after_seconds: float = 0.0


def sliding_window_decision(
    limit: int, previous: int, current: int, elapsed: float, window: float
) -> IssuanceDecision:
    """May one more token be issued? `previous` and `current` are the counts of the
    previous and current fixed windows (the current one not yet including this
    request); `elapsed` is how far into the current window we are."""
    if limit <= 0:
        return IssuanceDecision(False, window)
    fraction = min(max(elapsed / window, 0.0), 1.0)
    estimate = previous * (1.0 - fraction) + current
    if estimate + 1 <= limit:
        return IssuanceDecision(True)
    return IssuanceDecision(False, _wait_until_room(limit, previous, current, fraction, window))


def _wait_until_room(limit: int, previous: int, current: int, fraction: float, window: float) -> float:
    room = limit - 1 - current  # what the previous window's share must fall to
    if room >= 0 and previous > 0:
        # Later in this window: previous * (1 - f) <= room.
        target = 1.0 - room / previous
        return max(0.0, (target - fraction) * window)
    # Only in the next window, where this window's count becomes the weighted one:
    # current * (1 - g) + 0 <= limit - 1.
    target = 1.0 - (limit - 1) / current if current > 0 else 0.0
    return (1.0 - fraction) * window + max(0.0, target) * window
