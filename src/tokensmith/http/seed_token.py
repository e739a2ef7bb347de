"""`POST /v1/api/oauth/token?scope=…`: the seed's endpoint (DESIGN.md §1).

Its response's `expires_in` is the expiry instant in epoch seconds, equal to the
token's `exp`, as in the seed; the standard endpoint keeps RFC 6749's meaning.

`token_body` answers the request; http/token_route.py calls it for every POST to
this path. The Starlette route (`seed_token`) stays mounted for what is not a POST
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
from tokensmith.http.parsing import form_body, malformed, query_parameters, query_string_parameters, received_form_body
from tokensmith.node import Node

PATH = "/v1/api/oauth/token"
TARGET_PARAMETERS = ("resource", "audience")


def one_value(name: str, query: dict[str, str], form: dict[str, str]) -> str | None:
    """A parameter that may come in the query or the tolerated form, or in both when
    they agree: a request that says two things is refused rather than half-obeyed."""
    value = query.get(name)
    if value is None:
        return form.get(name)
    if name in form and form[name] != value:
        raise malformed(f"The body's {name} differs from the query's {name}")
    return value


async def token_body(
    node: Node, request: Request, authorization: str | None, state: dict[str, Any], source: Callable[[], str]
) -> bytes:
    """The JSON body of the 200 answer, or a TokensmithError."""
    query = query_parameters(request)
    # The body should be empty; a standard client's form is tolerated.
    form = await form_body(request, node.settings.max_body_bytes, required=False)
    scopes, audience = requested(node, query, form)
    token, _ = await issue(
        node, authorization, form, scopes, audience,
        scope_refusal=Problem.INVALID_CLIENT, endpoint=PATH, state=state, source=source,
    )  # fmt: skip
    return answer(token)


def received_token_body(node: Node, scope: Scope, body: bytes, authorization: str | None, state: dict[str, Any]) -> bytes | None:
    """token_body for a request received whole, when answering it needs no I/O
    (http/issuing.py issue_now); None when token_body must answer. A refusal raises
    TokensmithError, which the caller also leaves to token_body."""
    query = query_string_parameters(scope.get("query_string", b""))
    form = received_form_body(scope["headers"], body, node.settings.max_body_bytes, required=False)
    scopes, audience = requested(node, query, form)
    issued = issue_now(node, authorization, form, scopes, audience, scope_refusal=Problem.INVALID_CLIENT, state=state)
    return answer(issued[0]) if issued is not None else None


def requested(node: Node, query: dict[str, str], form: dict[str, str]) -> tuple[tuple[str, ...], str | None]:
    """The scopes and the audience the request asks for."""
    grant_type = form.get("grant_type")
    if grant_type is not None and grant_type != "client_credentials":
        raise TokensmithError(Problem.UNSUPPORTED_GRANT_TYPE)
    scope = one_value("scope", query, form)
    if scope is None:
        raise TokensmithError(Problem.SCOPE_MISSING)
    scopes = parse_scope(scope, max_length=node.settings.seed_max_scope_length)
    if "resource" in query or "audience" in query or "resource" in form or "audience" in form:
        targets = {name: value for name in TARGET_PARAMETERS if (value := one_value(name, query, form)) is not None}
        return scopes, requested_audience(targets)
    return scopes, None


def answer(token: IssuedToken) -> bytes:
    return orjson.dumps({"access_token": token.access_token, "expires_in": token.expires_at, "token_type": "Bearer"})


seed_token = starlette_endpoint(token_body)
