"""Trusted issuers cached like clients (store/cache.py): read once per TTL, unknown
names cached too, dropped at once on a trust announcement (node.apply_event)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.conftest import make_node
from tokensmith.domain.trusts import Trust
from tokensmith.store.cache import TrustCache
from tokensmith.store.fanout import Event, EventKind, trust_changed
from tokensmith.store.trusts import TrustRepository

pytestmark = pytest.mark.anyio


class CountingTrusts(TrustRepository):
    """The real repository, counting the lookups that reach the store."""

    calls = 0

    def get(self, name: str) -> Trust | None:
        self.calls += 1
        return super().get(name)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_trust_is_read_once_per_ttl_and_an_unknown_name_too(tmp_path: Path) -> None:
    node = make_node(tmp_path, audit_log="off")
    trusts, clock = CountingTrusts(node.engine), Clock()
    trusts.create(Trust("cluster", "https://cluster.example"))
    cache = TrustCache(trusts, 5.0, clock=clock)
    assert cache.fresh("cluster") == (False, None)
    first = await cache.get("cluster")
    assert first is not None and first.issuer == "https://cluster.example"
    assert await cache.get("cluster") == first and await cache.get("nobody") is None and await cache.get("nobody") is None
    assert trusts.calls == 2 and cache.fresh("cluster") == (True, first) and cache.fresh("nobody") == (True, None)
    clock.now += 5.0
    assert cache.fresh("cluster") == (False, None)
    await cache.get("cluster")
    assert trusts.calls == 3
    node.engine.dispose()


async def test_an_announcement_drops_the_trust_at_once(tmp_path: Path) -> None:
    node = make_node(tmp_path, audit_log="off", client_cache_seconds=300)
    node.trusts.create(Trust("cluster", "https://cluster.example"))
    assert (await node.trust_cache.get("cluster")) is not None
    node.trusts.update(Trust("cluster", "https://moved.example"))
    assert node.trust_cache.fresh("cluster")[1] == Trust("cluster", "https://cluster.example")
    assert Event.decode(trust_changed("cluster").encode()) == Event(EventKind.TRUST, "cluster")
    await node.apply_event(trust_changed("cluster"))
    assert node.trust_cache.fresh("cluster") == (False, None)
    moved = await node.trust_cache.get("cluster")
    assert moved is not None and moved.issuer == "https://moved.example"
    await node.rejoin_fanout()  # missed announcements: everything is read again
    assert node.trust_cache.fresh("cluster") == (False, None)
    node.engine.dispose()
