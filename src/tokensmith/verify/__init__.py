"""Resource-server side of tokensmith: verify RFC 9068 access tokens.

Typical use::

    from tokensmith.verify import TokenVerifier

    verifier = TokenVerifier("https://auth.example.com", "https://api.example.com")
    claims = verifier.verify(token, scopes=["orders:read"])

A token verified once is answered from memory until its ``exp`` (the
verified-token cache, tokensmith.verify.cache). See docs/resource-servers.md for
the ASGI middleware and ``require_scopes``, and for the FastAPI, Flask and Django
integrations in tokensmith.verify.integrations (optional extras). A DPoP-bound
token (RFC 9449) is accepted only with a valid proof for the request
(tokensmith.verify.dpop; the middleware, require_scopes and FastAPI pass it on).
"""

from tokensmith.verify.asgi import (
    CLAIMS_SCOPE_KEY,
    BearerAuthMiddleware,
    ScopeDependency,
    TokenHTTPException,
    bearer_token,
    require_scopes,
    www_authenticate,
)
from tokensmith.verify.cache import VerifiedTokenCache
from tokensmith.verify.dpop import DPoPChecker, Presentation, asgi_presentation, require_dpop
from tokensmith.verify.errors import (
    DPoPRequired,
    ExpiredToken,
    InsufficientScope,
    InvalidDPoPProof,
    InvalidRequest,
    InvalidToken,
    MissingToken,
    RevokedToken,
    TokenError,
    UseDPoPNonce,
    VerifierUnavailable,
)
from tokensmith.verify.introspection import IntrospectionRevocationCheck
from tokensmith.verify.jwks import SUPPORTED_ALGORITHMS, JwksCache
from tokensmith.verify.resource_metadata import ProtectedResourceMetadata
from tokensmith.verify.verifier import RevocationCheck, TokenVerifier, check_scopes

__all__ = [
    "CLAIMS_SCOPE_KEY",
    "SUPPORTED_ALGORITHMS",
    "BearerAuthMiddleware",
    "DPoPChecker",
    "DPoPRequired",
    "ExpiredToken",
    "InsufficientScope",
    "IntrospectionRevocationCheck",
    "InvalidDPoPProof",
    "InvalidRequest",
    "InvalidToken",
    "JwksCache",
    "MissingToken",
    "Presentation",
    "ProtectedResourceMetadata",
    "RevocationCheck",
    "RevokedToken",
    "ScopeDependency",
    "TokenError",
    "TokenHTTPException",
    "TokenVerifier",
    "UseDPoPNonce",
    "VerifiedTokenCache",
    "VerifierUnavailable",
    "asgi_presentation",
    "bearer_token",
    "check_scopes",
    "require_dpop",
    "require_scopes",
    "www_authenticate",
]
