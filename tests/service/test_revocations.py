"""Revoking every token of a client: the instant, its same-second rule, its audit
event, and that no other change of the client can move it back."""

from __future__ import annotations

import pytest

from tokensmith.service.changes import Changes
from tokensmith.service.clients import ClientChanges, ClientNotFound, ClientSpec, create_client, update_client
from tokensmith.service.revocations import revoke_client_tokens

NOW = 1_750_000_000


class Clock:
    """Wall time read from a script: each call the next reading, then the last again."""

    def __init__(self, *readings: float) -> None:
        self._readings = list(readings)

    def __call__(self) -> float:
        return self._readings.pop(0) if len(self._readings) > 1 else self._readings[0]


def test_the_instant_is_the_next_whole_second_and_the_call_returns_once_it_began(changes: Changes) -> None:
    create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    clock = Clock(NOW + 10.25, NOW + 10.999999, NOW + 11.0)
    assert revoke_client_tokens(changes, "svc", clock=clock) == NOW + 11
    # Every token of second NOW+10 (before or after the command) is refused; the
    # call did not return before second NOW+11, whose tokens are live.
    assert clock() == NOW + 11.0
    client = changes.node.clients.get("svc")
    assert client is not None and client.tokens_not_before == NOW + 11
    assert changes.node.audit is not None
    (event,) = changes.node.audit.latest(1, action="client.tokens_revoked")
    assert event.subject == "svc" and event.details == {"tokens_not_before": NOW + 11}


def test_a_later_change_or_an_earlier_instant_never_moves_it_back(changes: Changes) -> None:
    create_client(changes, ClientSpec(scopes=("edit",), client_id="svc"), NOW)
    revoke_client_tokens(changes, "svc", clock=Clock(NOW + 100.0, NOW + 101.0))
    update_client(changes, "svc", ClientChanges(name="renamed"), NOW + 50)
    # From a machine whose clock is behind: the instant stays where it was.
    assert revoke_client_tokens(changes, "svc", clock=Clock(NOW + 20.0, NOW + 21.0)) == NOW + 101
    client = changes.node.clients.get("svc")
    assert client is not None and client.tokens_not_before == NOW + 101 and client.name == "renamed"


def test_an_unknown_client_is_refused_and_not_audited(changes: Changes) -> None:
    with pytest.raises(ClientNotFound):
        revoke_client_tokens(changes, "nobody", clock=Clock(NOW + 0.5, NOW + 1.0))
    assert changes.node.audit is not None and changes.node.audit.latest(10) == []
