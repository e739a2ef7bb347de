"""Prometheus metrics: every metric tokensmith exports, defined once.

Labels are bounded: an endpoint is its route template (never the raw path), a
client id is one that authenticated (an unauthenticated caller's id is attacker
input and would blow up the series count), a reason is a catalogue problem name.

With `tokensmith serve --workers N` (N > 1) the serve command points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers start, and
/metrics aggregates every worker's values (prometheus_client multiprocess mode).
"""

from __future__ import annotations

import functools
import os
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# `*_created` series double the output and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

tokens_issued = Counter(
    "tokensmith_tokens_issued", "Access tokens issued.", ["endpoint", "client_id"]
)
tokens_refused = Counter(
    "tokensmith_tokens_refused",
    "Token requests refused, by catalogue problem (invalid_client, rate_limited, unavailable, ...).",
    ["endpoint", "reason", "client_id"],
)
authentication_failures = Counter(
    "tokensmith_authentication_failures",
    "Failed client authentications, by method and reason (never by client id: the id may be unknown).",
    ["endpoint", "method", "reason"],
)
client_authentications = Counter(
    "tokensmith_client_authentications", "Successful client authentications, by method.", ["method"]
)
replay_checks = Counter(
    "tokensmith_replay_checks_unanswered", "Assertion replay checks that could not be answered (refused for now).", ["result"]
)
throttled = Counter(
    "tokensmith_throttled", "Requests refused with 429.", ["endpoint", "kind"]
)
bruteforce_blocks = Counter(
    "tokensmith_bruteforce_blocks", "Sources blocked after repeated failed authentications (by this process).", ["scope"]
)
requests = Counter(
    "tokensmith_http_requests", "HTTP requests by route template and status.", ["endpoint", "method", "status"]
)
request_latency = Histogram(
    "tokensmith_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["endpoint", "method"],
    buckets=LATENCY_BUCKETS,
)
cache_lookups = Counter(
    "tokensmith_cache_lookups",
    "In-process cache lookups: hit, miss (read the store), stale (store down, served past its TTL).",
    ["cache", "result"],
)
store_errors = Counter(
    "tokensmith_store_errors", "Store calls that failed or timed out.", ["operation"]
)
redis_errors = Counter("tokensmith_redis_errors", "Redis calls that failed or timed out.", ["operation"])
invalidations = Counter(
    "tokensmith_fanout_events_received", "Events received from other nodes through Redis.", ["kind"]
)
outbound_fetches = Counter(
    "tokensmith_outbound_fetches",
    "Fetches of registered URLs (jwks_uri, issuer discovery): ok, refused (by the outbound policy), failed.",
    ["result"],
)
signing_key = Gauge(
    "tokensmith_signing_key",
    "1 for the key this process signs with, labelled by its kid and algorithm.",
    ["kid", "algorithm"],
    multiprocess_mode="livemax",
)

_children: dict[tuple[object, tuple[str, ...]], Any] = {}
_incrementers: dict[tuple[object, tuple[str, ...]], Callable[[], None]] = {}
_observers: dict[tuple[object, tuple[str, ...]], Callable[[float], None]] = {}
_MAX_CHILDREN = 100_000


def child(metric: Any, *labelvalues: str) -> Any:
    """`metric.labels(*labelvalues)`, looked up once per label set: `labels()` checks
    and converts its arguments and takes a lock on every call. Label values must
    already be strings (every label here is)."""
    key = (metric, labelvalues)
    found = _children.get(key)
    if found is None:
        if len(_children) >= _MAX_CHILDREN:  # labels are bounded; this is a backstop
            _children.clear()
            _incrementers.clear()
            _observers.clear()
        found = _children[key] = metric.labels(*labelvalues)
    return found


def incrementer(counter: Counter, *labelvalues: str) -> Callable[[], None]:
    """A function that adds 1 to one labelled child of `counter`: its value's own
    `inc` (what Counter.inc calls after checking the amount), or Counter.inc itself
    where the value is not reachable. Made once per label set."""
    key = (counter, labelvalues)
    found = _incrementers.get(key)
    if found is None:
        labelled = child(counter, *labelvalues)
        value_inc = getattr(getattr(labelled, "_value", None), "inc", None)
        found = _incrementers[key] = functools.partial(value_inc, 1) if callable(value_inc) else labelled.inc
    return found


def observer(histogram: Histogram, *labelvalues: str) -> Callable[[float], None]:
    """A function that observes one value in one labelled child of `histogram`: the
    sum and the first bucket whose bound holds it, as Histogram.observe does (without
    exemplars, which tokensmith does not use). Made once per label set."""
    key = (histogram, labelvalues)
    found = _observers.get(key)
    if found is None:
        labelled = child(histogram, *labelvalues)
        bounds = getattr(labelled, "_upper_bounds", None)
        buckets = getattr(labelled, "_buckets", None)
        total = getattr(labelled, "_sum", None)
        if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
            found = labelled.observe
        else:
            bucket_inc = [bucket.inc for bucket in buckets]
            sum_inc = total.inc
            bounds = list(bounds)

            def observe(amount: float) -> None:
                sum_inc(amount)
                bucket_inc[bisect_left(bounds, amount)](1)

            found = observe
        _observers[key] = found
    return found


_current_key: tuple[str, str] | None = None


def set_signing_key(kid: str | None, algorithm: str | None) -> None:
    """Moves the 1 to the new key (the old one's series stays at 0, which also works
    across worker processes, where a series cannot be removed)."""
    global _current_key
    new = (kid, algorithm) if kid and algorithm else None
    if new == _current_key:
        return
    if _current_key is not None:
        signing_key.labels(*_current_key).set(0)
    if new is not None:
        signing_key.labels(*new).set(1)
    _current_key = new


def exposition() -> tuple[bytes, str]:
    """The text format body and its media type."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
