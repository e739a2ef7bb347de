"""Client changes through the service: validated by the domain's rules, each with its
audit event written in the change's own transaction, and none for a refused one."""

from __future__ import annotations

import pytest

from tokensmith.service.changes import Changes
from tokensmith.service.clients import (
    ClientAlreadyExists,
    ClientChanges,
    ClientNotFound,
    ClientSpec,
    add_secret,
    create_client,
    delete_client,
    remove_secret,
    set_enabled,
    update_client,
)

NOW = 1_750_000_000


def actions(changes: Changes) -> list[str]:
    assert changes.node.audit is not None
    return [event.action.value for event in reversed(changes.node.audit.latest(100))]


def test_each_change_is_stored_with_its_event_by_its_actor(changes: Changes) -> None:
    client, secret = create_client(changes, ClientSpec(scopes=("edit",), client_id="svc", claims={"tier": 3}), NOW)
    assert changes.node.checker.matches(secret.text, client.secrets, NOW)
    update_client(changes, "svc", ClientChanges(name="Service", scopes=("edit", "read")), NOW + 1)
    set_enabled(changes, "svc", False, NOW + 2)
    extra = add_secret(changes, "svc", NOW + 3)
    assert remove_secret(changes, "svc", secret.stored.secret_id, NOW + 4)
    assert not remove_secret(changes, "svc", "sec_unknown", NOW + 5)
    delete_client(changes, "svc", NOW + 6)

    assert actions(changes) == [
        "client.created", "client.changed", "client.disabled", "client.secret_added", "client.secret_removed", "client.deleted",
    ]  # fmt: skip
    assert changes.node.audit is not None
    events = changes.node.audit.latest(100)
    assert {(event.actor, event.host) for event in events} == {("ops@example", "admin-host")}
    assert all(secret.text not in str(event.as_dict()) and extra.text not in str(event.as_dict()) for event in events)
    assert changes.node.clients.get("svc") is None


@pytest.mark.parametrize(
    "spec",
    [
        ClientSpec(scopes=()),
        ClientSpec(scopes=("edit",), claims={"deep": [[[[[[[[[1]]]]]]]]]}),
        ClientSpec(scopes=("edit",), claims={"big": 2**60}),
        ClientSpec(scopes=("edit",), claims={"exp": 1}),
        ClientSpec(scopes=("edit",), lifetime="soon"),
    ],
)
def test_a_refused_client_is_neither_stored_nor_audited(changes: Changes, spec: ClientSpec) -> None:
    with pytest.raises(ValueError):
        create_client(changes, spec, NOW)
    assert changes.node.clients.count() == 0 and actions(changes) == []


def test_refusals_of_changes_leave_the_client_and_the_trail_as_they_were(changes: Changes) -> None:
    create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    with pytest.raises(ClientAlreadyExists):
        create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    with pytest.raises(ValueError):
        update_client(changes, "svc", ClientChanges(set_claims={"big": -(2**60)}), NOW + 1)
    with pytest.raises(ValueError):
        update_client(changes, "svc", ClientChanges(rate_limit=5, clear_rate_limit=True), NOW + 1)
    with pytest.raises(ClientNotFound):
        set_enabled(changes, "nobody", False, NOW)
    with pytest.raises(ClientNotFound):
        delete_client(changes, "nobody", NOW)
    assert actions(changes) == ["client.created"]
    client = changes.node.clients.get("svc")
    assert client is not None and client.claims == {} and client.updated_at == NOW
