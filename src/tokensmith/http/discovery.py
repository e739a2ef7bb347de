"""RFC 8414 authorization server metadata and the JWKS (RFC 7517) that resource
servers verify tokens against."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tokensmith.domain.assertions import JWT_BEARER_GRANT
from tokensmith.domain.dpop import ProofRules
from tokensmith.jose.jwk import ALGORITHMS, FULLY_SPECIFIED
from tokensmith.node import Node

# Verifiers may cache both; the next signing key is published well before it signs,
# so a cached JWKS never misses a key that is in use (domain/keys.py).
PUBLIC_CACHE = {"cache-control": "public, max-age=300"}


# Client authentication at every endpoint that authenticates a client. A federated
# client sends its platform token as a client_assertion too, which on the wire is
# private_key_jwt's form (RFC 7523 §2.2); "federated" is not an RFC 7591 name.
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
AUTH_SIGNING_ALGORITHMS = sorted(ALGORITHMS | set(FULLY_SPECIFIED))
DPOP_ALGORITHMS = sorted(ProofRules().algorithms | set(FULLY_SPECIFIED))


def metadata(issuer: str) -> dict[str, object]:
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth2/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGORITHMS,
        "grant_types_supported": ["client_credentials", JWT_BEARER_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": AUTH_SIGNING_ALGORITHMS,
        "scopes_supported": [],
        # RFC 9449 §5.1: the algorithms a DPoP proof may be signed with (domain/dpop.py).
        "dpop_signing_alg_values_supported": DPOP_ALGORITHMS,
    }


async def authorization_server_metadata(request: Request) -> Response:
    node: Node = request.app.state.node
    return Response(orjson.dumps(metadata(node.settings.issuer)), 200, PUBLIC_CACHE, media_type="application/json")


async def jwks(request: Request) -> Response:
    node: Node = request.app.state.node
    await node.key_cache.refresh_if_stale()
    return Response(node.key_cache.jwks_body, 200, PUBLIC_CACHE, media_type="application/jwk-set+json")
