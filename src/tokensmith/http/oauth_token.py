"""`POST /oauth2/token`: the client_credentials grant as RFC 6749 §4.4 defines it,
for every standard OAuth client."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.scopes import parse_scope
from tokensmith.http.errors import NO_STORE
from tokensmith.http.issuing import issue_for_request, requested_audience
from tokensmith.http.parsing import form_body, malformed
from tokensmith.node import Node

PATH = "/oauth2/token"


async def oauth_token(request: Request) -> Response:
    node: Node = request.app.state.node
    form = await form_body(request, node.settings.max_body_bytes, required=True)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise malformed("grant_type is required")
    if grant_type != "client_credentials":
        raise TokensmithError(Problem.UNSUPPORTED_GRANT_TYPE)
    scope = form.get("scope")
    scopes = parse_scope(scope, max_length=node.settings.max_scope_length) if scope is not None else None
    audience = requested_audience(form)
    token = await issue_for_request(request, node, form, scopes, audience, scope_refusal=Problem.INVALID_SCOPE)
    body = {
        "access_token": token.access_token,
        "token_type": "Bearer",
        "expires_in": token.seconds_left(token.issued_at),
        "scope": token.scope,
    }
    return Response(orjson.dumps(body), 200, NO_STORE, media_type="application/json")
