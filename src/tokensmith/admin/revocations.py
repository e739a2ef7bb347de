"""`/admin/v1/revocations`: an operator revokes one token (a leaked one), given the
token itself. Its `jti` is kept until the token's `exp`, every node refuses it at
introspection at once, and the change is audited (the jti and client, never the
token). Every token of a client: `POST /admin/v1/clients/{id}/revoke-tokens`."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin.authorisation import CLIENTS_WRITE, authorise
from tokensmith.admin.bodies import Fields, invalid, json_object
from tokensmith.admin.calls import json_response, run
from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.domain.introspection import read_token
from tokensmith.node import Node
from tokensmith.service.revocations import revoke_token_as_operator

COLLECTION = "/admin/v1/revocations"


async def revoke(request: Request) -> Response:
    caller = await authorise(request, CLIENTS_WRITE)
    fields = Fields(await json_object(request))
    token = fields.text("token")
    fields.done()
    if not token:
        invalid("token is required")
    node: Node = request.app.state.node
    await node.key_cache.refresh_if_stale()
    claims = read_token(token, node.key_cache.verification_keys, node.settings.issuer)
    if claims is None:
        # Nothing to revoke; said plainly to an operator (RFC 7009's 200 is for clients).
        raise AdminError(AdminProblem.REFUSED, "not a live token of this server: forged, of another issuer, or expired already")
    revoked = await run(revoke_token_as_operator, caller.changes, claims, int(time.time()))
    body = {"jti": claims["jti"], "client_id": claims["client_id"], "expires_at": claims["exp"], "already_revoked": not revoked}
    return json_response(body)
