"""Bearer-token protection for ASGI apps (RFC 6750), and DPoP-bound tokens
(RFC 9449 §7: ``Authorization: DPoP`` with a proof; tokensmith.verify.dpop).

* :class:`BearerAuthMiddleware` verifies every HTTP / WebSocket request and
  hands the claims to the app in ``scope["tokensmith.claims"]`` and
  ``request.state.token_claims``.
* :func:`require_scopes` returns a dependency for Starlette endpoints (call
  it with the request) and FastAPI (``Depends(...)``) that enforces scopes
  per route, with or without the middleware.

Errors are answered as RFC 6750 §3 prescribes (tokensmith.verify.bearer):
401 + ``invalid_token``, 403 + ``insufficient_scope``, 400 + ``invalid_request``,
and a bare ``Bearer`` challenge when the request carries no bearer token at all.
Given ``resource_metadata``, the middleware serves the RFC 9728 document and names it
in every challenge.
"""

# No "from __future__ import annotations" here: FastAPI reads the dependency's
# annotations at runtime, and string annotations on a callable instance cannot
# be resolved (it has no __globals__), so ``request: Request`` must stay a class.
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tokensmith.verify.bearer import Refusal, asgi_token, bearer_token, www_authenticate
from tokensmith.verify.dpop import asgi_presentation, require_dpop
from tokensmith.verify.errors import TokenError
from tokensmith.verify.resource_metadata import METADATA_HEADERS, ProtectedResourceMetadata
from tokensmith.verify.verifier import TokenVerifier, check_scopes

#: Key under which verified claims are stored in the ASGI scope.
CLAIMS_SCOPE_KEY = "tokensmith.claims"

__all__ = [
    "CLAIMS_SCOPE_KEY",
    "BearerAuthMiddleware",
    "ScopeDependency",
    "TokenHTTPException",
    "bearer_token",
    "require_scopes",
    "serve_metadata",
    "with_claims",
    "www_authenticate",
]


class TokenHTTPException(HTTPException):
    """Raised by :func:`require_scopes`; Starlette/FastAPI render it with the challenge header.

    ``refusal`` is the whole RFC 6750 answer (status, headers, JSON body), for an
    exception handler that sends it as it is; pass one already written to use it."""

    def __init__(
        self,
        error: TokenError,
        realm: str | None = None,
        *,
        include_description: bool = True,
        resource_metadata: str | None = None,
        refusal: Refusal | None = None,
    ) -> None:
        self.refusal = refusal or Refusal.of(error, realm, include_description=include_description, resource_metadata=resource_metadata)
        headers = {name: value for name, value in self.refusal.headers if name != "Content-Type"}
        super().__init__(error.status_code, detail=error.description if include_description else None, headers=headers)
        self.token_error = error


class BearerAuthMiddleware:
    """Require a valid access token on every request except ``exempt_paths``.

    ``required_scopes`` apply to every request; use :func:`require_scopes`
    for per-route scopes. With ``resource_metadata`` the middleware also serves that
    RFC 9728 document (unauthenticated, at its well-known path) and names its URL in
    every challenge.
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
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.required_scopes = required_scopes
        self.realm = realm
        self.exempt_paths = frozenset(exempt_paths)
        self.include_error_description = include_error_description
        self.resource_metadata = resource_metadata

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metadata = self.resource_metadata
        if metadata is not None and scope["type"] == "http" and scope.get("path") == metadata.path:
            await serve_metadata(metadata, send)
            return
        if scope["type"] not in ("http", "websocket") or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        try:
            scheme, token = asgi_token(scope.get("headers", ()), scope.get("query_string", b""))
            presentation = asgi_presentation(scope, scheme) if scheme == "DPoP" else None  # RFC 9449 §7
            claims = await self.verifier.verify_async(token, self.required_scopes, presentation)
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
        metadata_url = self.resource_metadata.url if self.resource_metadata is not None else None
        refusal = Refusal.of(error, self.realm, include_description=self.include_error_description, resource_metadata=metadata_url)
        return refusal.status, _raw_headers(refusal.headers, refusal.body), refusal.body


async def serve_metadata(metadata: ProtectedResourceMetadata, send: Send) -> None:
    """Answer one HTTP request with the RFC 9728 document (§3.2)."""
    body = metadata.body()
    await send({"type": "http.response.start", "status": 200, "headers": _raw_headers(METADATA_HEADERS, body)})
    await send({"type": "http.response.body", "body": body})


def _raw_headers(headers: Iterable[tuple[str, str]], body: bytes) -> list[tuple[bytes, bytes]]:
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    raw.append((b"content-length", str(len(body)).encode()))
    return raw


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
        resource_metadata: ProtectedResourceMetadata | None = None,
        dpop: bool = False,
    ) -> None:
        self.scopes = scopes
        self.dpop = dpop
        self.verifier = verifier
        self.realm = realm
        self.include_error_description = include_error_description
        self.resource_metadata = resource_metadata

    def __repr__(self) -> str:
        return f"require_scopes({', '.join(map(repr, self.scopes))})"

    async def __call__(self, request: Request) -> dict[str, Any]:
        try:
            claims: dict[str, Any] | None = request.scope.get(CLAIMS_SCOPE_KEY)
            if claims is not None:
                check_scopes(claims, self.scopes)
                if self.dpop:
                    require_dpop(claims)
                return claims
            if self.verifier is None:
                raise RuntimeError("require_scopes() needs BearerAuthMiddleware in front of the app, or verifier=")
            scheme, token = asgi_token(request.scope.get("headers", ()), request.scope.get("query_string", b""))
            presentation = asgi_presentation(request.scope, scheme) if scheme == "DPoP" else None
            claims = await self.verifier.verify_async(token, self.scopes, presentation)
            if self.dpop:
                require_dpop(claims)
        except TokenError as exc:
            metadata_url = self.resource_metadata.url if self.resource_metadata is not None else None
            raise TokenHTTPException(
                exc, self.realm, include_description=self.include_error_description, resource_metadata=metadata_url
            ) from None
        request.scope[CLAIMS_SCOPE_KEY] = claims
        request.state.token_claims = claims
        return claims


def require_scopes(
    *scopes: str,
    verifier: TokenVerifier | None = None,
    realm: str | None = None,
    include_error_description: bool = True,
    resource_metadata: ProtectedResourceMetadata | None = None,
    dpop: bool = False,
) -> ScopeDependency:
    """Dependency enforcing ``scopes`` on one route.

    Behind :class:`BearerAuthMiddleware` it only checks scopes on the claims
    already verified; otherwise pass ``verifier=`` and it verifies the token
    itself. Starlette: ``claims = await dep(request)``; FastAPI:
    ``claims: dict = Depends(dep)``. With ``dpop=True`` the route takes DPoP-bound
    tokens only (RFC 9449): a bearer token is refused with a DPoP challenge.
    """
    # "a b" means two scopes (RFC 6749 §3.3), as everywhere else in this package.
    normalised = tuple(s for item in scopes for s in item.split(" ") if s)
    return ScopeDependency(normalised, verifier, realm, include_error_description, resource_metadata, dpop)
