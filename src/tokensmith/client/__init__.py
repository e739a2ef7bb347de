"""Client side of tokensmith: obtain and attach access tokens.

Typical use::

    import httpx
    from tokensmith.client import ClientCredentialsAuth

    auth = ClientCredentialsAuth("https://auth.example.com/oauth2/token", "my-client", secret, scope="orders:read")
    with httpx.Client(auth=auth) as api:
        api.get("https://api.example.com/orders")

``requests`` works too (``session.auth = auth``) but is not required.
See docs/clients.md.
"""

from tokensmith.client.auth import ClientCredentialsAuth
from tokensmith.client.errors import (
    TokenClientError,
    TokenRequestError,
    TokenResponseError,
    TokenTransportError,
)
from tokensmith.client.tokens import EPOCH_THRESHOLD, SEED_TOKEN_PATH, AccessToken

__all__ = [
    "EPOCH_THRESHOLD",
    "SEED_TOKEN_PATH",
    "AccessToken",
    "ClientCredentialsAuth",
    "TokenClientError",
    "TokenRequestError",
    "TokenResponseError",
    "TokenTransportError",
]
