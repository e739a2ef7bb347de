"""The one driver of exchanges: answers each need of a flow from a node's caches,
counters and store. `run_now` answers only what needs no waiting and stops at the
first need that would wait (the protocol's no-I/O path: http/protocol.py); `run`
awaits what it must; `resume` goes on from where `run_now` stopped, so a request is
never decided twice.

Each need has an answer without waiting (`_now_*`, which raises Waits when it cannot)
and, where it can wait, one that awaits (`_later_*`). A `_later_*` is only ever called
after its `_now_*` raised Waits: what the `_now_*` did before raising is not redone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from tokensmith import metrics
from tokensmith.domain.throttling import ThrottleKey
from tokensmith.domain.trusts import Trust
from tokensmith.exchange import needs
from tokensmith.http.parsing import BodyHead
from tokensmith.jose.jwk import VerificationKey
from tokensmith.node import Node
from tokensmith.outbound.key_sets import KeySource, KeysUnavailable
from tokensmith.outbound.policy import FetchFailed, FetchRefused
from tokensmith.store.replay import ReplayUnchecked

T = TypeVar("T")
Flow = Generator[needs.Need, Any, T]
BodyReader = Callable[[BodyHead, int], Awaitable[bytes]]

# Blocking checks (argon2) run here, two at a time: enough for a legitimate imported
# secret's first check, and a burst of guesses queues here rather than taking every
# thread of the default pool (or the event loop).
_SLOW_CHECKS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tokensmith-slow-check")


_NOT_YET = object()


class Waits(Exception):
    """A need that cannot be answered without waiting."""


@dataclass(slots=True)
class Suspended:
    """A flow stopped at a need that waits: `resume` goes on from here."""

    flow: Flow[Any]
    need: needs.Need


class Source(Protocol):
    """Where a request comes from (http/source_address.py: trusted proxies only)."""

    def of(self, scope: Any) -> str: ...


class Driver:
    """Answers needs for one request: `scope` is its ASGI scope, whose source address
    `addresses` tells when the brute-force guard needs it; `read_body` reads the body
    when the exchange asks for it (a body received whole comes in the TokenRequest)."""

    __slots__ = ("_addresses", "_admitted", "_endpoint", "_keys", "_node", "_read_body", "_scope")

    def __init__(self, node: Node, endpoint: str, addresses: Source, scope: Any, read_body: BodyReader | None = None) -> None:
        self._node = node
        self._endpoint = endpoint
        self._addresses = addresses
        self._scope = scope
        self._read_body = read_body
        self._keys: tuple[ThrottleKey, ...] | None = None
        self._admitted: Any = _NOT_YET  # a client looked up by _now_admit before it had to wait

    # -- running ---------------------------------------------------------------------

    def run_now(self, flow: Flow[T]) -> T | Suspended:
        """The flow's result if it finishes without waiting, else where it stopped.
        A refusal raises as the flow raises it."""
        answer: Any = None
        answers = _NOW
        while True:
            try:
                need = flow.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                answer = answers[type(need)](self, need)
            except Waits:
                return Suspended(flow, need)

    async def run(self, flow: Flow[T]) -> T:
        return await self._go(flow, None)

    async def resume(self, suspended: Suspended) -> Any:
        return await self._go(suspended.flow, suspended.need)

    async def _go(self, flow: Flow[T], pending: needs.Need | None) -> T:
        answer: Any = await _LATER[type(pending)](self, pending) if pending is not None else None
        while True:
            try:
                need = flow.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                answer = _NOW[type(need)](self, need)
            except Waits:
                answer = await _LATER[type(need)](self, need)

    # -- answers without waiting ------------------------------------------------------

    def _now_signer(self, need: needs.Signer) -> Any:
        ring = self._node.key_cache
        if not ring.is_fresh():
            raise Waits
        ring.count_hit()
        return ring.signer

    def _now_admit(self, need: needs.Admit) -> needs.Admission:
        guard = self._node.bruteforce
        blocked = self._blocked(need.client_id)
        if blocked is not None:
            return blocked
        client = None
        if need.look_up:
            cache = self._node.client_cache
            cached, client = cache.fresh(need.client_id)
            if not cached:
                raise Waits
            cache.count_hit()
        if not self._suspect(need.client_id):
            return needs.Admission(0.0, client, None)  # no recent failure from this source
        if guard.shared():
            self._admitted = client  # _later_admit goes on from the count ahead
            raise Waits
        reservation = self._reserved(guard.reserve_here(self._keys_for(need.client_id), known=client is not None), need.client_id, client is not None)
        return needs.Admission(reservation.blocked_for, client, reservation)

    def _now_reserve(self, need: needs.Reserve) -> needs.Reservation | None:
        guard = self._node.bruteforce
        if not guard.enabled:
            return None
        if guard.shared():
            raise Waits
        return self._reserved(guard.reserve_here(self._keys_for(need.client_id), known=need.known), need.client_id, need.known)

    def _now_failed(self, need: needs.Failed) -> None:
        metrics.authentication_failures.labels(self._endpoint, need.method, need.reason).inc()
        guard = self._node.bruteforce
        if not guard.enabled:
            return
        keys = self._keys_for(need.client_id)
        # Noted at once, before any wait: this process's next attempts from the source
        # are counted ahead from here on (on either path).
        guard.note_failure(keys)
        if need.reservation is None or not need.reservation.counted:
            if guard.shared():
                raise Waits  # counted in Redis by _later_failed
            guard.record_here(keys, known=need.known)

    def _now_used(self, need: needs.Used) -> None:
        metrics.incrementer(metrics.client_authentications, need.method)()
        if need.credential is not None:
            self._node.last_used.note(need.client_id, need.credential)

    def _now_client_keys(self, need: needs.ClientKeys) -> tuple[VerificationKey, ...] | None:
        client = need.client
        if client.jwks_uri is None:
            return client.registered_keys
        key_sets = self._node.key_sets
        if key_sets is None:
            return None
        keys: tuple[VerificationKey, ...] | None = key_sets.get(client.jwks_uri).keys_now(need.kid)
        if keys is None:
            raise Waits
        return keys

    def _now_trust(self, need: needs.TrustOf) -> Trust | None:
        cached, trust = self._node.trust_cache.fresh(need.name)
        if not cached:
            raise Waits
        return trust

    def _now_trust_keys(self, need: needs.TrustKeys) -> tuple[VerificationKey, ...] | None:
        trust = need.trust
        if trust.jwks is not None:
            return trust.registered_keys
        source = self._trust_key_source(trust)
        if source is None:
            return None
        keys = source.keys_now(need.kid)
        if keys is None:
            raise Waits
        return keys

    def _now_first_use(self, need: needs.FirstUse) -> bool | None:
        replay = self._node.replay
        if replay.shared():
            raise Waits  # one Redis round trip, awaited
        try:
            return replay.first_use_here(need.key, need.expires_at)
        except ReplayUnchecked:
            return None

    def _now_release(self, need: needs.Release) -> None:
        guard = self._node.bruteforce
        if guard.shared():
            raise Waits
        guard.release_here(self._keys_for(need.reservation.client_id))

    def _now_reused(self, need: needs.ReusedToken) -> None:
        if self._node.reuse is None:
            return
        raise Waits

    def _now_keep(self, need: needs.KeepToken) -> None:
        reuse = self._node.reuse
        if reuse is not None:
            reuse.keep(need.client, need.scopes, need.audience, need.kid, need.token)

    def _waits(self, need: needs.Need) -> Any:
        raise Waits

    # -- answers that wait --------------------------------------------------------------

    async def _later_admit(self, need: needs.Admit) -> needs.Admission:
        guard = self._node.bruteforce
        if self._admitted is _NOT_YET:
            # The lookup waited: the source may have been blocked meanwhile, and the
            # count ahead (if any) must come after the lookup, right before the check.
            client = await self._node.client_cache.get(need.client_id) if need.look_up else None
            blocked = self._blocked(need.client_id)
            if blocked is not None:
                return blocked
            if not self._suspect(need.client_id):
                return needs.Admission(0.0, client, None)
        else:
            client, self._admitted = self._admitted, _NOT_YET
        known = client is not None
        # In Redis when it answers, else in this process (BruteForceGuard.reserve).
        reservation = self._reserved(await guard.reserve(self._keys_for(need.client_id), known=known), need.client_id, known)
        return needs.Admission(reservation.blocked_for, client, reservation)

    async def _later_signer(self, need: needs.Signer) -> Any:
        ring = self._node.key_cache
        await ring.refresh_if_stale()
        return ring.signer

    async def _later_body(self, need: needs.ReadBody) -> bytes:
        assert self._read_body is not None
        return await self._read_body(need.head, need.limit)

    async def _later_reserve(self, need: needs.Reserve) -> needs.Reservation:
        blocked = await self._node.bruteforce.reserve(self._keys_for(need.client_id), known=need.known)
        return self._reserved(blocked, need.client_id, need.known)

    async def _later_failed(self, need: needs.Failed) -> None:
        await self._node.bruteforce.record_failure(self._keys_for(need.client_id), known=need.known)

    async def _later_release(self, need: needs.Release) -> None:
        await self._node.bruteforce.release(self._keys_for(need.reservation.client_id))

    async def _later_client_keys(self, need: needs.ClientKeys) -> tuple[VerificationKey, ...] | None:
        assert need.client.jwks_uri is not None and self._node.key_sets is not None
        return await fetched_keys(self._node.key_sets.get(need.client.jwks_uri), need.kid, client_id=need.client.client_id)

    async def _later_trust(self, need: needs.TrustOf) -> Trust | None:
        return await self._node.trust_cache.get(need.name)

    async def _later_trust_keys(self, need: needs.TrustKeys) -> tuple[VerificationKey, ...] | None:
        source = self._trust_key_source(need.trust)
        assert source is not None
        return await fetched_keys(source, need.kid, trust=need.trust.name)

    async def _later_first_use(self, need: needs.FirstUse) -> bool | None:
        try:
            return await self._node.replay.first_use(need.key, need.expires_at)
        except ReplayUnchecked:
            return None

    async def _later_in_thread(self, need: needs.InThread) -> Any:
        return await asyncio.get_running_loop().run_in_executor(_SLOW_CHECKS, need.call)

    async def _later_issuance(self, need: needs.TakeIssuance) -> Any:
        decision = await self._node.issuance.take(need.client_id, need.per_minute)
        if not decision.allowed:
            metrics.throttled.labels(self._endpoint, "issuance").inc()
        return decision

    async def _later_reused(self, need: needs.ReusedToken) -> Any:
        reuse = self._node.reuse
        assert reuse is not None
        return await reuse.find(need.client, need.scopes, need.audience, need.kid, need.now)

    # -- helpers ----------------------------------------------------------------------

    def _trust_key_source(self, trust: Trust) -> KeySource | None:
        """Where a trust's keys are fetched from: its jwks_uri, else its issuer's
        discovery document."""
        key_sets = self._node.key_sets
        if key_sets is None:
            return None
        return key_sets.for_trust(trust.issuer, trust.jwks_uri)

    def _blocked(self, client_id: str) -> needs.Admission | None:
        """The refusal of a source blocked in this process (no round trip), or None."""
        guard = self._node.bruteforce
        if not (guard.enabled and guard.holds_blocks()):
            return None
        wait = guard.blocked_for(self._keys_for(client_id))
        if wait <= 0:
            return None
        metrics.throttled.labels(self._endpoint, "bruteforce").inc()
        return needs.Admission(wait, None, None)

    def _suspect(self, client_id: str) -> bool:
        """Whether this source failed recently in this process (its attempts are then
        counted ahead of their check)."""
        guard = self._node.bruteforce
        return guard.enabled and guard.suspects_any() and guard.suspects(self._keys_for(client_id))

    def _keys_for(self, client_id: str) -> tuple[ThrottleKey, ...]:
        if self._keys is None:
            self._keys = self._node.bruteforce.keys_for(self._addresses.of(self._scope), client_id)
        return self._keys

    def _reserved(self, blocked_for: float, client_id: str, known: bool) -> needs.Reservation:
        if blocked_for > 0:
            metrics.throttled.labels(self._endpoint, "bruteforce").inc()
            return needs.Reservation(client_id, known, blocked_for, counted=False)
        return needs.Reservation(client_id, known, 0.0, counted=True)


_NOW: dict[type, Callable[[Driver, Any], Any]] = {
    needs.ReadBody: Driver._waits,
    needs.Admit: Driver._now_admit,
    needs.Reserve: Driver._now_reserve,
    needs.Release: Driver._now_release,
    needs.Failed: Driver._now_failed,
    needs.Used: Driver._now_used,
    needs.ClientKeys: Driver._now_client_keys,
    needs.TrustOf: Driver._now_trust,
    needs.TrustKeys: Driver._now_trust_keys,
    needs.FirstUse: Driver._now_first_use,
    needs.InThread: Driver._waits,
    needs.TakeIssuance: Driver._waits,
    needs.Signer: Driver._now_signer,
    needs.ReusedToken: Driver._now_reused,
    needs.KeepToken: Driver._now_keep,
}
_LATER: dict[type, Callable[[Driver, Any], Awaitable[Any]]] = {
    needs.ReadBody: Driver._later_body,
    needs.Admit: Driver._later_admit,
    needs.Reserve: Driver._later_reserve,
    needs.Release: Driver._later_release,
    needs.Failed: Driver._later_failed,
    needs.ClientKeys: Driver._later_client_keys,
    needs.TrustOf: Driver._later_trust,
    needs.TrustKeys: Driver._later_trust_keys,
    needs.FirstUse: Driver._later_first_use,
    needs.InThread: Driver._later_in_thread,
    needs.TakeIssuance: Driver._later_issuance,
    needs.Signer: Driver._later_signer,
    needs.ReusedToken: Driver._later_reused,
}


_outbound_log = logging.getLogger("tokensmith.outbound")


async def fetched_keys(source: KeySource, kid: str | None, **whose: str) -> tuple[VerificationKey, ...] | None:
    """The keys a remote set has for `kid` after the fetch it is due, or None when
    it has none usable: the fetch was refused by the SSRF guard or failed, and no
    earlier copy is left. Logged with whose keys they are (a registered client's
    id or a trust's name), never with the assertion."""
    try:
        return await source.keys(kid)
    except (KeysUnavailable, FetchRefused, FetchFailed) as exc:
        _outbound_log.warning("verification keys unavailable", extra={**whose, "error": str(exc)[:300]})
        return None
