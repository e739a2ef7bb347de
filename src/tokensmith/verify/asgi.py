"""Bearer-token protection for ASGI apps (RFC 6750).

* :class:`BearerAuthMiddleware` verifies every HTTP / WebSocket request and
  hands the claims to the app in ``scope["tokensmith.claims"]`` and
  ``request.state.token_claims``.
* :func:`require_scopes` returns a dependency for Starlette endpoints (call
  it with the request) and FastAPI (``Depends(...)``) that enforces scopes
  per route, with or without the middleware.

Errors are answered as RFC 6750 §3 prescribes: 401 + ``invalid_token``,
403 + ``insufficient_scope``, 400 + ``invalid_request``, and a bare
``Bearer`` challenge when the request carries no bearer token at all.
"""

# No "from __future__ import annotations" here: FastAPI reads the dependency's
# annotations at runtime, and string annotations on a callable instance cannot
# be resolved (it has no __globals__), so ``request: Request`` must stay a class.
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tokensmith.verify.errors import InsufficientScope, InvalidRequest, MissingToken, TokenError
from tokensmith.verify.verifier import TokenVerifier, check_scopes

#: Key under which verified claims are stored in the ASGI scope.
CLAIMS_SCOPE_KEY = "tokensmith.claims"

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6750 §3: characters allowed inside the challenge's quoted values.
_UNSAFE_CHALLENGE_CHARS = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')


def bearer_token(headers: Iterable[tuple[bytes, bytes]], query_string: bytes = b"") -> str:
    """Extract the bearer token from raw ASGI headers.

    Raises :class:`MissingToken` when there is no bearer credential and
    :class:`InvalidRequest` when the request is ambiguous or malformed.
    """
    values = [value for name, value in headers if name.lower() == b"authorization"]
    in_query = any(name == "access_token" for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    if in_query:
        # RFC 6750 §2.3 / RFC 9700 §2.4: tokens in URLs leak into logs and history.
        raise InvalidRequest("access tokens in the URL query are not accepted; use the Authorization header")
    if not values:
        raise MissingToken("a bearer token is required")
    if len(values) > 1:
        raise InvalidRequest("the request carries more than one Authorization header")
    scheme, _, credentials = values[0].decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken("a bearer token is required")
    token = credentials.strip(" ")
    if not _B64TOKEN.fullmatch(token):
        raise InvalidRequest("the Authorization header is not 'Bearer <token>' with exactly one token")
    return token


def www_authenticate(error: TokenError, realm: str | None = None, *, include_description: bool = True) -> str:
    """The ``WWW-Authenticate`` challenge for ``error`` (RFC 6750 §3)."""
    params: list[str] = []
    if realm:
        params.append(f'realm="{_challenge_value(realm)}"')
    # RFC 6750 §3.1: no error code when the request had no credentials at all.
    if error.error:
        params.append(f'error="{error.error}"')
        if include_description:
            params.append(f'error_description="{_challenge_value(error.description)}"')
    if isinstance(error, InsufficientScope):
        params.append(f'scope="{_challenge_value(" ".join(error.required_scopes))}"')
    return "Bearer" + (" " + ", ".join(params) if params else "")


def _challenge_value(text: str) -> str:
    return _UNSAFE_CHALLENGE_CHARS.sub("?", text)


class TokenHTTPException(HTTPException):
    """Raised by :func:`require_scopes`; Starlette/FastAPI render it with the challenge header."""

    def __init__(self, error: TokenError, realm: str | None = None, *, include_description: bool = True) -> None:
        headers = {"Cache-Control": "no-store"}
        if error.status_code in (400, 401, 403):
            headers["WWW-Authenticate"] = www_authenticate(error, realm, include_description=include_description)
        super().__init__(error.status_code, detail=error.description if include_description else None, headers=headers)
        self.token_error = error


class BearerAuthMiddleware:
    """Require a valid access token on every request except ``exempt_paths``.

    ``required_scopes`` apply to every request; use :func:`require_scopes`
    for per-route scopes.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        *,
        required_scopes: Iterable[str] | str = (),
        realm: str | None = None,
        exempt_paths: Iterable[str] = (),
        include_error_description: bool = True,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.required_scopes = required_scopes
        self.realm = realm
        self.exempt_paths = frozenset(exempt_paths)
        self.include_error_description = include_error_description

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        try:
            token = bearer_token(scope.get("headers", ()), scope.get("query_string", b""))
            claims = await self.verifier.verify_async(token, self.required_scopes)
        except TokenError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        await self.app(with_claims(scope, claims), receive, send)

    async def _refuse(self, error: TokenError, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = self._response_parts(error)
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        # WebSocket: answer with a real HTTP response when the server supports
        # the denial-response extension, else close before accepting (HTTP 403).
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008})

    def _response_parts(self, error: TokenError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        payload: dict[str, str] = {"error": error.error} if error.error else {}
        if self.include_error_description:
            payload["error_description"] = error.description
        body = json.dumps(payload).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if error.status_code in (400, 401, 403):
            challenge = www_authenticate(error, self.realm, include_description=self.include_error_description)
            headers.append((b"www-authenticate", challenge.encode("latin-1")))
        return error.status_code, headers, body


def with_claims(scope: Scope, claims: dict[str, Any]) -> Scope:
    """A copy of ``scope`` carrying the claims; the caller's scope and state stay untouched."""
    scope = dict(scope)
    scope[CLAIMS_SCOPE_KEY] = claims
    # Copied, not mutated: some servers share one lifespan-state dict between requests.
    scope["state"] = {**(scope.get("state") or {}), "token_claims": claims}
    return scope


class ScopeDependency:
    """Returned by :func:`require_scopes`; awaiting it yields the verified claims."""

    def __init__(
        self,
        scopes: tuple[str, ...],
        verifier: TokenVerifier | None,
        realm: str | None,
        include_error_description: bool,
    ) -> None:
        self.scopes = scopes
        self.verifier = verifier
        self.realm = realm
        self.include_error_description = include_error_description

    def __repr__(self) -> str:
        return f"require_scopes({', '.join(map(repr, self.scopes))})"

    async def __call__(self, request: Request) -> dict[str, Any]:
        try:
            claims: dict[str, Any] | None = request.scope.get(CLAIMS_SCOPE_KEY)
            if claims is not None:
                check_scopes(claims, self.scopes)
                return claims
            if self.verifier is None:
                raise RuntimeError("require_scopes() needs BearerAuthMiddleware in front of the app, or verifier=")
            token = bearer_token(request.scope.get("headers", ()), request.scope.get("query_string", b""))
            claims = await self.verifier.verify_async(token, self.scopes)
        except TokenError as exc:
            raise TokenHTTPException(exc, self.realm, include_description=self.include_error_description) from None
        request.scope[CLAIMS_SCOPE_KEY] = claims
        request.state.token_claims = claims
        return claims


def require_scopes(
    *scopes: str,
    verifier: TokenVerifier | None = None,
    realm: str | None = None,
    include_error_description: bool = True,
) -> ScopeDependency:
    """Dependency enforcing ``scopes`` on one route.

    Behind :class:`BearerAuthMiddleware` it only checks scopes on the claims
    already verified; otherwise pass ``verifier=`` and it verifies the token
    itself. Starlette: ``claims = await dep(request)``; FastAPI:
    ``claims: dict = Depends(dep)``.
    """
    # "a b" means two scopes (RFC 6749 §3.3), as everywhere else in this package.
    normalised = tuple(s for item in scopes for s in item.split(" ") if s)
    return ScopeDependency(normalised, verifier, realm, include_error_description)
