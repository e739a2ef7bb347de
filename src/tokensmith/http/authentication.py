"""Client authentication for the endpoints that require it: the token endpoints,
introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1), behind the
brute-force guard (store/throttle.py): a source that failed too often gets 429 with
Retry-After whatever it presents, and every failure is counted against the source
address and against (source address, client id), never against the client id
alone, so an attacker cannot lock the real client out of its own address."""

from __future__ import annotations

import time
from collections.abc import Mapping

from starlette.requests import Request

from tokensmith import metrics
from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH, Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import ClientCredentials, authenticate
from tokensmith.domain.throttling import retry_after
from tokensmith.http.client_auth import client_credentials
from tokensmith.http.source_address import SourceAddresses
from tokensmith.node import Node


async def authenticated_client(request: Request, node: Node, form: Mapping[str, str]) -> Client:
    credentials = client_credentials(request.headers.get("authorization"), form)
    if credentials is None:
        raise TokensmithError(Problem.INVALID_CLIENT)
    return await authenticate_request(request, node, credentials)


def source_address(request: Request, node: Node) -> str:
    addresses: SourceAddresses | None = getattr(request.app.state, "source_addresses", None)
    if addresses is None:
        addresses = request.app.state.source_addresses = SourceAddresses(node.settings.trusted_proxies)
    return addresses.of(request.scope)


async def authenticate_request(request: Request, node: Node, credentials: ClientCredentials) -> Client:
    """The client `credentials` authenticate, or a refusal: 429 while the source is
    blocked, else 401 for any credential failure (which is counted)."""
    client_id = credentials.client_id[:MAX_CLIENT_ID_LENGTH]
    request.state.client_id = client_id
    endpoint = request.scope["path"]
    guard = node.bruteforce
    keys = guard.keys_for(source_address(request, node), client_id) if guard.enabled else ()
    wait = guard.blocked_for(keys) if keys else 0.0  # in-process: no round trip
    if wait > 0:
        metrics.throttled.labels(endpoint, "bruteforce").inc()
        raise TokensmithError(Problem.RATE_LIMITED, "Too many failed authentications", retry_after=retry_after(wait))
    client = await node.client_cache.get(credentials.client_id) if credentials.is_plausible() else None
    try:
        client = authenticate(client, credentials, node.checker, int(time.time()))
    except TokensmithError:
        metrics.authentication_failures.labels(endpoint).inc()
        if keys:
            await guard.record_failure(keys)
        raise
    request.state.authenticated_client_id = client.client_id
    return client
