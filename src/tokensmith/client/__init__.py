"""Client side of tokensmith: obtain and attach access tokens.

Typical use::

    import httpx
    from tokensmith.client import ClientCredentialsAuth

    auth = ClientCredentialsAuth("https://auth.example.com/oauth2/token", "my-client", secret, scope="orders:read")
    with httpx.Client(auth=auth) as api:
        api.get("https://api.example.com/orders")

``requests`` works too (``session.auth = auth``) but is not required. Without a
shared secret: ``ClientCredentialsAuth(url, "my-client", assertion=PrivateKeyJWT(key))``,
or ``assertion=PlatformToken("/var/run/secrets/tokens/tokensmith")`` on Kubernetes.
Sender-constrained tokens: ``dpop=DPoPKey()`` (RFC 9449).
See docs/clients.md.
"""

from tokensmith.client.assertions import JWT_BEARER_ASSERTION_TYPE, PlatformToken, PrivateKeyJWT
from tokensmith.client.auth import ClientCredentialsAuth
from tokensmith.client.dpop import DPoPKey
from tokensmith.client.errors import (
    ClientAssertionError,
    TokenClientError,
    TokenRequestError,
    TokenResponseError,
    TokenTransportError,
)
from tokensmith.client.jwt_bearer import JWT_BEARER_GRANT_TYPE, JWTBearerGrantAuth
from tokensmith.client.tokens import EPOCH_THRESHOLD, SEED_TOKEN_PATH, AccessToken

__all__ = [
    "EPOCH_THRESHOLD",
    "JWT_BEARER_ASSERTION_TYPE",
    "JWT_BEARER_GRANT_TYPE",
    "SEED_TOKEN_PATH",
    "AccessToken",
    "ClientAssertionError",
    "ClientCredentialsAuth",
    "DPoPKey",
    "JWTBearerGrantAuth",
    "PlatformToken",
    "PrivateKeyJWT",
    "TokenClientError",
    "TokenRequestError",
    "TokenResponseError",
    "TokenTransportError",
]
