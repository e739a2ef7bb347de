"""Keys, trusts and federated credentials through the service: each change stored
with its audit event in one transaction, none for a refused or failed change, and
nothing secret in any event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import make_node
from tests.support.client_keys import ec_jwks
from tests.support.services import REDIS_URL
from tokensmith.domain.audit import Actor, AuditAction
from tokensmith.domain.client_keys import AuthMethod
from tokensmith.service.changes import Changes
from tokensmith.service.clients import ClientChanges, ClientSpec, create_client, federate, unfederate, update_client
from tokensmith.service.trusts import (
    TrustAlreadyExists,
    TrustChanges,
    TrustInUse,
    TrustNotFound,
    TrustSpec,
    add_trust,
    list_trusts,
    remove_trust,
    show_trust,
    update_trust,
)
from tokensmith.store import audit as audit_store
from tokensmith.store.fanout import Event, EventKind

NOW = 1_750_000_000
SUBJECT = "system:serviceaccount:payments:batch"


def events(changes: Changes) -> list[tuple[str, str, dict[str, Any]]]:
    assert changes.node.audit is not None
    return [(e.action.value, e.subject, dict(e.details)) for e in reversed(changes.node.audit.latest(100))]


def federated(changes: Changes, client_id: str = "wl") -> None:
    create_client(changes, ClientSpec(scopes=("edit",), client_id=client_id, auth_method=AuthMethod.FEDERATED), NOW)


def test_a_client_with_keys_gets_no_secret_and_its_event_names_the_kids(changes: Changes) -> None:
    client, secret = create_client(
        changes, ClientSpec(scopes=("edit",), client_id="pk", auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1", "k2")), NOW
    )
    assert secret is None and client.secrets == ()
    stored = changes.node.clients.get("pk")
    assert stored is not None and stored.jwks == client.jwks and stored.auth_method is AuthMethod.PRIVATE_KEY_JWT
    [(action, subject, details)] = events(changes)
    assert (action, subject, details["secrets"]) == ("client.created", "pk", [])
    assert details["client"]["auth_method"] == "private_key_jwt"
    assert details["client"]["jwks"] == {"kids": ["k1", "k2"]}  # the kids, not the keys


@pytest.mark.parametrize(
    "spec",
    [
        ClientSpec(scopes=("edit",), auth_method=AuthMethod.PRIVATE_KEY_JWT),
        ClientSpec(scopes=("edit",), auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks={"keys": [{"kty": "oct", "kid": "s", "k": "eA"}]}),
        ClientSpec(scopes=("edit",), jwks_uri="https://svc.example/jwks"),
        ClientSpec(scopes=("edit",), auth_method=AuthMethod.FEDERATED, imported_secret="an-imported-secret-text"),
    ],
)
def test_a_refused_keyed_client_is_neither_stored_nor_audited(changes: Changes, spec: ClientSpec) -> None:
    with pytest.raises(ValueError):
        create_client(changes, spec, NOW)
    assert changes.node.clients.count() == 0 and events(changes) == []


def test_leaving_secrets_removes_them_only_when_asked_and_in_the_same_change(changes: Changes) -> None:
    _, secret = create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    assert secret is not None
    to_keys = ClientChanges(auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1"))
    with pytest.raises(ValueError, match=r"1 live secret.*--remove-secrets"):
        update_client(changes, "svc", to_keys, NOW + 1)
    before = changes.node.clients.get("svc")
    assert before is not None and before.secrets == (secret.stored,) and before.auth_method is AuthMethod.CLIENT_SECRET_BASIC

    after = update_client(changes, "svc", ClientChanges(auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1"), remove_secrets=True), NOW + 2)
    assert after.secrets == () and changes.node.clients.get("svc") == after
    action, _, details = events(changes)[-1]
    assert action == "client.changed" and details["secrets_removed"] == [secret.stored.secret_id]
    assert details["changes"]["auth_method"] == {"from": "client_secret_basic", "to": "private_key_jwt"}
    assert details["changes"]["jwks"] == {"from": None, "to": {"kids": ["k1"]}}

    # Keys by URI instead, then back to secrets: the keys go with the method.
    assert update_client(changes, "svc", ClientChanges(jwks_uri="https://svc.example/jwks"), NOW + 3).jwks is None
    back = update_client(changes, "svc", ClientChanges(auth_method=AuthMethod.CLIENT_SECRET_POST), NOW + 4)
    assert (back.jwks, back.jwks_uri, back.auth_method) == (None, None, AuthMethod.CLIENT_SECRET_POST)


def test_a_failed_write_of_a_method_change_keeps_the_secrets(changes: Changes, monkeypatch: pytest.MonkeyPatch) -> None:
    _, secret = create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    assert secret is not None

    def failing(connection: object, event: object) -> None:
        raise RuntimeError("the audit table is gone")

    monkeypatch.setattr(audit_store, "record", failing)
    with pytest.raises(RuntimeError):
        update_client(changes, "svc", ClientChanges(auth_method=AuthMethod.FEDERATED, remove_secrets=True), NOW + 1)
    monkeypatch.undo()
    client = changes.node.clients.get("svc")
    assert client is not None and client.secrets == (secret.stored,) and client.auth_method is AuthMethod.CLIENT_SECRET_BASIC


def test_federated_credentials_are_added_and_removed_with_their_events(changes: Changes) -> None:
    add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    federated(changes)
    federation = federate(changes, "wl", "cluster", SUBJECT, ("kubernetes.io.namespace=payments",), NOW + 1)
    stored = changes.node.clients.get("wl")
    assert stored is not None and stored.federations == (federation,)
    assert unfederate(changes, "wl", federation.federation_id, NOW + 2)
    assert not unfederate(changes, "wl", federation.federation_id, NOW + 3)
    summary = {
        "federation_id": federation.federation_id, "trust": "cluster", "subject": SUBJECT,
        "conditions": ["kubernetes.io.namespace=payments"],
    }  # fmt: skip
    assert [(a, s, d) for a, s, d in events(changes) if a.startswith("client.") and "federat" in a] == [
        ("client.federated", "wl", {"federation": summary}),
        ("client.unfederated", "wl", {"federation": summary}),
    ]


def test_federated_credentials_move_the_revision_and_are_counted_on_their_trust(changes: Changes) -> None:
    """The admin API's ETag covers a client's federated credentials; a trust's listing
    counts the credentials that use it."""
    add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    add_trust(changes, TrustSpec("unused", "https://ci.example"), NOW)
    federated(changes)
    before = changes.node.clients.get("wl")
    assert before is not None
    federation = federate(changes, "wl", "cluster", SUBJECT, (), NOW + 1)
    added = changes.node.clients.get("wl")
    assert added is not None and added.revision == before.revision + 1
    assert [(trust.name, used) for trust, used in list_trusts(changes)] == [("cluster", 1), ("unused", 0)]
    assert show_trust(changes, "cluster")[1] == 1
    unfederate(changes, "wl", federation.federation_id, NOW + 2)
    removed = changes.node.clients.get("wl")
    assert removed is not None and removed.revision == added.revision + 1
    assert show_trust(changes, "cluster")[1] == 0
    with pytest.raises(TrustNotFound):
        show_trust(changes, "nowhere")


def test_refused_federations_change_nothing(changes: Changes) -> None:
    add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    create_client(changes, ClientSpec(scopes=("edit",), client_id="secret-client"), NOW)
    federated(changes)
    before = events(changes)
    with pytest.raises(TrustNotFound):
        federate(changes, "wl", "no-such-trust", SUBJECT, (), NOW)
    with pytest.raises(ValueError, match="not federated"):
        federate(changes, "secret-client", "cluster", SUBJECT, (), NOW)
    with pytest.raises(ValueError, match="checked by the trust"):
        federate(changes, "wl", "cluster", SUBJECT, ("iss=https://elsewhere",), NOW)
    assert events(changes) == before
    client = changes.node.clients.get("wl")
    assert client is not None and client.federations == ()


def test_trusts_are_added_changed_and_removed_with_their_events(changes: Changes) -> None:
    add_trust(changes, TrustSpec("cluster", "https://cluster.example", replay="single-use", max_token_age=600), NOW)
    with pytest.raises(TrustAlreadyExists):
        add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    with pytest.raises(ValueError, match="unknown replay rule"):
        add_trust(changes, TrustSpec("other", "https://other.example", replay="twice"), NOW)
    changed = update_trust(changes, "cluster", TrustChanges(jwks=ec_jwks("b1"), audience="https://tokens.example"), NOW + 1)
    assert changed.jwks is not None and changed.jwks_uri is None and changes.node.trusts.get("cluster") == changed
    with pytest.raises(ValueError, match="one of"):
        update_trust(changes, "cluster", TrustChanges(jwks_uri="https://k.example/jwks", discovery=True), NOW + 2)
    assert update_trust(changes, "cluster", TrustChanges(discovery=True, default_audience=True), NOW + 3).jwks is None
    with pytest.raises(TrustNotFound):
        update_trust(changes, "nobody", TrustChanges(issuer="https://x.example"), NOW)
    assert remove_trust(changes, "cluster", NOW + 4) == ()
    with pytest.raises(TrustNotFound):
        remove_trust(changes, "cluster", NOW + 5)

    trail = events(changes)
    assert [(a, s) for a, s, _ in trail] == [
        ("trust.added", "trust:cluster"), ("trust.changed", "trust:cluster"), ("trust.changed", "trust:cluster"),
        ("trust.removed", "trust:cluster"),
    ]  # fmt: skip
    assert trail[0][2]["trust"]["replay"] == "single-use" and trail[0][2]["trust"]["max_token_age"] == 600
    assert trail[1][2]["changes"]["jwks"] == {"from": None, "to": {"kids": ["b1"]}}
    assert trail[1][2]["changes"]["audience"] == {"from": None, "to": "https://tokens.example"}


def test_a_trust_in_use_is_removed_only_with_its_federations(changes: Changes) -> None:
    add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    federated(changes, "wl-a")
    federated(changes, "wl-b")
    first = federate(changes, "wl-a", "cluster", SUBJECT, (), NOW)
    second = federate(changes, "wl-b", "cluster", "system:serviceaccount:payments:other", (), NOW)
    before = events(changes)
    with pytest.raises(TrustInUse) as refused:
        remove_trust(changes, "cluster", NOW + 1)
    assert refused.value.count == 2 and events(changes) == before

    removed = remove_trust(changes, "cluster", NOW + 2, force=True)
    assert sorted(removed) == sorted([("wl-a", first), ("wl-b", second)])
    assert changes.node.trusts.get("cluster") is None
    assert all(c.federations == () for c in changes.node.clients.list())
    taken = events(changes)[len(before) :]
    assert sorted((a, s) for a, s, _ in taken[:2]) == [("client.unfederated", "wl-a"), ("client.unfederated", "wl-b")]
    assert taken[2][:2] == ("trust.removed", "trust:cluster")
    by_client = {s: d for a, s, d in taken[:2]}
    assert by_client["wl-a"]["trust_removed"] is True and by_client["wl-a"]["federation"]["federation_id"] == first.federation_id


def test_a_forced_removal_that_fails_removes_nothing(changes: Changes, monkeypatch: pytest.MonkeyPatch) -> None:
    add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    federated(changes)
    federation = federate(changes, "wl", "cluster", SUBJECT, (), NOW)
    before = events(changes)
    record = audit_store.record

    def failing_at_the_last(connection: Any, event: Any) -> None:
        if event.action is AuditAction.TRUST_REMOVED:
            raise RuntimeError("the audit table is gone")
        record(connection, event)

    monkeypatch.setattr(audit_store, "record", failing_at_the_last)
    with pytest.raises(RuntimeError):
        remove_trust(changes, "cluster", NOW + 1, force=True)
    monkeypatch.undo()
    assert events(changes) == before
    assert changes.node.trusts.get("cluster") is not None
    client = changes.node.clients.get("wl")
    assert client is not None and client.federations == (federation,)


def test_trust_changes_are_announced_with_the_clients_they_touch(tmp_path: Path, prefix: str) -> None:
    import redis

    node = make_node(tmp_path, audit_log="off", redis_url=REDIS_URL, redis_prefix=prefix)
    assert node.redis is not None
    changes = Changes(node, Actor("ops", "host"))
    add_trust(changes, TrustSpec("cluster", "https://cluster.example"), NOW)
    federated(changes)
    listener = redis.Redis.from_url(REDIS_URL).pubsub()
    listener.subscribe(node.redis.channel)
    assert listener.get_message(timeout=5) is not None

    federation = federate(changes, "wl", "cluster", SUBJECT, (), NOW)
    update_trust(changes, "cluster", TrustChanges(max_token_age=60), NOW)
    unfederate(changes, "wl", federation.federation_id, NOW)
    federate(changes, "wl", "cluster", SUBJECT, (), NOW)
    remove_trust(changes, "cluster", NOW, force=True)

    heard = []
    while (message := listener.get_message(timeout=2)) is not None:
        heard.append(Event.decode(message["data"]))
    listener.close()
    client, trust = Event(EventKind.CLIENT, "wl"), Event(EventKind.TRUST, "cluster")
    assert heard == [client, trust, client, client, trust, client]
    node.engine.dispose()


def test_new_keys_drop_the_last_use_of_the_keys_they_replace(changes: Changes) -> None:
    create_client(
        changes, ClientSpec(scopes=("edit",), client_id="pk", auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1", "k2")), NOW
    )
    changes.node.credential_uses.record({("pk", "key:k1"): NOW + 1, ("pk", "key:k2"): NOW + 2})
    update_client(changes, "pk", ClientChanges(name="renamed"), NOW + 3)
    assert changes.node.credential_uses.for_client("pk") == {"key:k1": NOW + 1, "key:k2": NOW + 2}
    update_client(changes, "pk", ClientChanges(jwks=ec_jwks("k2", "k3")), NOW + 4)
    assert changes.node.credential_uses.for_client("pk") == {"key:k2": NOW + 2}
