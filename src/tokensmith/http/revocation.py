"""`POST /oauth2/revoke` (RFC 7009): a client revokes one of its own tokens.

A token that is invalid, expired or unknown is answered 200 like a revoked one
(RFC 7009 §2.2): there is nothing left to revoke. The revoked `jti` is kept only
until the token's `exp`."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.introspection import read_token
from tokensmith.http.authentication import authenticated_client
from tokensmith.http.errors import NO_STORE
from tokensmith.http.parsing import form_body, malformed
from tokensmith.node import Node
from tokensmith.service.revocations import revoke_token

PATH = "/oauth2/revoke"


async def revoke(request: Request) -> Response:
    node: Node = request.app.state.node
    form = await form_body(request, node.settings.max_body_bytes, required=True)
    # Authentication first (RFC 7662 §2.1, RFC 7009 §2.1): a stranger learns nothing,
    # not even what the request lacks.
    client = await authenticated_client(request, node, form)
    token = form.get("token")
    if token is None:
        raise malformed("token is required")
    await node.key_cache.refresh_if_stale()
    claims = read_token(token, node.key_cache.verification_keys, node.settings.issuer)
    if claims is not None:
        if claims["client_id"] != client.client_id:
            raise TokensmithError(Problem.TOKEN_NOT_OWNED)
        await revoke_token(node, claims, int(time.time()))
    return Response(b"", 200, NO_STORE)
