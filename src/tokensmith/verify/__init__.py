"""Resource-server side of tokensmith: verify RFC 9068 access tokens.

Typical use::

    from tokensmith.verify import TokenVerifier

    verifier = TokenVerifier("https://auth.example.com", "https://api.example.com")
    claims = verifier.verify(token, scopes=["orders:read"])

See docs/resource-servers.md for the ASGI middleware and ``require_scopes``.
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
from tokensmith.verify.errors import (
    ExpiredToken,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    MissingToken,
    RevokedToken,
    TokenError,
    VerifierUnavailable,
)
from tokensmith.verify.introspection import IntrospectionRevocationCheck
from tokensmith.verify.jwks import SUPPORTED_ALGORITHMS, JwksCache
from tokensmith.verify.verifier import RevocationCheck, TokenVerifier, check_scopes

__all__ = [
    "CLAIMS_SCOPE_KEY",
    "SUPPORTED_ALGORITHMS",
    "BearerAuthMiddleware",
    "ExpiredToken",
    "InsufficientScope",
    "IntrospectionRevocationCheck",
    "InvalidRequest",
    "InvalidToken",
    "JwksCache",
    "MissingToken",
    "RevocationCheck",
    "RevokedToken",
    "ScopeDependency",
    "TokenError",
    "TokenHTTPException",
    "TokenVerifier",
    "VerifierUnavailable",
    "bearer_token",
    "check_scopes",
    "require_scopes",
    "www_authenticate",
]
