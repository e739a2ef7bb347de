"""Django: :class:`BearerTokenMiddleware` and the :func:`require_token` view decorator.

settings.py::

    MIDDLEWARE = [..., "tokensmith.verify.integrations.django.BearerTokenMiddleware"]
    TOKENSMITH = {
        "ISSUER": "https://auth.example.com",
        "AUDIENCE": "https://orders.example.com",
        # optional: "VERIFIER_OPTIONS" (TokenVerifier keyword arguments, e.g. revocation_check),
        # "VERIFIER" (a TokenVerifier instead of the three above), "REALM",
        # "INCLUDE_ERROR_DESCRIPTION", and "RESOURCE_METADATA": {"scopes_supported": [...]}
        # to serve RFC 9728 metadata ("resource" defaults to AUDIENCE,
        # "authorization_servers" to [ISSUER]).
    }

views.py::

    @require_token("orders:read")
    def orders(request):
        return JsonResponse({"client_id": request.token_claims["client_id"]})

The middleware works like Django's AuthenticationMiddleware: it verifies a bearer token
when the request carries one (``request.token_claims``, None without a token), refuses
a bad one at once, and serves the metadata document. The decorator requires a token
and its scopes; without the middleware it verifies the token itself. Refusals are RFC
6750 answers with a JSON body; none is an HTML error page.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from tokensmith.verify.bearer import presented_token
from tokensmith.verify.dpop import http_presentation
from tokensmith.verify.errors import MissingToken, TokenError
from tokensmith.verify.protection import Protection as BaseProtection
from tokensmith.verify.resource_metadata import METADATA_HEADERS, ProtectedResourceMetadata
from tokensmith.verify.verifier import TokenVerifier, check_scopes

View = TypeVar("View", bound=Callable[..., HttpResponse])

__all__ = ["BearerTokenMiddleware", "Protection", "protection", "require_token"]

_NOT_VERIFIED = object()  # request.token_claims before the middleware ran


class Protection(BaseProtection):
    """The resource's settings, read once from ``settings.TOKENSMITH`` (or built by hand
    for :func:`require_token`'s ``using``)."""

    @classmethod
    def from_settings(cls, config: dict[str, Any]) -> Protection:
        verifier = config.get("VERIFIER")
        if verifier is None:
            try:
                verifier = TokenVerifier(config["ISSUER"], config["AUDIENCE"], **config.get("VERIFIER_OPTIONS", {}))
            except KeyError as exc:
                raise ImproperlyConfigured(f"settings.TOKENSMITH needs {exc.args[0]!r} (or 'VERIFIER')") from None
        if not isinstance(verifier, TokenVerifier):
            raise ImproperlyConfigured("settings.TOKENSMITH['VERIFIER'] must be a TokenVerifier")
        metadata = config.get("RESOURCE_METADATA")
        if isinstance(metadata, dict):
            metadata = ProtectedResourceMetadata(
                **{"resource": verifier.audience, "authorization_servers": [verifier.issuer], **metadata}
            )
        return cls(
            verifier,
            realm=config.get("REALM"),
            include_error_description=config.get("INCLUDE_ERROR_DESCRIPTION", True),
            resource_metadata=metadata,
        )

    def claims(self, request: HttpRequest, scopes: tuple[str, ...] = ()) -> dict[str, Any]:
        scheme, token = presented_token(
            [request.headers["Authorization"]] if "Authorization" in request.headers else [],
            request.META.get("QUERY_STRING", ""),
        )
        presentation = None
        if scheme == "DPoP":  # RFC 9449 §7: the proof is for this method and URL
            proofs = [request.headers["DPoP"]] if "DPoP" in request.headers else []
            presentation = http_presentation(scheme, proofs, request.method or "GET", request.build_absolute_uri(request.path))
        return self.verifier.verify(token, scopes, presentation)

    def refuse(self, error: TokenError) -> HttpResponse:
        refusal = self.refusal(error)
        response = HttpResponse(refusal.body, status=refusal.status)
        for name, value in refusal.headers:
            response[name] = value
        return response


_lock = threading.Lock()
_built: tuple[int, Protection] | None = None


def protection() -> Protection:
    """The Protection for the current ``settings.TOKENSMITH`` (built once per value)."""
    global _built
    config = getattr(settings, "TOKENSMITH", None)
    if not isinstance(config, dict):
        raise ImproperlyConfigured("set settings.TOKENSMITH (see tokensmith.verify.integrations.django)")
    with _lock:
        if _built is None or _built[0] != id(config):
            _built = (id(config), Protection.from_settings(config))
        return _built[1]


class BearerTokenMiddleware:
    """Verifies a presented bearer token on every request; serves RFC 9728 metadata."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        resource = protection()
        metadata = resource.resource_metadata
        if metadata is not None and request.path == metadata.path:
            response = HttpResponse(metadata.body())
            for name, value in METADATA_HEADERS:
                response[name] = value
            return response
        try:
            request.token_claims = resource.claims(request)
        except MissingToken:
            request.token_claims = None  # anonymous: views decide
        except TokenError as exc:
            return resource.refuse(exc)
        return self.get_response(request)


def require_token(*scopes: str, using: Protection | None = None) -> Callable[[View], View]:
    """View decorator: a valid token with every one of ``scopes``, else a refusal.

    ``using`` protects the view with another :class:`Protection` than the settings'
    (another audience, or a revocation check for this view only): the token is then
    verified by it whatever the middleware found."""
    required = tuple(s for item in scopes for s in item.split(" ") if s)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            resource = using or protection()
            claims = getattr(request, "token_claims", _NOT_VERIFIED)
            try:
                if claims is _NOT_VERIFIED or using is not None:  # no middleware, or another verifier
                    claims = resource.claims(request, required)
                    request.token_claims = claims
                elif claims is None:
                    raise MissingToken("a bearer token is required")
                else:
                    check_scopes(claims, required)  # type: ignore[arg-type]
            except TokenError as exc:
                return resource.refuse(exc)
            return view(request, *args, **kwargs)

        return cast(View, protected)

    return decorate
