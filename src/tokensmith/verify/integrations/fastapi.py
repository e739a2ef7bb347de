"""FastAPI: :class:`TokenAuth`, a security dependency.

    auth = TokenAuth(TokenVerifier(ISSUER, AUDIENCE), scopes={"orders:read": "Read orders"})
    app = FastAPI()
    auth.install(app)  # RFC 6750 refusal bodies, and the RFC 9728 document if configured

    @app.get("/orders")
    async def orders(claims: Annotated[Claims, Security(auth, scopes=["orders:read"])]) -> dict: ...

Each route declares its scopes with ``Security(auth, scopes=[...])``; FastAPI merges
them along the dependency tree and this dependency requires them all. The scheme shows
in the OpenAPI document as OAuth2 with the client-credentials flow (RFC 6749 §4.4)
against the issuer's token endpoint, each operation listing the scopes it needs.
"""

# No "from __future__ import annotations": FastAPI reads the dependency's annotations at
# runtime (see tokensmith/verify/asgi.py).
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.responses import Response

from tokensmith.verify.asgi import CLAIMS_SCOPE_KEY, TokenHTTPException
from tokensmith.verify.bearer import asgi_token
from tokensmith.verify.dpop import asgi_presentation
from tokensmith.verify.errors import TokenError
from tokensmith.verify.protection import Protection
from tokensmith.verify.resource_metadata import METADATA_HEADERS, ProtectedResourceMetadata
from tokensmith.verify.verifier import TokenVerifier

#: What the dependency gives a route: the verified claims.
Claims = dict[str, Any]

__all__ = ["Claims", "TokenAuth"]


class TokenAuth(SecurityBase, Protection):
    """Verify the bearer token of a request; answers RFC 6750 refusals (401/403/400/503)."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        token_url: str | None = None,
        scopes: Mapping[str, str] | None = None,
        scheme_name: str = "tokensmith",
        description: str | None = None,
        realm: str | None = None,
        include_error_description: bool = True,
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        Protection.__init__(
            self, verifier, realm=realm, include_error_description=include_error_description, resource_metadata=resource_metadata
        )
        flow = OAuthFlowClientCredentials(tokenUrl=token_url or verifier.issuer.rstrip("/") + "/oauth2/token", scopes=dict(scopes or {}))
        self.model = OAuth2Model(flows=OAuthFlows(clientCredentials=flow), description=description)
        self.scheme_name = scheme_name

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Claims:
        try:
            scheme, token = asgi_token(request.scope.get("headers", ()), request.scope.get("query_string", b""))
            presentation = asgi_presentation(request.scope, scheme) if scheme == "DPoP" else None  # RFC 9449 §7
            claims = await self.verifier.verify_async(token, security_scopes.scopes, presentation)
        except TokenError as exc:
            raise TokenHTTPException(exc, include_description=self.include_error_description, refusal=self.refusal(exc)) from None
        request.scope[CLAIMS_SCOPE_KEY] = claims
        request.state.token_claims = claims
        return claims

    def install(self, app: FastAPI) -> None:
        """Answer refusals with the RFC 6750 JSON body (``{"error", "error_description"}``;
        without this FastAPI's ``{"detail": ...}`` is sent, with the same status and
        challenge) and serve the RFC 9728 document when one is configured."""
        app.add_exception_handler(TokenHTTPException, _refused)  # type: ignore[arg-type]
        metadata = self.resource_metadata
        if metadata is not None:
            body = metadata.body()

            async def protected_resource_metadata() -> Response:
                return Response(body, headers=dict(METADATA_HEADERS))

            app.add_api_route(metadata.path, protected_resource_metadata, methods=["GET"], include_in_schema=False)


async def _refused(request: Request, exc: TokenHTTPException) -> Response:
    refusal = exc.refusal
    return Response(refusal.body, status_code=refusal.status, headers=dict(refusal.headers))
