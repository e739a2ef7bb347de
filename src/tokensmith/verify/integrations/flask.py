"""Flask: :class:`TokenProtection`, an extension with a route decorator.

    protection = TokenProtection(TokenVerifier(ISSUER, AUDIENCE))
    app = Flask(__name__)
    protection.init_app(app)  # serves the RFC 9728 document, if configured

    @app.get("/orders")
    @protection.require("orders:read")
    def orders():
        return {"client_id": g.token_claims["client_id"]}

The verified claims are in ``flask.g.token_claims`` for the rest of the request.
Refusals are RFC 6750 answers (401/403/400, 503 when the issuer cannot be reached)
with a JSON body, raised as a werkzeug HTTPException, so they are rendered as they are
even without ``init_app``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from tokensmith.verify.bearer import Refusal, presented_token
from tokensmith.verify.dpop import http_presentation
from tokensmith.verify.errors import TokenError
from tokensmith.verify.protection import Protection
from tokensmith.verify.resource_metadata import METADATA_HEADERS, ProtectedResourceMetadata
from tokensmith.verify.verifier import TokenVerifier

View = TypeVar("View", bound=Callable[..., Any])

__all__ = ["TokenProtection", "TokenRefused"]


class TokenRefused(HTTPException):
    """A refused request; werkzeug sends :attr:`response` as it is."""

    def __init__(self, refusal: Refusal) -> None:
        response = Response(refusal.body, status=refusal.status, headers=refusal.headers)
        super().__init__(description=None, response=response)
        self.code = refusal.status


class TokenProtection(Protection):
    """Protects Flask views with tokens from one issuer for one audience."""

    def __init__(
        self,
        verifier: TokenVerifier,
        app: Flask | None = None,
        *,
        realm: str | None = None,
        include_error_description: bool = True,
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        super().__init__(verifier, realm=realm, include_error_description=include_error_description, resource_metadata=resource_metadata)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        metadata = self.resource_metadata
        if metadata is not None:
            body = metadata.body()
            app.add_url_rule(
                metadata.path,
                endpoint="tokensmith_protected_resource_metadata",
                view_func=lambda: Response(body, headers=list(METADATA_HEADERS)),
                methods=["GET"],
            )

    def require(self, *scopes: str) -> Callable[[View], View]:
        """Decorator: the view runs only for a valid token carrying every one of ``scopes``."""
        required = tuple(s for item in scopes for s in item.split(" ") if s)

        def decorate(view: View) -> View:
            @functools.wraps(view)
            def protected(*args: Any, **kwargs: Any) -> Any:
                g.token_claims = self.verify_request(required)
                return view(*args, **kwargs)

            return cast(View, protected)

        return decorate

    def verify_request(self, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        """The current request's verified claims, or :class:`TokenRefused`."""
        try:
            scheme, token = presented_token(request.headers.getlist("Authorization"), request.query_string.decode("latin-1"))
            presentation = None
            if scheme == "DPoP":  # RFC 9449 §7: the proof is for this method and URL
                presentation = http_presentation(scheme, request.headers.getlist("DPoP"), request.method, request.base_url)
            return self.verifier.verify(token, scopes, presentation)
        except TokenError as exc:
            raise TokenRefused(self.refusal(exc)) from None
