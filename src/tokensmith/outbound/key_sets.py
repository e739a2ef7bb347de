"""Client and issuer public keys: a JWKS given inline, or fetched from a `jwks_uri`
and cached. Both answer the same two questions (KeySource): `keys_now(kid)` without
waiting, `await keys(kid)` when that says a fetch is due.

Rules for fetched sets (issue 11): cached for a bounded time (Cache-Control max-age
within [min_refresh, max_age]); an unknown `kid` refreshes at most once per
`min_refresh_seconds`, so a flood of made-up kids costs the key host one request
per interval; concurrent callers share one fetch; when a refresh fails the last good
keys stay in use for `max_stale_seconds` (stale-while-unreachable).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

from tokensmith.domain.client_keys import PRIVATE_MEMBERS
from tokensmith.jose.jwk import ALGORITHMS, UnusableKey, VerificationKey, parse_jwk
from tokensmith.outbound.fetch import Fetched, Resolver, fetch, system_resolver
from tokensmith.outbound.policy import MAX_URL_LENGTH, FetchFailed, FetchRefused, OutboundPolicy
from tokensmith.outbound.single_flight import SingleFlight

if TYPE_CHECKING:
    from tokensmith.outbound.discovery import DiscoveredKeySet

logger = logging.getLogger("tokensmith.outbound")
T = TypeVar("T")

MAX_KEYS = 64


class KeysUnavailable(Exception):
    """No usable keys at all: never fetched, or the last good ones are too old. The
    message names the host, never a token."""


class KeySource(Protocol):
    def keys_now(self, kid: str | None) -> tuple[VerificationKey, ...] | None:
        """The keys for kid (every key when kid is None; () when there is no such key),
        or None when only `await keys(kid)` can answer (a fetch is due)."""
        ...

    async def keys(self, kid: str | None) -> tuple[VerificationKey, ...]:
        """As keys_now, fetching first when due; KeysUnavailable when there are no
        usable keys at all."""
        ...


def _entries(document: Mapping[str, Any]) -> list[Any]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError("the JWKS has no 'keys' list")
    if len(entries) > MAX_KEYS:
        raise ValueError(f"the JWKS has {len(entries)} keys, more than {MAX_KEYS}")
    return entries


def _parse(entry: Any, number: int) -> tuple[VerificationKey, ...]:
    if not isinstance(entry, dict):
        raise UnusableKey("is not a JSON object")
    private = sorted(PRIVATE_MEMBERS & entry.keys())
    if private:
        # A published private key is compromised; never use any part of it.
        raise ValueError(f"key {number} has a private member {private[0]!r}")
    return parse_jwk(entry, ALGORITHMS)


def _lenient(document: Mapping[str, Any], host: str) -> tuple[VerificationKey, ...]:
    """A fetched JWKS: unusable and private keys skipped (and logged), not fatal."""
    found: list[VerificationKey] = []
    for number, entry in enumerate(_entries(document), start=1):
        try:
            found.extend(_parse(entry, number))
        except UnusableKey as exc:
            logger.info("skipping key %d of the JWKS at %s: %s", number, host, exc)
        except ValueError as exc:
            logger.warning("skipping a key of the JWKS at %s: %s", host, exc)
    return tuple(found)


@dataclass(frozen=True)
class _Indexed:
    """Keys and the same keys by kid (one JWK may give several: RS256 and PS256; RFC
    7517 §4.5 lets keys of different types share a kid)."""

    keys: tuple[VerificationKey, ...]
    by_kid: Mapping[str, tuple[VerificationKey, ...]]

    @classmethod
    def of(cls, keys: tuple[VerificationKey, ...]) -> _Indexed:
        by_kid: dict[str, tuple[VerificationKey, ...]] = {}
        for key in keys:
            by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        return cls(keys, by_kid)

    def select(self, kid: str | None) -> tuple[VerificationKey, ...]:
        return self.keys if kid is None else self.by_kid.get(kid, ())


@dataclass(frozen=True)
class KeySetTimes:
    """How long fetched keys are kept and how often they may be fetched again."""

    min_refresh_seconds: float = 60.0  # at most one fetch per this, whatever asks
    max_age_seconds: float = 300.0  # fresh for this (Cache-Control max-age within [min_refresh, this])
    max_stale_seconds: float = 86400.0  # then in use this much longer while refreshes fail

    @classmethod
    def from_settings(cls, settings: Any) -> KeySetTimes:
        return cls(settings.jwks_min_refresh_seconds, settings.jwks_max_age_seconds, settings.jwks_max_stale_seconds)

    def lifetime(self, max_age: int | None) -> float:
        longest = max(self.max_age_seconds, self.min_refresh_seconds)
        return longest if max_age is None else min(max(max_age, self.min_refresh_seconds), longest)


@dataclass(frozen=True)
class _Snapshot:
    """The last good fetch, replaced whole (readers never see half an update)."""

    keys: _Indexed
    fresh_until: float
    usable_until: float


def _host(uri: str) -> str:
    try:
        return urlsplit(uri).hostname or "?"
    except ValueError:
        return "?"


class RemoteKeySet:
    """The keys at one jwks_uri. Safe for the tasks of one event loop; keys_now is a
    plain read and may be called from any thread."""

    def __init__(
        self,
        uri: str,
        policy: OutboundPolicy,
        times: KeySetTimes = KeySetTimes(),
        *,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.uri = uri
        self._policy = policy
        self._times = times
        self._clock = clock
        self._resolver = resolver
        self._snapshot: _Snapshot | None = None
        self._flight = SingleFlight(times.min_refresh_seconds, clock)

    def keys_now(self, kid: str | None) -> tuple[VerificationKey, ...] | None:
        snapshot, now = self._snapshot, self._clock()
        if snapshot is None or now >= snapshot.usable_until:
            return None  # only keys() can say: fetch, or KeysUnavailable
        if now >= snapshot.fresh_until and self._flight.may_start():
            return None  # expired: refresh (a failed refresh leaves these in use)
        if kid is not None and kid not in snapshot.keys.by_kid and self._flight.may_start():
            return None  # unknown kid: the set may have rotated since
        return snapshot.keys.select(kid)

    async def keys(self, kid: str | None) -> tuple[VerificationKey, ...]:
        found = self.keys_now(kid)
        if found is not None:
            return found
        await self._flight.run(self._fetch)
        snapshot = self._snapshot
        if snapshot is None or self._clock() >= snapshot.usable_until:
            raise KeysUnavailable(f"no usable keys from {_host(self.uri)}")
        return snapshot.keys.select(kid)

    async def _fetch(self) -> None:
        host = _host(self.uri)
        try:
            fetched: Fetched = await fetch(self.uri, self._policy, resolver=self._resolver)
            keys = _lenient(fetched.document, host)
        except (FetchRefused, FetchFailed, ValueError) as exc:
            kept = self._snapshot is not None and self._clock() < self._snapshot.usable_until
            logger.warning("refreshing the JWKS at %s failed (%s); %s", host, exc, "the last good keys stay in use" if kept else "no keys")
            return
        now = self._clock()
        lifetime = self._times.lifetime(fetched.max_age)
        self._snapshot = _Snapshot(_Indexed.of(keys), now + lifetime, now + lifetime + self._times.max_stale_seconds)


class KeySets:
    """Every RemoteKeySet of this process, by URI, at most `capacity` of them (least
    recently used dropped first), so registering many URIs cannot grow memory; and the
    DiscoveredKeySet of each trusted issuer without a jwks_uri, bounded alike. Used
    from the event loop's tasks (not thread-safe)."""

    def __init__(
        self,
        policy: OutboundPolicy,
        times: KeySetTimes = KeySetTimes(),
        *,
        capacity: int = 1024,
        clock: Callable[[], float] = time.monotonic,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.policy = policy
        self.times = times
        self.clock = clock
        self.resolver = resolver
        self._capacity = capacity
        self._sets: OrderedDict[str, RemoteKeySet] = OrderedDict()
        self._issuers: OrderedDict[str, DiscoveredKeySet] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Any, *, capacity: int = 1024) -> KeySets:
        return cls(OutboundPolicy.from_settings(settings), KeySetTimes.from_settings(settings), capacity=capacity)

    def __len__(self) -> int:
        return len(self._sets)

    def get(self, uri: str) -> RemoteKeySet:
        """The key set at a jwks_uri (one per URI in this process)."""
        if len(uri) > MAX_URL_LENGTH:  # never fetched (check_url refuses it): not worth a slot
            return RemoteKeySet(uri, self.policy, self.times, clock=self.clock, resolver=self.resolver)
        return _lru(self._sets, uri, self._capacity, lambda: RemoteKeySet(uri, self.policy, self.times, clock=self.clock, resolver=self.resolver))

    def for_issuer(self, issuer: str) -> DiscoveredKeySet:
        """The keys of a trusted issuer, by discovery (discovery.py)."""
        from tokensmith.outbound.discovery import DiscoveredKeySet  # discovery builds on this module

        return _lru(self._issuers, issuer, self._capacity, lambda: DiscoveredKeySet(issuer, self))

    def for_trust(self, issuer: str, jwks_uri: str | None = None) -> KeySource:
        """A trusted issuer's keys: at its explicit jwks_uri, else by discovery. (A
        trust with `--jwks-file` has them already: domain/trusts.py Trust.registered_keys.)"""
        return self.get(jwks_uri) if jwks_uri else self.for_issuer(issuer)


def _lru(entries: OrderedDict[str, T], key: str, capacity: int, make: Callable[[], T]) -> T:
    found = entries.get(key)
    if found is not None:
        entries.move_to_end(key)
        return found
    found = entries[key] = make()
    while len(entries) > capacity:
        entries.popitem(last=False)
    return found
