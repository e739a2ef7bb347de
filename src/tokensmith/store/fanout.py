"""Telling every node at once, through Redis pub/sub: a client changed, the key ring
changed, a token was revoked, a source was blocked, a trusted issuer changed.

Pub/sub delivers at most once, and only to nodes connected at that moment, so it
only ever shortens staleness: the in-process caches keep their own time limits
(client_cache_seconds, key_cache_seconds) and the store stays the authority. A node
that (re)subscribes drops its cached clients and re-reads the key ring, since it may
have missed announcements while it was away.

One channel, `<prefix>events`; each message is a small JSON object:
    {"kind": "client", "subject": "<client id>"}
    {"kind": "keys"}
    {"kind": "revoked", "subject": "<jti>", "expires_at": <epoch seconds>}
    {"kind": "block", "subject": "<throttle key>", "seconds": <float>}
    {"kind": "trust", "subject": "<trust name>"}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import anyio
import orjson

from tokensmith import metrics
from tokensmith.store.redis_link import RedisLink, redis_errors

log = logging.getLogger("tokensmith.fanout")

PING_INTERVAL_SECONDS = 5.0


class EventKind(str, Enum):
    CLIENT = "client"
    KEYS = "keys"
    REVOKED = "revoked"
    BLOCK = "block"
    TRUST = "trust"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    subject: str = ""
    expires_at: int = 0
    seconds: float = 0.0

    def encode(self) -> bytes:
        body: dict[str, Any] = {"kind": self.kind.value}
        if self.subject:
            body["subject"] = self.subject
        if self.expires_at:
            body["expires_at"] = self.expires_at
        if self.seconds:
            body["seconds"] = self.seconds
        return orjson.dumps(body)

    @classmethod
    def decode(cls, data: bytes | str) -> Event | None:
        try:
            body = orjson.loads(data)
            return cls(
                EventKind(body["kind"]),
                str(body.get("subject", "")),
                int(body.get("expires_at", 0)),
                float(body.get("seconds", 0.0)),
            )
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError):
            return None


def client_changed(client_id: str) -> Event:
    return Event(EventKind.CLIENT, client_id)


def trust_changed(name: str) -> Event:
    return Event(EventKind.TRUST, name)


def keys_changed() -> Event:
    return Event(EventKind.KEYS)


def announce_sync(link: RedisLink, events: Iterable[Event]) -> bool:
    """Publishes from a short-lived process (the command line). False when Redis did
    not take the announcement; the nodes then notice through their cache limits."""
    client = link.new_sync_client()
    try:
        for event in events:
            client.publish(link.channel, event.encode())
        return True
    except redis_errors():
        return False
    finally:
        client.close()


async def announce(link: RedisLink, event: Event) -> bool:
    if not link.usable:
        return False
    try:
        await link.client.publish(link.channel, event.encode())
    except redis_errors() as exc:
        link.failed("publish", exc)
        return False
    link.succeeded()
    return True


class FanoutListener:
    """Runs for the life of a server process: subscribes, dispatches events, and
    re-subscribes after Redis goes away and comes back."""

    def __init__(
        self,
        link: RedisLink,
        on_event: Callable[[Event], Awaitable[None]],
        on_join: Callable[[], Awaitable[None]],
    ) -> None:
        self._link = link
        self._on_event = on_event
        self._on_join = on_join
        self.subscribed = False
        self.ready = asyncio.Event()  # set once the first subscription stands

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except redis_errors() as exc:
                self._link.failed("subscribe", exc)
            except Exception:
                log.exception("fan-out listener failed; re-subscribing")
            finally:
                self.subscribed = False
            await asyncio.sleep(self._link.retry_seconds)

    async def _listen(self) -> None:
        client = self._link.new_async_client(socket_timeout=None)
        pubsub = client.pubsub()
        try:
            with anyio.fail_after(max(1.0, self._link.timeout * 4)):
                await pubsub.subscribe(self._link.channel)
                # Wait for the confirmation, so that nothing published after this
                # point can be missed.
                while True:
                    confirmation = await pubsub.get_message(timeout=self._link.timeout)
                    if confirmation is not None and confirmation["type"] == "subscribe":
                        break
            self.subscribed = True
            self._link.succeeded()
            await self._on_join()
            self.ready.set()
            log.info("fan-out subscribed", extra={"channel": self._link.channel})
            last_ping = last_pong = time.monotonic()
            while True:
                message = await pubsub.get_message(timeout=1.0)
                now = time.monotonic()
                if message is not None:
                    if message["type"] == "pong":
                        last_pong = now
                    elif message["type"] == "message":
                        await self._dispatch(message["data"])
                if now - last_ping >= PING_INTERVAL_SECONDS:
                    await pubsub.ping()
                    last_ping = now
                if now - last_pong > 3 * PING_INTERVAL_SECONDS:
                    raise ConnectionError("no answer from Redis on the subscription")
        finally:
            self.subscribed = False
            with anyio.move_on_after(1.0, shield=True):
                try:
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    await client.aclose()
                except redis_errors():
                    pass

    async def _dispatch(self, data: bytes) -> None:
        event = Event.decode(data)
        if event is None:
            log.warning("ignoring a malformed fan-out message")
            return
        metrics.invalidations.labels(event.kind.value).inc()
        try:
            await self._on_event(event)
        except Exception:
            log.exception("handling a fan-out event failed", extra={"kind": event.kind.value})
