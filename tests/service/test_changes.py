"""What follows a committed change: its announcement on the Redis channel every node
listens to (so caches drop it at once), and a notice, not a failure, without Redis."""

from __future__ import annotations

from pathlib import Path

from tests.service.conftest import make_node
from tests.support.services import REDIS_URL
from tokensmith.domain.audit import Actor
from tokensmith.service.changes import Changes
from tokensmith.service.clients import ClientSpec, create_client, set_enabled
from tokensmith.service.keys import ensure_signing_key, remove_key
from tokensmith.store.fanout import Event, EventKind

NOW = 1_750_000_000


def test_client_and_key_changes_are_announced_to_every_node(tmp_path: Path, prefix: str) -> None:
    import redis

    node = make_node(tmp_path, audit_log="off", redis_url=REDIS_URL, redis_prefix=prefix)
    assert node.redis is not None
    changes = Changes(node, Actor("ops", "host"))
    listener = redis.Redis.from_url(REDIS_URL).pubsub()
    listener.subscribe(node.redis.channel)
    assert listener.get_message(timeout=5) is not None  # the subscription stands

    ensure_signing_key(changes)
    create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    set_enabled(changes, "svc", False, NOW + 1)
    active = next(key for key in node.keys.all() if key.state.value == "active")
    remove_key(changes, active.kid)

    heard = []
    while (message := listener.get_message(timeout=2)) is not None:
        heard.append(Event.decode(message["data"]))
    listener.close()
    assert heard == [Event(EventKind.CLIENT, "svc"), Event(EventKind.CLIENT, "svc"), Event(EventKind.KEYS)]
    node.engine.dispose()


def test_without_a_reachable_redis_the_change_stands_and_the_operator_is_told(tmp_path: Path) -> None:
    node = make_node(tmp_path, audit_log="off", redis_url="redis://127.0.0.1:1/0", redis_timeout_seconds=0.5)
    notices: list[str] = []
    create_client(Changes(node, Actor("ops", "host"), notices.append), ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    assert node.clients.get("svc") is not None
    assert len(notices) == 1 and "within their cache limits" in notices[0]
    node.engine.dispose()
