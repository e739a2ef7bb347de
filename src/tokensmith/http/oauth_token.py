"""`POST /oauth2/token`: the client_credentials grant as RFC 6749 §4.4 defines it,
for every standard OAuth client.

`token_body` answers the request; http/token_route.py calls it for every POST to
this path. The Starlette route (`oauth_token`) stays mounted for what is not a POST
(405 with Allow), the OpenAPI document, and anything that serves the Starlette app
alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Scope

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.scopes import parse_scope
from tokensmith.domain.tokens import IssuedToken
from tokensmith.http.issuing import issue, issue_now, requested_audience, starlette_endpoint
from tokensmith.http.parsing import form_body, malformed, received_form_body
from tokensmith.node import Node

PATH = "/oauth2/token"


async def token_body(
    node: Node, request: Request, authorization: str | None, state: dict[str, Any], source: Callable[[], str]
) -> bytes:
    """The JSON body of the 200 answer, or a TokensmithError."""
    form = await form_body(request, node.settings.max_body_bytes, required=True)
    scopes, audience = requested(node, form)
    token, now = await issue(
        node, authorization, form, scopes, audience,
        scope_refusal=Problem.INVALID_SCOPE, endpoint=PATH, state=state, source=source,
    )  # fmt: skip
    return answer(token, now)


def received_token_body(node: Node, scope: Scope, body: bytes, authorization: str | None, state: dict[str, Any]) -> bytes | None:
    """token_body for a request received whole, when answering it needs no I/O
    (http/issuing.py issue_now); None when token_body must answer. A refusal raises
    TokensmithError, which the caller also leaves to token_body."""
    form = received_form_body(scope["headers"], body, node.settings.max_body_bytes, required=True)
    scopes, audience = requested(node, form)
    issued = issue_now(node, authorization, form, scopes, audience, scope_refusal=Problem.INVALID_SCOPE, state=state)
    return answer(*issued) if issued is not None else None


def requested(node: Node, form: dict[str, str]) -> tuple[tuple[str, ...] | None, str | None]:
    """The scopes (None: the client's default) and the audience the form asks for."""
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise malformed("grant_type is required")
    if grant_type != "client_credentials":
        raise TokensmithError(Problem.UNSUPPORTED_GRANT_TYPE)
    scope = form.get("scope")
    scopes = parse_scope(scope, max_length=node.settings.max_scope_length) if scope is not None else None
    return scopes, requested_audience(form)


def answer(token: IssuedToken, now: int) -> bytes:
    # A reused token (store/reuse.py) has fewer seconds left than a new one.
    body = {"access_token": token.access_token, "token_type": "Bearer", "expires_in": token.seconds_left(now), "scope": token.scope}
    return orjson.dumps(body)


oauth_token = starlette_endpoint(token_body)
