"""Client authentication for introspection (RFC 7662 §2.1) and revocation (RFC 7009
§2.1): the same methods and the same steps behind the brute-force guard as the
token endpoints (exchange/authentication/), run by the same driver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.exchange.authentication.authenticate import Trace, authenticate
from tokensmith.exchange.authentication.methods import presented_credential
from tokensmith.exchange.driver import Driver
from tokensmith.exchange.flow import TOKEN_ENDPOINT_METHODS
from tokensmith.node import Node


async def authenticated_client(request: Request, node: Node, form: Mapping[str, str]) -> Client:
    """The client the request authenticates as, or a refusal: 429 while the source is
    blocked, else 401 invalid_client (counted)."""
    credential = presented_credential(request.headers.get("authorization"), form, TOKEN_ENDPOINT_METHODS)
    if credential is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    trace = Trace()
    state: dict[str, Any] = request.scope.setdefault("state", {})
    driver = Driver(node, request.scope["path"], request.app.state.source_addresses, request.scope)
    try:
        return await driver.run(authenticate(credential, node.checker, trace))
    finally:
        trace.report(state)
