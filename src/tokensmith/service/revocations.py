"""Revocations: one token (RFC 7009, asked for by the client that holds it), or every
token of a client issued up to now (an administrator's `clients revoke-tokens`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.domain.audit import AuditAction
from tokensmith.node import Node
from tokensmith.service.changes import Changes
from tokensmith.service.clients import ClientNotFound
from tokensmith.store.fanout import Event, EventKind, announce, client_changed


async def revoke_token(node: Node, claims: Mapping[str, Any], now: int) -> None:
    """Revokes the token whose verified `claims` are given: its `jti` kept until its
    `exp` in the store, in this node's set, and announced so that every node's
    introspection knows at once. Not an audit event: it is the holder's own request
    (RFC 7009 §2.1), one per token, and the revocations table is its record."""
    jti, expires_at = claims["jti"], claims["exp"]
    await node.gate.call("revoke", node.revocations.revoke, jti, claims["client_id"], expires_at, now)
    node.revoked.add(jti, expires_at)
    if node.redis is not None:
        await announce(node.redis, Event(EventKind.REVOKED, jti, expires_at=expires_at))


def revoke_token_as_operator(changes: Changes, claims: Mapping[str, Any], now: int) -> bool:
    """An operator revokes one token (a leaked one, say) whose verified `claims` are
    given: stored with its audit event (the jti and client, never the token), then
    announced as any revocation is. False when it was revoked already."""
    jti, client_id, expires_at = claims["jti"], claims["client_id"], claims["exp"]
    audit_event = changes.event(AuditAction.TOKEN_REVOKED, client_id, now, jti=jti, expires_at=expires_at)
    revoked = changes.node.revocations.revoke(jti, client_id, expires_at, now, audit_event)
    changes.node.revoked.add(jti, expires_at)
    changes.done(audit_event if revoked else None, Event(EventKind.REVOKED, jti, expires_at=expires_at))
    return revoked


def revoke_client_tokens(changes: Changes, client_id: str, *, clock: Callable[[], float] = time.time) -> int:
    """Every token issued to the client up to now becomes inactive at introspection;
    answers the client's new `tokens_not_before`.

    A token's `iat` is whole seconds, so a token issued in this second cannot be told
    from one issued before the command. The instant is the next whole second: every
    token of this second is refused too (fail closed), and this call returns only once
    that second has begun, so a token asked for after it returns is active."""
    started = clock()
    not_before = math.floor(started) + 1
    audit_event = changes.event(AuditAction.TOKENS_REVOKED, client_id, int(started), tokens_not_before=not_before)
    instant = changes.node.clients.revoke_tokens(client_id, not_before, int(started), audit_event)
    if instant is None:
        raise ClientNotFound(client_id)
    changes.done(audit_event, client_changed(client_id))
    while (left := not_before - clock()) > 0:
        time.sleep(left)
    return instant
