"""The part both token endpoints share: authenticate the client, decide scopes and
audience, sign (or, for a client that asked for it, hand back its last token while
that still has most of its lifetime left: store/reuse.py). Each endpoint parses its
own request format and renders its own response format around this."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tokensmith import metrics
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import choose_audience, grant_scopes
from tokensmith.domain.throttling import retry_after
from tokensmith.domain.tokens import IssuedToken, issue_token
from tokensmith.http.authentication import authenticate_cached, authenticate_credentials, source_address
from tokensmith.http.client_auth import client_credentials
from tokensmith.http.errors import NO_STORE
from tokensmith.http.parsing import malformed
from tokensmith.node import Node


def requested_audience(params: Mapping[str, str]) -> str | None:
    """RFC 8707 `resource`, or the widely used `audience`; one target per token."""
    resource, audience = params.get("resource"), params.get("audience")
    if resource is not None and audience is not None and resource != audience:
        raise malformed("Give resource or audience, not both")
    return resource if resource is not None else audience


async def issue(
    node: Node,
    authorization: str | None,
    form: Mapping[str, str],
    scopes: tuple[str, ...] | None,
    audience: str | None,
    *,
    scope_refusal: Problem,
    endpoint: str,
    state: dict[str, Any],
    source: Callable[[], str],
) -> tuple[IssuedToken, int]:
    """The token for a request, and the instant (epoch seconds) it was answered.

    `authorization` is the request's Authorization header, `state` its state (it gets
    the client ids the access log and the metrics report), `source` its source address
    (asked only when the brute-force guard needs it)."""
    credentials = client_credentials(authorization, form)
    if credentials is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    client = await authenticate_credentials(node, credentials, endpoint=endpoint, state=state, source=source)
    now = int(time.time())
    granted = grant_scopes(client, scopes, refusal=scope_refusal)
    target = choose_audience(client, audience, node.settings.audience)
    if client.rate_limit is not None:
        decision = await node.issuance.take(client.client_id, client.rate_limit)
        if not decision.allowed:
            metrics.throttled.labels(endpoint, "issuance").inc()
            raise TokensmithError(
                Problem.RATE_LIMITED, "Token issuance limit reached for this client", retry_after=retry_after(decision.retry_after_seconds)
            )
    key_cache = node.key_cache
    await key_cache.refresh_if_stale()
    signer = key_cache.signer
    if signer is None:
        raise TokensmithError(Problem.UNAVAILABLE, "No active signing key")
    if client.reuse_tokens and (reuse := node.reuse) is not None:
        token = await reuse.find(client, granted, target, signer.kid, now)
        if token is None:
            token = issue_token(signer, client, issuer=node.settings.issuer, audience=target, scopes=granted, now=now)
            reuse.keep(client, granted, target, signer.kid, token)
        return token, now
    return issue_token(signer, client, issuer=node.settings.issuer, audience=target, scopes=granted, now=now), now


def issue_now(
    node: Node,
    authorization: str | None,
    form: Mapping[str, str],
    scopes: tuple[str, ...] | None,
    audience: str | None,
    *,
    scope_refusal: Problem,
    state: dict[str, Any],
) -> tuple[IssuedToken, int] | None:
    """`issue` for a request that needs no I/O: a client whose cache entry is fresh
    (http/authentication.py authenticate_cached), no issuance limit or token reuse to
    consult, a fresh key ring. None when the async `issue` must answer; a refusal
    raises TokensmithError as there, and the caller answers it through `issue` too."""
    credentials = client_credentials(authorization, form)
    if credentials is None:
        return None
    client = authenticate_cached(node, credentials, state)
    if client is None or client.rate_limit is not None or (client.reuse_tokens and node.reuse is not None):
        return None
    key_cache = node.key_cache
    signer = key_cache.signer
    if signer is None or not key_cache.is_fresh():
        return None
    now = int(time.time())
    granted = grant_scopes(client, scopes, refusal=scope_refusal)
    target = choose_audience(client, audience, node.settings.audience)
    node.client_cache.count_hit()
    key_cache.count_hit()
    return issue_token(signer, client, issuer=node.settings.issuer, audience=target, scopes=granted, now=now), now


TokenBody = Callable[[Node, Request, "str | None", dict[str, Any], Callable[[], str]], Awaitable[bytes]]


def starlette_endpoint(token_body: TokenBody) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of a token path, answering with its `token_body`. In
    `tokensmith serve` a POST is answered by http/token_route.py before it gets here;
    the route stays for the other methods (405 with Allow) and for the Starlette app
    served alone."""

    async def endpoint(request: Request) -> Response:
        node: Node = request.app.state.node
        body = await token_body(
            node, request, request.headers.get("authorization"), request.scope.setdefault("state", {}),
            lambda: source_address(request, node),
        )  # fmt: skip
        return Response(body, 200, NO_STORE, media_type="application/json")

    return endpoint
