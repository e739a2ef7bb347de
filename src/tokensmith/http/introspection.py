"""`POST /oauth2/introspect` (RFC 7662): is this token live, and what does it say?

Any authenticated client may ask. A token that is expired, revoked, forged, from
another issuer, not a token at all, or of a client that is disabled, deleted or whose
tokens were revoked up to a later instant (`tokensmith clients revoke-tokens`) gets
`{"active": false}` and nothing more (RFC 7662 §2.2), so the answer never says which
check failed."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tokensmith.domain.introspection import read_token, token_type
from tokensmith.http.authentication import authenticated_client
from tokensmith.http.errors import NO_STORE
from tokensmith.http.parsing import form_body, malformed
from tokensmith.node import Node

PATH = "/oauth2/introspect"
INACTIVE = orjson.dumps({"active": False})
# cnf: a bound token's confirmation (RFC 7800 §3.1; RFC 9449 §6.2, RFC 8705 §3.2).
_REPORTED = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "cnf")


async def introspect(request: Request) -> Response:
    node: Node = request.app.state.node
    form = await form_body(request, node.settings.max_body_bytes, required=True)
    # Authentication first (RFC 7662 §2.1, RFC 7009 §2.1): a stranger learns nothing,
    # not even what the request lacks.
    await authenticated_client(request, node, form)
    token = form.get("token")
    if token is None:
        raise malformed("token is required")
    claims = await live_claims(node, token)
    if claims is None:
        return Response(INACTIVE, 200, NO_STORE, media_type="application/json")
    body = {"active": True, **{name: claims[name] for name in _REPORTED if name in claims}, "token_type": token_type(claims)}
    return Response(orjson.dumps(body), 200, NO_STORE, media_type="application/json")


async def live_claims(node: Node, token: str) -> dict[str, Any] | None:
    """The claims of `token` when it is active: issued here, signed by a key of the
    ring, unexpired, not revoked, its client still holding it. Introspection's answer,
    and what the admin API accepts as a bearer token (admin/authorisation.py)."""
    await node.key_cache.refresh_if_stale()
    claims = read_token(token, node.key_cache.verification_keys, node.settings.issuer)
    # A revocation this node has heard of answers at once (and while the store is
    # down); otherwise the store, the authority, is asked every time.
    if (
        claims is None
        or claims["jti"] in node.revoked
        or await node.gate.call("revocation check", node.revocations.is_revoked, claims["jti"])
        or not await _client_still_holds(node, claims)
    ):
        return None
    return claims


async def _client_still_holds(node: Node, claims: dict[str, Any]) -> bool:
    """The token's client exists, is enabled, and has not had its tokens revoked since
    the token was issued; nor is it a new client of a deleted one's id (a token older
    than the client is the old one's). Read through the client cache: other nodes'
    changes arrive by the client-changed announcement, or within
    TOKENSMITH_CLIENT_CACHE_SECONDS."""
    client = await node.client_cache.get(claims["client_id"])
    if client is None or not client.enabled:
        return False
    issued_at: int = claims["iat"]
    return issued_at >= max(client.created_at, client.tokens_not_before or 0)
