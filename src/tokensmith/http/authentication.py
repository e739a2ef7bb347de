"""Client authentication for introspection (RFC 7662 §2.1) and revocation (RFC 7009
§2.1): the same methods and the same steps behind the brute-force guard as the
token endpoints (exchange/authentication/), run by the same driver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from tokensmith.domain.assertions import AssertionRules
from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.exchange.authentication.authenticate import Trace, authenticate
from tokensmith.exchange.authentication.methods import Checks, presented_credential
from tokensmith.exchange.driver import Driver
from tokensmith.exchange.flow import CLIENT_AUTHENTICATION_METHODS
from tokensmith.node import Node


def authentication_checks(node: Node) -> Checks:
    """What this node checks credentials with. A client assertion's aud is the
    issuer identifier, and the token endpoints' URLs only where the operator allows
    them (rfc7523bis §4)."""
    settings = node.settings
    audiences = {settings.issuer}
    if settings.assertion_audience_token_endpoint:
        audiences |= {f"{settings.issuer}{path}" for path in ("/oauth2/token", "/v1/api/oauth/token")}
    rules = AssertionRules(frozenset(audiences), settings.assertion_max_lifetime_seconds, settings.assertion_leeway_seconds)
    return Checks(node.checker, rules, settings.issuer)


async def authenticated_client(request: Request, node: Node, form: Mapping[str, str]) -> Client:
    """The client the request authenticates as, or a refusal: 429 while the source is
    blocked, else 401 invalid_client (counted)."""
    credential = presented_credential(request.headers.get("authorization"), form, CLIENT_AUTHENTICATION_METHODS)
    if credential is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    trace = Trace()
    state: dict[str, Any] = request.scope.setdefault("state", {})
    driver = Driver(node, request.scope["path"], request.app.state.source_addresses, request.scope)
    try:
        return await driver.run(authenticate(credential, authentication_checks(node), trace))
    finally:
        trace.report(state)
