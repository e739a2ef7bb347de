"""Issuer signing keys: discovery (RFC 8414), parsing (RFC 7517/7518) and caching.

Security-relevant rules enforced here:

* Each key is bound to the algorithms its type can legitimately produce
  (RFC 8725 §3.1): RSA → RS256/PS256, EC P-256 → ES256, OKP Ed25519 → EdDSA;
  one VerificationKey (tokensmith.jose.jwk) per algorithm.
  Symmetric (``oct``) keys are never loaded, so no token can be checked
  with HMAC against public key material.
* A JWK's own ``alg`` narrows that set further; ``use`` other than ``sig``
  and ``key_ops`` without ``verify`` exclude the key.
* Refreshes happen on TTL expiry or an unknown ``kid``, but never more than
  once per ``min_refresh_interval``: a flood of tokens with random ``kid``
  values costs the issuer one request per interval, not one per token.
* A failed refresh keeps the previously fetched keys in service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tokensmith.client._concurrency import LoopLocalLock
from tokensmith.jose.jwk import ALGORITHMS, PublicKey, UnusableKey, VerificationKey, parse_jwk
from tokensmith.jose.strict_json import NotAJsonObject, json_object
from tokensmith.verify.errors import InvalidToken, VerifierUnavailable

logger = logging.getLogger("tokensmith.verify")

__all__ = ["SUPPORTED_ALGORITHMS", "JwksCache", "PublicKey", "UnusableKey", "VerificationKey", "metadata_url", "parse_jwk", "parse_jwks"]

#: Every algorithm the verifier can ever accept. HS* and "none" are absent on purpose.
SUPPORTED_ALGORITHMS: frozenset[str] = ALGORITHMS
_MAX_DOCUMENT_BYTES = 1024 * 1024
_METADATA_PATH = "/.well-known/oauth-authorization-server"


class _FetchFailed(Exception):
    pass


def parse_jwks(document: Mapping[str, Any], allowed_algorithms: Iterable[str]) -> dict[str, tuple[VerificationKey, ...]]:
    """Index usable keys by kid. Unusable keys are skipped (and logged), not fatal."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise _FetchFailed("JWKS document has no 'keys' list")
    allowed = frozenset(allowed_algorithms)
    index: dict[str, list[VerificationKey]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        try:
            keys = parse_jwk(entry, allowed)
        except UnusableKey as exc:
            logger.info("ignoring JWKS entry kid=%r: %s", entry.get("kid"), exc)
            continue
        index.setdefault(keys[0].kid, []).extend(keys)
    return {kid: tuple(keys) for kid, keys in index.items()}


def metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between host and issuer path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, _METADATA_PATH + path, "", ""))


class JwksCache:
    """Thread- and task-safe cache of one issuer's verification keys.

    Sync callers fetch with ``httpx.Client``, async callers with
    ``httpx.AsyncClient``; both read and write the same cache. Unless clients
    are injected, a short-lived client is opened per fetch: fetches are rare
    and this leaves nothing to close.
    """

    def __init__(
        self,
        issuer: str,
        *,
        jwks_url: str | None = None,
        algorithms: Iterable[str] = SUPPORTED_ALGORITHMS,
        cache_ttl: float = 300.0,
        min_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._jwks_url = jwks_url
        self._algorithms = frozenset(algorithms)
        self._cache_ttl = cache_ttl
        self._min_refresh_interval = min_refresh_interval
        self._timeout = timeout
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._clock = clock

        self._state_lock = threading.Lock()  # guards _last_attempt; never held during I/O
        # The keys and when they were fetched, replaced as one tuple so that readers need
        # no lock (one attribute read is atomic); fetched_at is meaningful once keys is set.
        self._snapshot: tuple[dict[str, tuple[VerificationKey, ...]] | None, float] = (None, 0.0)
        self._last_attempt: float | None = None
        # Single-flight: one refresh at a time per sync/async world.
        self._sync_refresh_lock = threading.Lock()
        self._async_refresh_lock = LoopLocalLock()

    # -- public -----------------------------------------------------------

    def keys_for(self, kid: str) -> tuple[VerificationKey, ...]:
        """Keys published under ``kid``, refreshing (rate-limited) if needed."""
        keys, fetched_at = self._snapshot  # the fast path: cached and fresh
        if keys is not None and kid in keys and self._clock() - fetched_at < self._cache_ttl:
            return keys[kid]
        status = self._status(kid)
        if status == "stale":
            # Usable but old: one caller refreshes, the rest carry on with the
            # cached key instead of queueing behind a possibly slow issuer.
            if self._claim_refresh():
                with self._sync_refresh_lock:
                    self._refresh_sync()
        elif status == "missing":
            # Wait for any refresh in flight: it may bring exactly this kid.
            with self._sync_refresh_lock:
                if self._status(kid) == "missing" and self._claim_refresh():
                    self._refresh_sync()
        return self._select(kid)

    async def keys_for_async(self, kid: str) -> tuple[VerificationKey, ...]:
        found = self._fresh(kid)
        if found:
            return found
        status = self._status(kid)
        if status == "stale":
            if self._claim_refresh():
                async with self._async_refresh_lock.get():
                    await self._refresh_async()
        elif status == "missing":
            async with self._async_refresh_lock.get():
                if self._status(kid) == "missing" and self._claim_refresh():
                    await self._refresh_async()
        return self._select(kid)

    # -- cache state ------------------------------------------------------
    # Sync and async callers use separate refresh locks (a thread cannot
    # await an asyncio lock), but both claim refreshes through
    # _claim_refresh, so the rate limit holds across the two.

    def _fresh(self, kid: str) -> tuple[VerificationKey, ...] | None:
        """The keys for ``kid`` when they are cached and fresh: every token's fast path."""
        keys, fetched_at = self._snapshot
        if keys is None or self._clock() - fetched_at >= self._cache_ttl:
            return None
        return keys.get(kid)

    def _status(self, kid: str) -> str:
        keys, fetched_at = self._snapshot
        if keys is None or kid not in keys:
            return "missing"
        if self._clock() - fetched_at >= self._cache_ttl:
            return "stale"
        return "fresh"

    def _claim_refresh(self) -> bool:
        """Record a refresh attempt now, unless one was made too recently."""
        with self._state_lock:
            now = self._clock()
            if self._last_attempt is not None and now - self._last_attempt < self._min_refresh_interval:
                return False
            self._last_attempt = now
            return True

    def _install(self, keys: dict[str, tuple[VerificationKey, ...]]) -> None:
        self._snapshot = (keys, self._clock())

    def _select(self, kid: str) -> tuple[VerificationKey, ...]:
        keys = self._snapshot[0]
        if keys is None:
            raise VerifierUnavailable("the issuer's signing keys could not be retrieved")
        found = keys.get(kid)
        if not found:
            # The kid is only ever a dictionary key: never a path, URL or query.
            raise InvalidToken("token is signed with an unknown key (kid)")
        return found

    def _failed(self, exc: Exception) -> None:
        keys = self._snapshot[0]
        cached = sum(len(v) for v in keys.values()) if keys is not None else 0
        logger.warning("refreshing signing keys for %s failed (%s); %d cached keys stay in use", self.issuer, exc, cached)

    # -- sync I/O ---------------------------------------------------------

    def _refresh_sync(self) -> None:
        try:
            url = self._jwks_url or self._discover_sync()
            keys = parse_jwks(self._get_json_sync(url), self._algorithms)
        except (httpx.HTTPError, _FetchFailed, NotAJsonObject) as exc:
            self._failed(exc)
            return
        self._install(keys)

    def _discover_sync(self) -> str:
        url = self._jwks_uri_from(self._get_json_sync(metadata_url(self.issuer)))
        self._jwks_url = url
        return url

    def _get_json_sync(self, url: str) -> dict[str, Any]:
        if self._http_client is not None:
            return self._read_sync(self._http_client, url)
        with httpx.Client(timeout=self._timeout) as client:
            return self._read_sync(client, url)

    @staticmethod
    def _read_sync(client: httpx.Client, url: str) -> dict[str, Any]:
        with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            _check_status(response)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                _check_size(body)
        return json_object(bytes(body))

    # -- async I/O --------------------------------------------------------

    async def _refresh_async(self) -> None:
        try:
            url = self._jwks_url or await self._discover_async()
            keys = parse_jwks(await self._get_json_async(url), self._algorithms)
        except (httpx.HTTPError, _FetchFailed, NotAJsonObject) as exc:
            self._failed(exc)
            return
        self._install(keys)

    async def _discover_async(self) -> str:
        url = self._jwks_uri_from(await self._get_json_async(metadata_url(self.issuer)))
        self._jwks_url = url
        return url

    async def _get_json_async(self, url: str) -> dict[str, Any]:
        if self._async_http_client is not None:
            return await self._read_async(self._async_http_client, url)
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            return await self._read_async(client, url)

    @staticmethod
    async def _read_async(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            _check_status(response)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                _check_size(body)
        return json_object(bytes(body))

    # -- metadata ---------------------------------------------------------

    def _jwks_uri_from(self, metadata: Mapping[str, Any]) -> str:
        # RFC 8414 §3.3: the metadata must name exactly the issuer we trust,
        # otherwise we would be fetching some other issuer's keys.
        if metadata.get("issuer") != self.issuer:
            raise _FetchFailed("authorization server metadata names a different issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme not in ("https", "http"):
            raise _FetchFailed("authorization server metadata has no usable jwks_uri")
        return jwks_uri


def _check_status(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise _FetchFailed(f"HTTP {response.status_code} from {response.request.url}")


def _check_size(body: bytearray) -> None:
    if len(body) > _MAX_DOCUMENT_BYTES:
        raise _FetchFailed("document larger than 1 MiB")
