"""What the admin API added to the application layer, on a real store: client pages,
revision-checked changes, idempotent creates, console links and sessions, and the
audit search."""

from __future__ import annotations

import pytest

from tokensmith.domain.audit import AuditAction
from tokensmith.service.changes import Changes
from tokensmith.service.clients import (
    ClientChanges,
    ClientQuery,
    ClientSpec,
    IdempotencyClaim,
    IdempotencyKeyUsed,
    StaleRevision,
    add_secret,
    create_client,
    delete_client,
    find_clients,
    update_client,
)
from tokensmith.service.console import end_session, issue_login_link, link_is_usable, redeem_login_link, session_of
from tokensmith.store.audit import AuditQuery

NOW = 1_750_000_000


def test_every_write_moves_the_revision_and_a_stale_one_writes_nothing(changes: Changes) -> None:
    client, _ = create_client(changes, ClientSpec(scopes=("read",), client_id="rev"), NOW)
    assert client.revision == 0
    changed = update_client(changes, "rev", ClientChanges(name="one"), NOW, expected_revision=0)
    assert changed.revision == 1
    add_secret(changes, "rev", NOW)
    stored = changes.node.clients.get("rev")
    assert stored is not None and stored.revision == 2
    events = len(changes.node.audit.latest(100)) if changes.node.audit else 0
    with pytest.raises(StaleRevision):
        update_client(changes, "rev", ClientChanges(name="two"), NOW, expected_revision=1)
    with pytest.raises(StaleRevision):
        delete_client(changes, "rev", NOW, expected_revision=0)
    after = changes.node.clients.get("rev")
    assert after is not None and after.name == "one"
    assert changes.node.audit is not None and len(changes.node.audit.latest(100)) == events


def test_enabled_alone_is_recorded_as_disabling(changes: Changes) -> None:
    create_client(changes, ClientSpec(scopes=("read",), client_id="off"), NOW)
    assert not update_client(changes, "off", ClientChanges(enabled=False), NOW).enabled
    update_client(changes, "off", ClientChanges(enabled=True, name="both"), NOW)
    assert changes.node.audit is not None
    assert [e.action for e in changes.node.audit.latest(2)] == [AuditAction.CLIENT_CHANGED, AuditAction.CLIENT_DISABLED]


def test_an_idempotency_key_is_taken_with_the_client(changes: Changes) -> None:
    claim = IdempotencyClaim("client:ops", "key-1", "f" * 64)
    client, _ = create_client(changes, ClientSpec(scopes=("read",)), NOW, claim)
    with pytest.raises(IdempotencyKeyUsed) as used:
        create_client(changes, ClientSpec(scopes=("read",)), NOW, claim)
    assert used.value.client_id == client.client_id
    assert changes.node.clients.count() == 1
    # Another actor's key of the same text is its own.
    create_client(changes, ClientSpec(scopes=("read",)), NOW, IdempotencyClaim("person:alice", "key-1", "e" * 64))
    assert changes.node.clients.count() == 2


def test_pages_filter_by_text_state_and_scope(changes: Changes) -> None:
    for client_id, scopes in (("a-1", ("read",)), ("a-2", ("read", "write")), ("b_1", ("write",)), ("a%3", ("readx",))):
        create_client(changes, ClientSpec(scopes=scopes, client_id=client_id, name=client_id.upper()), NOW)
    update_client(changes, "a-2", ClientChanges(enabled=False), NOW)
    ids = lambda **query: [c.client_id for c in find_clients(changes, ClientQuery(**query))]  # noqa: E731
    assert ids() == ["a%3", "a-1", "a-2", "b_1"]
    assert ids(text="a-") == ["a-1", "a-2"]
    assert ids(text="%") == ["a%3"] and ids(text="_") == ["b_1"]  # LIKE's wildcards are plain characters
    assert ids(scope="read") == ["a-1", "a-2"]
    assert ids(enabled=False) == ["a-2"]
    assert ids(limit=2) == ["a%3", "a-1"] and ids(limit=2, after="a-1") == ["a-2", "b_1"]
    with pytest.raises(ValueError):
        find_clients(changes, ClientQuery(limit=0))


def test_a_login_link_opens_one_session_and_logging_out_ends_it(changes: Changes) -> None:
    code = issue_login_link(changes, "alice", 60, NOW)
    assert link_is_usable(changes, code, NOW) and not link_is_usable(changes, code, NOW + 60)
    assert redeem_login_link(changes, code, NOW + 60) is None  # expired at its ttl
    code = issue_login_link(changes, "alice", 60, NOW)
    opened = redeem_login_link(changes, code, NOW + 1)
    assert opened is not None
    session, cookie = opened
    assert session.person == "alice" and session.actor_name == "person:alice"
    assert redeem_login_link(changes, code, NOW + 2) is None
    assert session_of(changes, cookie, NOW + 2) == session
    assert session_of(changes, cookie, session.expires_at) is None
    end_session(changes, session, NOW + 3)
    assert session_of(changes, cookie, NOW + 3) is None
    assert changes.node.audit is not None
    events = changes.node.audit.search(AuditQuery(subject="console:alice"))
    assert [e.action for e in events] == [AuditAction.CONSOLE_LOGOUT, AuditAction.CONSOLE_LOGIN, AuditAction.CONSOLE_LINK_ISSUED, AuditAction.CONSOLE_LINK_ISSUED]
    assert events[1].actor == "person:alice" and code not in str(events) and cookie not in str(events)
    for bad in ("", " ", "x" * 101, "tab\there"):
        with pytest.raises(ValueError):
            issue_login_link(changes, bad, 60, NOW)
    with pytest.raises(ValueError):
        issue_login_link(changes, "alice", 3601, NOW)


def test_the_audit_search_filters_and_pages(changes: Changes) -> None:
    for index in range(4):
        create_client(changes, ClientSpec(scopes=("read",), client_id=f"s{index}"), NOW + index)
    audit = changes.node.audit
    assert audit is not None
    newest = audit.search(AuditQuery(limit=2))
    older = audit.search(AuditQuery(limit=2, before=newest[-1].event_id))
    assert [e.subject for e in newest + older] == ["s3", "s2", "s1", "s0"]
    assert [e.subject for e in audit.search(AuditQuery(since=NOW + 1, until=NOW + 2))] == ["s2", "s1"]
    assert [e.subject for e in audit.search(AuditQuery(actor="ops@example", action="client.created", subject="s1"))] == ["s1"]
    assert audit.search(AuditQuery(actor="someone else")) == []
