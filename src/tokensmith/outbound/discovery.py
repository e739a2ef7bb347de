"""A trusted issuer's jwks_uri from its discovery document (OpenID Connect Discovery
1.0 §4, or RFC 8414 §3 where the issuer has no OIDC document), fetched under the
same outbound policy as the keys themselves."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

from tokensmith.jose.jwk import VerificationKey
from tokensmith.outbound.fetch import Resolver, fetch_json, system_resolver
from tokensmith.outbound.key_sets import KeySets, KeysUnavailable, RemoteKeySet
from tokensmith.outbound.policy import FetchFailed, FetchRefused, OutboundPolicy, check_url
from tokensmith.outbound.single_flight import SingleFlight

logger = logging.getLogger("tokensmith.outbound")

_OIDC = "/.well-known/openid-configuration"
_OAUTH = "/.well-known/oauth-authorization-server"


def discovery_urls(issuer: str) -> tuple[str, str]:
    """OIDC Discovery §4.1 appends the well-known path to the issuer (its trailing '/'
    removed); RFC 8414 §3.1 inserts it between the host and the issuer's path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return issuer.rstrip("/") + _OIDC, urlunsplit((parts.scheme, parts.netloc, _OAUTH + path, "", ""))


async def discovered_jwks_uri(issuer: str, policy: OutboundPolicy, *, resolver: Resolver = system_resolver) -> str:
    """The jwks_uri the issuer's own metadata names. FetchRefused / FetchFailed as the
    fetch gives them, FetchFailed for metadata of another issuer or without a jwks_uri."""
    target = check_url(issuer, policy)
    if urlsplit(issuer).query:
        raise FetchRefused(f"issuer {target.host} has a query component")  # OIDC Discovery §3, RFC 8414 §2
    oidc, oauth = discovery_urls(issuer)
    try:
        metadata = await fetch_json(oidc, policy, resolver=resolver)
    except FetchFailed as exc:
        if exc.status != 404:
            raise
        metadata = await fetch_json(oauth, policy, resolver=resolver)
    # OIDC Discovery §4.3, RFC 8414 §3.3: exactly the issuer we trust, or we would be
    # taking another issuer's keys (a mix-up, or a document an attacker placed).
    if metadata.get("issuer") != issuer:
        raise _unusable(f"the metadata at {target.host} names a different issuer")
    jwks_uri = metadata.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise _unusable(f"the metadata at {target.host} has no jwks_uri")
    try:
        check_url(jwks_uri, policy)  # fetched under the same policy; refused now with a clear reason
    except FetchRefused as exc:
        logger.warning("the jwks_uri issuer %s names is refused: %s", target.host, exc.reason, extra={"host": target.host})
        raise
    return jwks_uri


def _unusable(reason: str) -> FetchFailed:
    logger.warning("issuer discovery failed: %s", reason)
    return FetchFailed(reason)


class DiscoveredKeySet:
    """A trusted issuer's keys, from the jwks_uri its metadata names. The jwks_uri is
    discovered on first use and again once per `max_age_seconds` of the key sets' times
    (at most one attempt per `min_refresh_seconds`); while rediscovery fails, the last
    discovered jwks_uri stays in use."""

    def __init__(self, issuer: str, key_sets: KeySets) -> None:
        self.issuer = issuer
        self._key_sets = key_sets
        self._clock = key_sets.clock
        self._remote: RemoteKeySet | None = None
        self._discovered_at = 0.0
        self._flight = SingleFlight(key_sets.times.min_refresh_seconds, key_sets.clock)

    @property
    def jwks_uri(self) -> str | None:
        return None if self._remote is None else self._remote.uri

    def _due(self) -> bool:
        if self._remote is not None and self._clock() - self._discovered_at < self._key_sets.times.max_age_seconds:
            return False
        return self._flight.may_start()

    def keys_now(self, kid: str | None) -> tuple[VerificationKey, ...] | None:
        if self._remote is None or self._due():
            return None
        return self._remote.keys_now(kid)

    async def keys(self, kid: str | None) -> tuple[VerificationKey, ...]:
        if self._due():
            await self._flight.run(self._discover)
        if self._remote is None:
            raise KeysUnavailable(f"the keys of issuer {urlsplit(self.issuer).hostname or '?'} could not be discovered")
        return await self._remote.keys(kid)

    async def _discover(self) -> None:
        try:
            uri = await discovered_jwks_uri(self.issuer, self._key_sets.policy, resolver=self._key_sets.resolver)
        except (FetchRefused, FetchFailed):
            return  # logged where it failed; a jwks_uri found before stays in use
        self._remote = self._key_sets.get(uri)
        self._discovered_at = self._clock()
