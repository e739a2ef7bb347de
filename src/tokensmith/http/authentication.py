"""Client authentication for the endpoints that require it: the token endpoints,
introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1), behind the
brute-force guard (store/throttle.py): a source that failed too often gets 429 with
Retry-After whatever it presents, and every failure is counted against the source
address and against (source address, client id), never against the client id
alone, so an attacker cannot lock the real client out of its own address."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from tokensmith import metrics
from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH, Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import ClientCredentials, authenticate
from tokensmith.domain.throttling import ThrottleKey, retry_after
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
    state: dict[str, Any] = request.scope.setdefault("state", {})
    return await authenticate_credentials(
        node, credentials, endpoint=request.scope["path"], state=state, source=lambda: source_address(request, node)
    )


async def authenticate_credentials(
    node: Node, credentials: ClientCredentials, *, endpoint: str, state: dict[str, Any], source: Callable[[], str]
) -> Client:
    """authenticate_request without a Request: `state` is the request's state (it gets
    `client_id`, and `authenticated_client_id` on success), `source` gives the source
    address, asked only when the brute-force guard needs it (a block is held in this
    process, or the credentials failed)."""
    client_id = credentials.client_id[:MAX_CLIENT_ID_LENGTH]
    state["client_id"] = client_id
    guard = node.bruteforce
    keys: tuple[ThrottleKey, ...] = ()
    if guard.enabled and guard.holds_blocks():  # in-process: no round trip
        keys = guard.keys_for(source(), client_id)
        wait = guard.blocked_for(keys)
        if wait > 0:
            metrics.throttled.labels(endpoint, "bruteforce").inc()
            raise TokensmithError(Problem.RATE_LIMITED, "Too many failed authentications", retry_after=retry_after(wait))
    client = await node.client_cache.get(credentials.client_id) if credentials.is_plausible() else None
    try:
        client = authenticate(client, credentials, node.checker, int(time.time()))
    except TokensmithError:
        metrics.authentication_failures.labels(endpoint).inc()
        if guard.enabled:
            await guard.record_failure(keys or guard.keys_for(source(), client_id))
        raise
    state["authenticated_client_id"] = client.client_id
    return client


def authenticate_cached(node: Node, credentials: ClientCredentials, state: dict[str, Any]) -> Client | None:
    """authenticate_credentials when it needs no I/O and refuses nothing: the client,
    if its entry (or the entry saying the id is unknown) is cached and fresh, this
    process holds no brute-force block, and the credentials are right. None whenever
    the async path must decide (a store lookup, a block, an imported secret's argon2
    check, a failure to count and refuse), which then does all the work again.

    A wrong secret for a known id and any secret for an unknown id both cost one
    keyed-hash check here before the async path, so they stay alike in time. The
    cache hit is counted by the caller, once the request is answered."""
    guard = node.bruteforce
    if (guard.enabled and guard.holds_blocks()) or not credentials.is_plausible():
        return None
    cached, client = node.client_cache.fresh(credentials.client_id)
    if not cached:
        return None
    if client is not None and client.has_imported_secret:
        return None  # argon2 runs once, on the async path
    try:
        client = authenticate(client, credentials, node.checker, int(time.time()))
    except TokensmithError:
        return None
    state["client_id"] = credentials.client_id[:MAX_CLIENT_ID_LENGTH]
    state["authenticated_client_id"] = client.client_id
    return client
