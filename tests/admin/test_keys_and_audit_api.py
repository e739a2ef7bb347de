"""/admin/v1/keys and /admin/v1/audit against a real server."""

from __future__ import annotations

import time

from tests.admin.conftest import Admin, created


def test_keys_are_listed_without_private_parts_and_rotate(admin: Admin) -> None:
    before = admin.call("GET", "/admin/v1/keys").json()["items"]
    states = {key["state"]: key["kid"] for key in before}
    assert {"active", "next"} <= set(states)
    assert all(set(key) == {"kid", "algorithm", "state", "created_at", "activated_at", "retired_at"} for key in before)
    rotated = admin.call("POST", "/admin/v1/keys/rotate")
    assert rotated.status_code == 200, rotated.text
    after = {key["kid"]: key["state"] for key in admin.call("GET", "/admin/v1/keys").json()["items"]}
    assert after[states["next"]] == "active" and after[states["active"]] == "retired"
    event = admin.call("GET", "/admin/v1/audit", params={"action": "keys.rotated", "limit": 1}).json()["items"][0]
    assert event["actor"] == "client:ops" and event["subject"] == "key-ring"
    jwks = {key["kid"] for key in admin.http.get("/.well-known/jwks.json").json()["keys"]}
    assert set(after) == jwks
    bad = admin.call("POST", "/admin/v1/keys/rotate", json={"algorithm": "HS256"})
    assert bad.status_code == 422


def test_the_audit_log_filters_and_pages(admin: Admin) -> None:
    started = int(time.time())
    for index in range(3):
        created(admin, f"audited-{index}", "read")
    by_client = admin.call("GET", "/admin/v1/audit", params={"client": "audited-1"}).json()["items"]
    assert [event["action"] for event in by_client] == ["client.created"]
    mine = admin.call("GET", "/admin/v1/audit", params={"actor": "client:ops", "since": started, "action": "client.created"}).json()["items"]
    assert [event["subject"] for event in mine][:3] == ["audited-2", "audited-1", "audited-0"]
    assert admin.call("GET", "/admin/v1/audit", params={"until": started - 3600}).json()["items"] == []
    first = admin.call("GET", "/admin/v1/audit", params={"limit": 2}).json()
    second = admin.call("GET", "/admin/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    ids = [event["id"] for event in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4


def test_bad_audit_queries_are_422(admin: Admin) -> None:
    for params in ({"action": "client.exploded"}, {"limit": 0}, {"limit": "many"}, {"since": "-1"}, {"cursor": "x"}, {"client": ""}):
        response = admin.call("GET", "/admin/v1/audit", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["status"] == 422


def test_token_stats_count_per_client(admin: Admin) -> None:
    """Summed over the hour's points: every token this node issued to the client, and
    the refusals of it after it authenticated (a scope it may not ask for)."""
    from tests.admin.conftest import get_token

    secret = str(created(admin, "counted", "read")["client_secret"])
    for _ in range(3):
        get_token(admin.http, "counted", secret, "read")
    assert admin.http.post("/v1/api/oauth/token", params={"scope": "write"}, auth=("counted", secret)).status_code == 401
    response = admin.call("GET", "/admin/v1/stats/tokens")
    assert response.status_code == 200
    body = response.json()
    assert body["window_seconds"] == 3600 and body["points"]
    issued = sum(point["issued"].get("counted", 0) for point in body["points"])
    failures = sum(point["failures"].get("counted", 0) for point in body["points"])
    assert (issued, failures) == (3, 1)
