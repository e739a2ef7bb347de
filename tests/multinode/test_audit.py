"""Every administrative command leaves an audit event (who, what, when, from where)
in the store and on the log stream, and no event ever holds a secret."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from tests.multinode.cluster import make_nodes, node_env
from tokensmith.domain.key_encryption import generate_kek


def _audit_lines(stderr: str) -> list[dict[str, Any]]:
    lines = []
    for line in stderr.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("logger") == "tokensmith.audit":
            lines.append(entry["audit"])
    return lines


def test_each_admin_command_is_audited_without_secrets(postgres_url: str, tmp_path: Any) -> None:
    env = node_env(postgres_url, generate_kek(), actor="alice@example")
    (admin,) = make_nodes(tmp_path, 1, env)
    started = int(time.time())

    created = admin.cli("clients", "create", "--client-id", "ledger", "--scope", "edit", "--rate-limit", "50", "--json")
    client = json.loads(created.stdout)
    secrets_shown = [client["client_secret"]]
    logged = _audit_lines(created.stderr)
    admin.cli("clients", "update", "ledger", "--scope", "edit", "--scope", "read", "--name", "Ledger")
    admin.cli("clients", "disable", "ledger")
    admin.cli("clients", "enable", "ledger")
    added = admin.cli("clients", "secret", "add", "ledger", "--json")
    secrets_shown.append(json.loads(added.stdout)["client_secret"])
    logged += _audit_lines(added.stderr)
    imported = admin.cli("clients", "secret", "add", "ledger", "--stdin", input="legacy-secret-123\n", check=False)
    assert imported.returncode != 0  # two live secrets already: refused, and not audited
    removed = admin.cli("clients", "secret", "remove", "ledger", client["secret_id"])
    logged += _audit_lines(removed.stderr)
    admin.cli("keys", "rotate")
    deleted = admin.cli("clients", "delete", "ledger")
    logged += _audit_lines(deleted.stderr)

    listing = admin.cli("audit", "list", "--json", "--limit", "20")
    events = json.loads(listing.stdout)
    actions = [event["action"] for event in reversed(events)]
    assert actions == [
        "keys.rotated",  # the first key ring, made by the first command
        "client.created",
        "client.changed",
        "client.disabled",
        "client.enabled",
        "client.secret_added",
        "client.secret_removed",
        "keys.rotated",
        "client.deleted",
    ]
    host = socket.gethostname()
    for event in events:
        assert event["actor"] == "alice@example"
        assert event["host"] == host
        assert started - 1 <= event["occurred_at"] <= time.time() + 1
        assert isinstance(event["id"], int)
    by_action = {event["action"]: event for event in events}
    assert by_action["client.created"]["subject"] == "ledger"
    assert by_action["client.created"]["details"]["client"]["rate_limit"] == 50
    assert by_action["client.changed"]["details"]["changes"]["name"] == {"from": "", "to": "Ledger"}
    assert by_action["client.changed"]["details"]["changes"]["scopes"] == {"from": ["edit"], "to": ["edit", "read"]}
    assert by_action["client.secret_removed"]["details"]["secret"] == {"secret_id": client["secret_id"]}
    assert by_action["keys.rotated"]["subject"] == "key-ring"

    # The log stream carries the same events.
    assert [line["action"] for line in logged] == ["client.created", "client.secret_added", "client.secret_removed", "client.deleted"]
    assert all(line["actor"] == "alice@example" and line["host"] == host for line in logged)

    # No secret, and no secret's hash, anywhere in the trail.
    everything = listing.stdout + json.dumps(logged)
    for secret in [*secrets_shown, "legacy-secret-123"]:
        assert secret not in everything
    assert "digest" not in everything

    assert len(json.loads(admin.cli("audit", "list", "--json", "--limit", "2").stdout)) == 2
    only = json.loads(admin.cli("audit", "list", "--json", "--action", "client.disabled").stdout)
    assert [event["action"] for event in only] == ["client.disabled"]
    text = admin.cli("audit", "list", "--limit", "1").stdout
    assert "client.deleted" in text and "alice@example@" + host in text
