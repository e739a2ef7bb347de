"""The one driver of exchanges: answers each need of a flow from a node's caches,
counters and store. `run_now` answers only what needs no waiting and stops at the
first need that would wait (the protocol's no-I/O path: http/protocol.py); `run`
awaits what it must; `resume` goes on from where `run_now` stopped, so a request is
never decided twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from tokensmith import metrics
from tokensmith.domain.throttling import ThrottleKey
from tokensmith.exchange import needs
from tokensmith.http.parsing import BodyHead, received_body
from tokensmith.node import Node

T = TypeVar("T")
Flow = Generator[needs.Need, Any, T]
BodyReader = Callable[[BodyHead, int], Awaitable[bytes]]

# Blocking checks (argon2) run here, two at a time: enough for a legitimate imported
# secret's first check, and a burst of guesses queues here rather than taking every
# thread of the default pool (or the event loop).
_SLOW_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokensmith-slow-check")


class Waits(Exception):
    """A need that cannot be answered without waiting."""


@dataclass(slots=True)
class Suspended:
    """A flow stopped at a need that waits: `resume` goes on from here."""

    flow: Flow[Any]
    need: needs.Need


class Driver:
    """Answers needs for one request. `body` is the request's body when it has all
    arrived; otherwise `read_body` reads it. `source` gives the caller's address,
    asked only when the brute-force guard needs it."""

    def __init__(
        self, node: Node, endpoint: str, source: Callable[[], str], *, body: bytes | None = None, read_body: BodyReader | None = None
    ) -> None:
        self._node = node
        self._endpoint = endpoint
        self._source = source
        self._body = body
        self._read_body = read_body
        self._keys: tuple[ThrottleKey, ...] | None = None

    # -- running ---------------------------------------------------------------------

    def run_now(self, flow: Flow[T]) -> T | Suspended:
        """The flow's result if it finishes without waiting, else where it stopped.
        A refusal raises as the flow raises it."""
        answer: Any = None
        now = self.now
        while True:
            try:
                need = flow.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                answer = now(need)
            except Waits:
                return Suspended(flow, need)

    async def run(self, flow: Flow[T]) -> T:
        return await self._go(flow, None, False)

    async def resume(self, suspended: Suspended) -> Any:
        return await self._go(suspended.flow, suspended.need, True)

    async def _go(self, flow: Flow[T], pending: needs.Need | None, has_pending: bool) -> T:
        answer: Any = await self.later(pending) if has_pending and pending is not None else None
        while True:
            try:
                need = flow.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                answer = self.now(need)
            except Waits:
                answer = await self.later(need)

    # -- answers without waiting ----------------------------------------------------------

    def now(self, need: needs.Need) -> Any:
        node = self._node
        match need:
            case needs.LookupClient(client_id=client_id):
                cached, client = node.client_cache.fresh(client_id)
                if not cached:
                    raise Waits
                node.client_cache.count_hit()
                return client
            case needs.Signer():
                ring = node.key_cache
                if not ring.is_fresh():
                    raise Waits
                ring.count_hit()
                return ring.signer
            case needs.ReadBody(head=head, limit=limit):
                if self._body is None:
                    raise Waits
                return received_body(head, self._body, limit)
            case needs.BlockedFor(client_id=client_id):
                guard = node.bruteforce
                if not (guard.enabled and guard.holds_blocks()):
                    return 0.0
                wait = guard.blocked_for(self._keys_for(client_id))
                if wait > 0:
                    metrics.throttled.labels(self._endpoint, "bruteforce").inc()
                return wait
            case needs.Reserve(client_id=client_id, needed=needed, known=known):
                guard = node.bruteforce
                if not guard.enabled or not (needed or guard.suspects(self._keys_for(client_id))):
                    return None
                if guard.shared():
                    raise Waits
                return self._reserved(guard.reserve_here(self._keys_for(client_id), known=known), client_id, known)
            case needs.Failed(client_id=client_id, reservation=reservation, known=known):
                metrics.authentication_failures.labels(self._endpoint).inc()
                guard = node.bruteforce
                if guard.enabled:
                    keys = self._keys_for(client_id)
                    # Noted at once, before any wait: this process's next attempts from
                    # the source are counted ahead from here on (on either path).
                    guard.note_failure(keys)
                    if reservation is None or not reservation.counted:
                        if guard.shared():
                            raise Waits  # counted in Redis by `later`
                        guard.record_here(keys, known=known)
                return None
            case needs.Release(reservation=reservation):
                guard = node.bruteforce
                if guard.shared():
                    raise Waits
                guard.release_here(self._keys_for(reservation.client_id))
                return None
            case needs.ReusedToken():
                if node.reuse is None:
                    return None
                raise Waits
            case needs.KeepToken(client=client, scopes=scopes, audience=audience, kid=kid, token=token):
                if node.reuse is not None:
                    node.reuse.keep(client, scopes, audience, kid, token)
                return None
            case needs.InThread() | needs.TakeIssuance():
                raise Waits
        raise TypeError(f"unknown need {type(need).__name__}")

    # -- answers that wait --------------------------------------------------------------

    async def later(self, need: needs.Need) -> Any:
        """The answer to a need `now` refused with Waits (only ever called after it:
        what `now` did before refusing is not done again)."""
        node = self._node
        match need:
            case needs.LookupClient(client_id=client_id):
                return await node.client_cache.get(client_id)
            case needs.Signer():
                await node.key_cache.refresh_if_stale()
                return node.key_cache.signer
            case needs.ReadBody(head=head, limit=limit):
                assert self._read_body is not None
                return await self._read_body(head, limit)
            case needs.Reserve(client_id=client_id, known=known):
                keys = self._keys_for(client_id)
                return self._reserved(await node.bruteforce.reserve(keys, known=known), client_id, known)
            case needs.Failed(client_id=client_id, known=known):
                await node.bruteforce.record_failure(self._keys_for(client_id), known=known)
                return None
            case needs.Release(reservation=reservation):
                await node.bruteforce.release(self._keys_for(reservation.client_id))
                return None
            case needs.InThread(call=call):
                return await asyncio.get_running_loop().run_in_executor(_SLOW_CHECKS, call)
            case needs.TakeIssuance(client_id=client_id, per_minute=per_minute):
                decision = await node.issuance.take(client_id, per_minute)
                if not decision.allowed:
                    metrics.throttled.labels(self._endpoint, "issuance").inc()
                return decision
            case needs.ReusedToken(client=client, scopes=scopes, audience=audience, kid=kid, now=now):
                assert node.reuse is not None
                return await node.reuse.find(client, scopes, audience, kid, now)
        return self.now(need)

    # -- helpers ----------------------------------------------------------------------

    def _keys_for(self, client_id: str) -> tuple[ThrottleKey, ...]:
        if self._keys is None:
            self._keys = self._node.bruteforce.keys_for(self._source(), client_id)
        return self._keys

    def _reserved(self, blocked_for: float, client_id: str, known: bool) -> needs.Reservation:
        if blocked_for > 0:
            metrics.throttled.labels(self._endpoint, "bruteforce").inc()
            return needs.Reservation(client_id, known, blocked_for, counted=False)
        return needs.Reservation(client_id, known, 0.0, counted=True)

