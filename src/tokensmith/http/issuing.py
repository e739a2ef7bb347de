"""The part both token endpoints share: authenticate the client, decide scopes and
audience, sign. Each endpoint parses its own request format and renders its own
response format around this."""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request

from tokensmith import metrics
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import choose_audience, grant_scopes
from tokensmith.domain.throttling import retry_after
from tokensmith.domain.tokens import IssuedToken, issue_token
from tokensmith.http.authentication import authenticate_request
from tokensmith.http.client_auth import client_credentials
from tokensmith.http.parsing import malformed
from tokensmith.node import Node


def requested_audience(params: Mapping[str, str]) -> str | None:
    """RFC 8707 `resource`, or the widely used `audience`; one target per token."""
    resource, audience = params.get("resource"), params.get("audience")
    if resource is not None and audience is not None and resource != audience:
        raise malformed("Give resource or audience, not both")
    return resource if resource is not None else audience


async def issue_for_request(
    request: Request,
    node: Node,
    form: Mapping[str, str],
    scopes: tuple[str, ...] | None,
    audience: str | None,
    *,
    scope_refusal: Problem,
) -> IssuedToken:
    credentials = client_credentials(request.headers.get("authorization"), form)
    if credentials is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    client = await authenticate_request(request, node, credentials)
    now = int(time.time())
    granted = grant_scopes(client, scopes, refusal=scope_refusal)
    target = choose_audience(client, audience, node.settings.audience)
    if client.rate_limit is not None:
        decision = await node.issuance.take(client.client_id, client.rate_limit)
        if not decision.allowed:
            metrics.throttled.labels(request.scope["path"], "issuance").inc()
            raise TokensmithError(
                Problem.RATE_LIMITED, "Token issuance limit reached for this client", retry_after=retry_after(decision.retry_after_seconds)
            )
    await node.key_cache.refresh_if_stale()
    signer = node.key_cache.signer
    if signer is None:
        raise TokensmithError(Problem.UNAVAILABLE, "No active signing key")
    return issue_token(signer, client, issuer=node.settings.issuer, audience=target, scopes=granted, now=now)
