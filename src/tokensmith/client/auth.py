"""OAuth 2.0 client credentials (RFC 6749 §4.4) as an httpx / requests auth object.

The client authenticates with a secret (RFC 6749 §2.3.1) or with an assertion
(RFC 7521 §4.2: a private_key_jwt or a platform-issued JWT, see assertions.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import httpx

from tokensmith.client._concurrency import LoopLocalLock
from tokensmith.client._credentials import Secret, basic_authorization, check_auth_method
from tokensmith.client.assertions import JWT_BEARER_ASSERTION_TYPE, ClientAssertion, PlatformToken, PrivateKeyJWT, issuer_of
from tokensmith.client.dpop import DPoPKey, asks_for_nonce
from tokensmith.client.errors import TokenTransportError
from tokensmith.client.tokens import AccessToken, is_seed_endpoint, parse_token_response, refusal

if TYPE_CHECKING:  # requests is optional: never imported at runtime
    import requests

logger = logging.getLogger("tokensmith.client")


class ClientCredentialsAuth(httpx.Auth):
    """Fetches, caches and renews an access token; attaches it as ``Bearer``.

    * httpx: ``httpx.Client(auth=auth)`` / ``httpx.AsyncClient(auth=auth)``
    * requests: ``session.auth = auth`` or ``requests.get(url, auth=auth)``

    One token is shared by every request made through this object. Renewal is
    single-flight: concurrent callers (threads, or tasks of one event loop)
    wait for one token request instead of each sending their own. If the API
    answers 401 the token is dropped, a new one fetched, and the request
    retried once.

    The client authenticates with ``client_secret`` (``auth_method``
    ``client_secret_basic``, the default, or ``client_secret_post``) or, with no
    secret anywhere, with ``assertion=``: a :class:`PrivateKeyJWT` (a fresh signed
    assertion per token request) or a :class:`PlatformToken` (the workload's
    platform-issued JWT, re-read from its file per token request). Exactly one of
    the two is given.

    With ``dpop=DPoPKey()`` (RFC 9449) every token request carries a DPoP proof of
    that key, the token comes back bound to it, and each API request is sent with
    ``Authorization: DPoP …`` and a fresh proof for that request (with ``ath``).
    Nonces the servers hand out are put in the next proof; a ``use_dpop_nonce``
    answer is retried once with the nonce it brought.

    ``clock`` must return Unix epoch seconds (like ``time.time``) because the
    seed endpoint reports expiry as an epoch timestamp; assertions take their
    ``iat`` and ``exp`` from it too.
    """

    # A 401 retry re-sends the request; bodies given as bytes/str/json/form are
    # replayable without buffering everything up front.
    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        scope: str | Iterable[str] | None = None,
        *,
        assertion: ClientAssertion | None = None,
        auth_method: str | None = None,
        renew_before: float = 60.0,
        timeout: float = 10.0,
        seed_endpoint: bool | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        dpop: DPoPKey | None = None,
    ) -> None:
        if not client_id:
            raise ValueError("client_id must not be empty")
        if renew_before < 0:
            raise ValueError("renew_before must not be negative")
        self.token_url = token_url
        self.client_id = client_id
        self._credentials: Secret | ClientAssertion
        if assertion is None:
            if client_secret is None:
                raise ValueError("give client_secret or assertion= (PrivateKeyJWT or PlatformToken)")
            self._credentials = Secret(client_secret)
            self.auth_method: str = check_auth_method(auth_method or "client_secret_basic")
        else:
            if client_secret is not None:
                raise ValueError("give client_secret or assertion=, not both: a client has one authentication method")
            if auth_method is not None:
                raise ValueError("auth_method applies to client secrets; an assertion brings its own method")
            if not isinstance(assertion, (PrivateKeyJWT, PlatformToken)):
                raise ValueError("assertion must be a PrivateKeyJWT or a PlatformToken")
            if isinstance(assertion, PrivateKeyJWT) and assertion.audience is None:
                issuer_of(token_url)  # the default audience must be derivable: fail here, not at the first request
            self._credentials = assertion
            self.auth_method = assertion.auth_method
        self.scope = " ".join(scope.split() if isinstance(scope, str) else scope) if scope is not None else None
        self.renew_before = renew_before
        self.seed_endpoint = is_seed_endpoint(token_url) if seed_endpoint is None else seed_endpoint
        self._timeout = timeout
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._clock = clock
        self.dpop = dpop

        self._state_lock = threading.Lock()  # guards _token; never held during I/O
        self._token: AccessToken | None = None
        self._sync_refresh_lock = threading.Lock()
        self._async_refresh_lock = LoopLocalLock()

    def __repr__(self) -> str:
        assertion = "" if isinstance(self._credentials, Secret) else f", assertion={self._credentials!r}"
        return (
            f"{type(self).__name__}(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"scope={self.scope!r}, auth_method={self.auth_method!r}{assertion})"
        )

    # -- public helpers -----------------------------------------------------

    def get_token(self) -> str:
        """The current access token, fetched or renewed if needed (blocking)."""
        return self._sync_token().value

    async def aget_token(self) -> str:
        """Async twin of :meth:`get_token`."""
        return (await self._async_token()).value

    def invalidate(self) -> None:
        """Forget the cached token; the next request fetches a new one."""
        with self._state_lock:
            self._token = None

    # -- httpx ----------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._sync_token()
        self._authorize(request.headers, request.method, str(request.url), token)
        response = yield request
        if response.status_code == 401:
            if self._nonce_asked(str(request.url), response.status_code, response.headers):
                # RFC 9449 §9: the same token, a new proof with the resource server's nonce.
                self._authorize(request.headers, request.method, str(request.url), token)
                yield request
                return
            token = self._sync_token(rejected=token)
            self._authorize(request.headers, request.method, str(request.url), token)
            yield request  # once: whatever this answers is returned to the caller
        elif self.dpop is not None:
            self.dpop.note_nonce(str(request.url), response.headers)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._async_token()
        self._authorize(request.headers, request.method, str(request.url), token)
        response = yield request
        if response.status_code == 401:
            if self._nonce_asked(str(request.url), response.status_code, response.headers):
                self._authorize(request.headers, request.method, str(request.url), token)
                yield request
                return
            token = await self._async_token(rejected=token)
            self._authorize(request.headers, request.method, str(request.url), token)
            yield request
        elif self.dpop is not None:
            self.dpop.note_nonce(str(request.url), response.headers)

    # -- requests -------------------------------------------------------------

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._sync_token()
        self._authorize(request.headers, request.method or "GET", request.url or "", token)
        request.register_hook("response", _RequestsRetryOn401(self, token, _body_position(request.body)))
        return request

    # -- presenting the token ---------------------------------------------------

    def _authorize(self, headers: MutableMapping[str, Any], method: str, url: str, token: AccessToken) -> None:
        """Bearer (RFC 6750 §2.1); a DPoP-bound token as `DPoP` with a fresh proof for
        this very request, carrying the token's hash (RFC 9449 §7.1)."""
        if token.token_type == "DPoP" and self.dpop is not None:
            headers["Authorization"] = f"DPoP {token.value}"
            headers["DPoP"] = self.dpop.proof(method, url, now=self._clock(), access_token=token.value)
        else:
            headers["Authorization"] = f"Bearer {token.value}"

    def _nonce_asked(self, url: str, status: int, headers: Mapping[str, str]) -> bool:
        """Whether a 401 is a resource server's demand for a DPoP nonce (kept for the retry)."""
        if self.dpop is None:
            return False
        self.dpop.note_nonce(url, headers)
        return asks_for_nonce(status, headers, b"")

    # -- token cache --------------------------------------------------------

    def _usable(self) -> AccessToken | None:
        with self._state_lock:
            token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token
        return None

    def _store(self, token: AccessToken) -> AccessToken:
        with self._state_lock:
            self._token = token
        return token

    def _discard(self, rejected: AccessToken) -> None:
        # Only drop the token the API rejected: if a concurrent caller already
        # replaced it, the replacement is what the retry should use.
        with self._state_lock:
            if self._token is rejected:
                self._token = None

    def _sync_token(self, rejected: AccessToken | None = None) -> AccessToken:
        if rejected is not None:
            self._discard(rejected)
        token = self._usable()
        if token is not None:
            return token
        with self._sync_refresh_lock:
            token = self._usable()  # fetched by another thread while we waited
            if token is not None:
                return token
            return self._store(self._fetch_sync())

    async def _async_token(self, rejected: AccessToken | None = None) -> AccessToken:
        if rejected is not None:
            self._discard(rejected)
        token = self._usable()
        if token is not None:
            return token
        async with self._async_refresh_lock.get():
            token = self._usable()
            if token is not None:
                return token
            return self._store(await self._fetch_async())

    # -- token endpoint I/O -------------------------------------------------

    def _credential(self) -> Secret:
        """What this token request authenticates with: the secret, or a new assertion
        (held as a Secret so that error messages redact it the same way)."""
        if isinstance(self._credentials, Secret):
            return self._credentials
        return Secret(self._credentials.client_assertion(self.client_id, self.token_url, self._clock()))

    def _token_request(self, credential: Secret) -> dict[str, Any]:
        """Keyword arguments for ``client.request``; the two endpoints differ in shape."""
        headers = {"Accept": "application/json"}
        form: dict[str, str] = {}
        params: dict[str, str] = {}
        if not isinstance(self._credentials, Secret):
            # RFC 7521 §4.2 in the form body, no Authorization header. client_id is
            # optional there but always sent: a federated client is named by it alone,
            # since the platform token's sub is the workload, not the client id.
            form |= {
                "client_id": self.client_id,
                "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
                "client_assertion": credential.reveal(),
            }
        elif self.auth_method == "client_secret_basic":
            headers["Authorization"] = basic_authorization(self.client_id, credential)
        else:  # client_secret_post (RFC 6749 §2.3.1)
            form |= {"client_id": self.client_id, "client_secret": credential.reveal()}
        if self.seed_endpoint:
            # Seed endpoint: scope in the query string, no grant_type, empty body
            # (or only the client authentication fields, its one allowed form body).
            if self.scope:
                params["scope"] = self.scope
        else:
            form["grant_type"] = "client_credentials"
            if self.scope:
                form["scope"] = self.scope
        if self.dpop is not None:
            headers["DPoP"] = self.dpop.proof("POST", self.token_url, now=self._clock())
        request: dict[str, Any] = {"method": "POST", "url": self.token_url, "headers": headers}
        if params:
            request["params"] = params
        if form:
            request["data"] = form
        else:
            request["content"] = b""
        return request

    def _fetch_sync(self) -> AccessToken:
        now = self._clock()  # before sending: expires_in counts from the server's answer
        for attempt in _ATTEMPTS:
            credential = self._credential()  # a fresh assertion per attempt: its jti is spent
            try:
                if self._http_client is not None:
                    response = self._http_client.request(**self._token_request(credential))
                else:
                    with httpx.Client(timeout=self._timeout) as client:
                        response = client.request(**self._token_request(credential))
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, credential) from exc
            if not (attempt == 0 and self._token_nonce_asked(response)):
                break
        return self._accept(response, now, credential)

    async def _fetch_async(self) -> AccessToken:
        now = self._clock()
        for attempt in _ATTEMPTS:
            # Signing, or reading a small token file, takes well under a millisecond: done
            # inline rather than in a worker thread.
            credential = self._credential()
            try:
                if self._async_http_client is not None:
                    response = await self._async_http_client.request(**self._token_request(credential))
                else:
                    async with httpx.AsyncClient(timeout=self._timeout) as client:
                        response = await client.request(**self._token_request(credential))
            except httpx.HTTPError as exc:
                raise self._transport_error(exc, credential) from exc
            if not (attempt == 0 and self._token_nonce_asked(response)):
                break
        return self._accept(response, now, credential)

    def _token_nonce_asked(self, response: httpx.Response) -> bool:
        """Keeps the nonce of a token response; True when it is a use_dpop_nonce
        refusal (RFC 9449 §8), to be retried once with the nonce."""
        if self.dpop is None:
            return False
        self.dpop.note_nonce(self.token_url, response.headers)
        return asks_for_nonce(response.status_code, response.headers, response.content)

    def _accept(self, response: httpx.Response, now: float, credential: Secret) -> AccessToken:
        if not response.is_success:
            error = refusal(response.status_code, response.content, credential)
            logger.warning("token request for client %s failed: %s", self.client_id, error)
            raise error
        token = parse_token_response(
            response.content, now=now, epoch_expiry=self.seed_endpoint, renew_before=self.renew_before, dpop=self.dpop is not None
        )
        logger.debug("fetched access token for client %s (expires in %.0fs)", self.client_id, token.expires_at - now)
        return token

    def _transport_error(self, exc: httpx.HTTPError, credential: Secret) -> TokenTransportError:
        detail = credential.redact(str(exc))
        return TokenTransportError(f"token endpoint {self.token_url} could not be reached: {detail}")


_ATTEMPTS = (0, 1)  # a token request, and its one retry with a DPoP nonce


class _RequestsRetryOn401:
    """requests response hook: on 401, renew the token and re-send once.

    The retry goes straight to the adapter (``response.connection``), which
    runs no hooks, so a second 401 is returned as-is rather than retried.
    """

    def __init__(self, auth: ClientCredentialsAuth, token: AccessToken, body_position: int | None) -> None:
        self._auth = auth
        self._token = token
        self._body_position = body_position

    def __call__(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        auth = self._auth
        if response.status_code != 401:
            if auth.dpop is not None:
                auth.dpop.note_nonce(response.url, response.headers)
            return response
        retry = response.request.copy()
        if not _rewind(retry.body, self._body_position):
            return response  # a streamed body cannot be sent twice
        response.content  # noqa: B018 - drain so the connection returns to the pool
        response.close()
        # RFC 9449 §9: a demand for a nonce is retried with the same token, else renewed.
        url = retry.url or response.url
        token = self._token if auth._nonce_asked(url, response.status_code, response.headers) else auth._sync_token(rejected=self._token)
        auth._authorize(retry.headers, retry.method or "GET", url, token)
        retried = response.connection.send(retry, **send_kwargs)
        retried.history.append(response)
        retried.request = retry
        return retried


def _body_position(body: object) -> int | None:
    tell = getattr(body, "tell", None)
    if tell is None:
        return None
    try:
        return int(tell())
    except OSError:
        return None


def _rewind(body: object, position: int | None) -> bool:
    if body is None or isinstance(body, (bytes, str)):
        return True
    seek = getattr(body, "seek", None)
    if seek is None or position is None:
        return False
    try:
        seek(position)
    except OSError:
        return False
    return True
