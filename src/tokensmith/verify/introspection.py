"""Optional revocation check through token introspection (RFC 7662).

Self-contained JWTs stay valid until ``exp`` even if the issuer revokes
them. Resource servers that must honour revocation promptly can add this
check: after a token passes every local check, the issuer is asked whether
it is still active. Answers are cached for ``cache_ttl`` seconds, which is
therefore the longest a revoked token can still be accepted.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import httpx

from tokensmith.client._credentials import Secret, basic_authorization, check_auth_method
from tokensmith.jose.strict_json import NotAJsonObject, json_object
from tokensmith.verify.errors import InvalidToken, RevokedToken, VerifierUnavailable

logger = logging.getLogger("tokensmith.verify")


class _IntrospectionFailed(Exception):
    """The endpoint answered, but not with a verdict (a 4xx, or a body that is no
    RFC 7662 answer): never an outage, so never accepted with fail_open."""


class _IntrospectionDown(Exception):
    """The endpoint is out of service (5xx): an outage, as a refused connection is."""


class _TokenTooLarge(_IntrospectionFailed):
    pass


def _refuse(exc: Exception) -> NoReturn:
    logger.warning("token introspection gave no verdict (%s); refusing the request", exc)
    if isinstance(exc, _TokenTooLarge):
        # The token's fault, not the issuer's: retrying would never help.
        raise InvalidToken("token is too large for the issuer's introspection endpoint")
    raise VerifierUnavailable("token revocation status could not be checked")


class IntrospectionRevocationCheck:
    """Ask the issuer's introspection endpoint whether a token is still active.

    ``fail_open=False`` (the default) answers 503 while the endpoint is
    unreachable; ``fail_open=True`` accepts locally valid tokens instead, but only
    during a real outage (connection failure, timeout, 5xx). Any other answer that is
    not a verdict (413 for a token too large to send, 400, 401, 429, a malformed body)
    refuses the token whatever ``fail_open`` says: otherwise a token could be made
    unintrospectable, and so unrevocable, on purpose.
    """

    def __init__(
        self,
        introspection_url: str,
        client_id: str,
        client_secret: str,
        *,
        cache_ttl: float = 30.0,
        max_entries: int = 10_000,
        timeout: float = 5.0,
        fail_open: bool = False,
        auth_method: str = "client_secret_basic",
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.introspection_url = introspection_url
        self.client_id = client_id
        self._secret = Secret(client_secret)
        self._auth_method = check_auth_method(auth_method)
        self._cache_ttl = cache_ttl
        self._max_entries = max_entries
        self._timeout = timeout
        self._fail_open = fail_open
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._clock = clock
        self._lock = threading.Lock()
        # sha256(token) -> (active, valid_until). Hashing keeps raw tokens out of memory dumps.
        self._cache: dict[bytes, tuple[bool, float]] = {}

    def __repr__(self) -> str:
        return (
            f"IntrospectionRevocationCheck(introspection_url={self.introspection_url!r}, "
            f"client_id={self.client_id!r}, cache_ttl={self._cache_ttl!r})"
        )

    def check(self, token: str, claims: Mapping[str, Any]) -> None:
        key = hashlib.sha256(token.encode()).digest()
        active = self._cached(key)
        if active is None:
            try:
                active = self._introspect_sync(token)
            except (httpx.TransportError, _IntrospectionDown) as exc:
                self._outage(exc)
                return
            except (httpx.HTTPError, _IntrospectionFailed, NotAJsonObject) as exc:
                _refuse(exc)
            self._remember(key, active)
        if not active:
            raise RevokedToken("token is no longer active (revoked)")

    async def check_async(self, token: str, claims: Mapping[str, Any]) -> None:
        key = hashlib.sha256(token.encode()).digest()
        active = self._cached(key)
        if active is None:
            try:
                active = await self._introspect_async(token)
            except (httpx.TransportError, _IntrospectionDown) as exc:
                self._outage(exc)
                return
            except (httpx.HTTPError, _IntrospectionFailed, NotAJsonObject) as exc:
                _refuse(exc)
            self._remember(key, active)
        if not active:
            raise RevokedToken("token is no longer active (revoked)")

    # -- cache ------------------------------------------------------------

    def _cached(self, key: bytes) -> bool | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            active, valid_until = entry
            if self._clock() >= valid_until:
                del self._cache[key]
                return None
            return active

    def _remember(self, key: bytes, active: bool) -> None:
        now = self._clock()
        with self._lock:
            if len(self._cache) >= self._max_entries:
                self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
            while len(self._cache) >= self._max_entries:
                del self._cache[next(iter(self._cache))]  # oldest first (insertion order)
            self._cache[key] = (active, now + self._cache_ttl)

    def _outage(self, exc: Exception) -> None:
        if self._fail_open:
            logger.warning("token introspection failed (%s); accepting the locally valid token", exc)
            return
        logger.warning("token introspection failed (%s); refusing the request", exc)
        raise VerifierUnavailable("token revocation status could not be checked")

    # -- I/O --------------------------------------------------------------

    def _request_parts(self, token: str) -> tuple[dict[str, str], dict[str, str]]:
        form = {"token": token, "token_type_hint": "access_token"}
        headers = {"Accept": "application/json"}
        if self._auth_method == "client_secret_basic":
            headers["Authorization"] = basic_authorization(self.client_id, self._secret)
        else:
            form |= {"client_id": self.client_id, "client_secret": self._secret.reveal()}
        return headers, form

    def _introspect_sync(self, token: str) -> bool:
        headers, form = self._request_parts(token)
        if self._http_client is not None:
            response = self._http_client.post(self.introspection_url, data=form, headers=headers)
        else:
            with httpx.Client(timeout=self._timeout) as client:
                response = client.post(self.introspection_url, data=form, headers=headers)
        return _active(response)

    async def _introspect_async(self, token: str) -> bool:
        headers, form = self._request_parts(token)
        if self._async_http_client is not None:
            response = await self._async_http_client.post(self.introspection_url, data=form, headers=headers)
        else:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self.introspection_url, data=form, headers=headers)
        return _active(response)


def _active(response: httpx.Response) -> bool:
    if response.status_code >= 500:
        raise _IntrospectionDown(f"HTTP {response.status_code} from the introspection endpoint")
    if response.status_code == 413:  # RFC 9110 §15.5.14
        raise _TokenTooLarge("HTTP 413 from the introspection endpoint")
    if response.status_code != 200:
        raise _IntrospectionFailed(f"HTTP {response.status_code} from the introspection endpoint")
    # RFC 7662 §2.2: "active" is a boolean; anything but true means inactive.
    return json_object(response.content).get("active") is True
