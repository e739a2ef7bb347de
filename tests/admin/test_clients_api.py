"""/admin/v1/clients against a real server: create (secret shown once), list with
filters and paging, read, change (ETag / If-Match), delete, secrets, token revocation,
idempotent creates; every change an audit event naming the acting client."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from tests.admin.conftest import Admin, created, get_token


def _audit(admin: Admin, **params: Any) -> list[dict[str, Any]]:
    response = admin.call("GET", "/admin/v1/audit", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_created_client_gets_a_secret_once_that_works_at_the_token_endpoint(admin: Admin) -> None:
    response = admin.call("POST", "/admin/v1/clients", json={"client_id": "partner-a", "scopes": ["edit", "read"], "name": "Partner A", "claims": {"tier": "gold"}})
    assert response.status_code == 201
    body = response.json()
    assert body["client_id"] == "partner-a" and body["scopes"] == ["edit", "read"] and body["claims"] == {"tier": "gold"}
    assert response.headers["location"] == "/admin/v1/clients/partner-a"
    assert response.headers["etag"].startswith('"')
    secret = body["client_secret"]
    assert get_token(admin.http, "partner-a", secret, "edit")
    shown = admin.call("GET", "/admin/v1/clients/partner-a")
    assert shown.status_code == 200
    assert secret not in shown.text and "client_secret" not in shown.json()
    assert shown.headers["etag"] == response.headers["etag"]
    event = _audit(admin, client="partner-a", action="client.created")[0]
    assert event["actor"] == "client:ops"
    assert secret not in str(event)


def test_the_fields_are_the_command_lines(admin: Admin) -> None:
    """The same names and values as `tokensmith clients show --json`."""
    created(admin, "same-shape", "read")
    shown = admin.call("GET", "/admin/v1/clients/same-shape").json()
    cli = admin.server.cli("clients", "show", "same-shape", "--json").stdout
    import json

    assert shown == json.loads(cli)


def test_listing_filters_and_pages(admin: Admin) -> None:
    for index in range(5):
        created(admin, f"list-{index}", "read" if index % 2 else "write", name=f"Lister {index}")
    admin.call("PATCH", "/admin/v1/clients/list-4", json={"enabled": False})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"q": "list-", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.call("GET", "/admin/v1/clients", params=params).json()
        seen += [client["client_id"] for client in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"list-{index}" for index in range(5)] and pages == 3
    by_name = admin.call("GET", "/admin/v1/clients", params={"q": "LISTER 3"}).json()["items"]
    assert [client["client_id"] for client in by_name] == ["list-3"]
    writers = admin.call("GET", "/admin/v1/clients", params={"q": "list-", "scope": "write"}).json()["items"]
    assert [client["client_id"] for client in writers] == ["list-0", "list-2", "list-4"]
    disabled = admin.call("GET", "/admin/v1/clients", params={"q": "list-", "enabled": "false"}).json()["items"]
    assert [client["client_id"] for client in disabled] == ["list-4"]


def test_a_patch_changes_what_it_names_and_is_audited(admin: Admin) -> None:
    created(admin, "patched", "read", claims={"a": 1, "b": 2})
    response = admin.call(
        "PATCH", "/admin/v1/clients/patched",
        json={"scopes": ["read", "edit"], "claims": {"a": 5}, "audiences": ["https://api.example"], "lifetime": 600, "rate_limit": 30, "reuse_tokens": True},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scopes"] == ["read", "edit"] and body["claims"] == {"a": 5} and body["audiences"] == ["https://api.example"]
    assert body["lifetime"] == "600" and body["rate_limit"] == 30 and body["reuse_tokens"] is True
    cleared = admin.call("PATCH", "/admin/v1/clients/patched", json={"rate_limit": None}).json()
    assert cleared["rate_limit"] is None and cleared["scopes"] == ["read", "edit"]
    event = _audit(admin, client="patched", action="client.changed")[-1]
    assert event["actor"] == "client:ops" and event["details"]["changes"]["claims"] == {"from": {"a": 1, "b": 2}, "to": {"a": 5}}


def test_disabling_is_its_own_audit_action_and_stops_tokens(admin: Admin) -> None:
    secret = created(admin, "to-disable", "read")["client_secret"]
    assert admin.call("PATCH", "/admin/v1/clients/to-disable", json={"enabled": False}).json()["enabled"] is False
    refused = admin.http.post("/v1/api/oauth/token", params={"scope": "read"}, auth=("to-disable", str(secret)))
    assert refused.status_code == 401
    assert _audit(admin, client="to-disable", action="client.disabled")[0]["actor"] == "client:ops"


def test_a_refused_change_writes_nothing(admin: Admin) -> None:
    """The domain's refusal, in its words (as the command line gives it); the client,
    its revision and the audit log unchanged."""
    created(admin, "unchanged", "read")
    before = admin.call("GET", "/admin/v1/clients/unchanged")
    events = len(_audit(admin, client="unchanged"))
    for body, kind, words in (
        ({"claims": {"iss": "me"}}, "refused", "may not override a registered claim: iss"),
        ({"scopes": []}, "refused", "a client needs at least one scope"),
        ({"default_scopes": ["admin"]}, "refused", "default scopes must be among the client's scopes"),
        ({"rate_limit": 0}, "refused", "rate limit must be"),
        ({"lifetime": "25:00 Nowhere/City"}, "refused", ""),
        ({"lifetime": 0}, "invalid", "lifetime must be at least 1 second"),
        ({"name": 5}, "invalid", "name must be a string"),
        ({"name": None}, "invalid", "name may not be null"),
        ({"scopes": "read"}, "invalid", "scopes must be a list of strings"),
        ({"enabled": "no"}, "invalid", "enabled must be true or false"),
        ({"colour": "blue"}, "invalid", "unknown field(s): colour"),
    ):
        response = admin.call("PATCH", "/admin/v1/clients/unchanged", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"] == f"urn:tokensmith:problem:{kind}" and words in problem["detail"], problem
    after = admin.call("GET", "/admin/v1/clients/unchanged")
    assert after.json() == before.json() and after.headers["etag"] == before.headers["etag"]
    assert len(_audit(admin, client="unchanged")) == events
    cli = admin.server.cli("clients", "update", "unchanged", "--claim", "iss=me", check=False)
    assert "may not override a registered claim: iss" in cli.stderr


def test_if_match_guards_a_change(admin: Admin) -> None:
    etag = created(admin, "guarded", "read") and admin.call("GET", "/admin/v1/clients/guarded").headers["etag"]
    ok = admin.call("PATCH", "/admin/v1/clients/guarded", json={"name": "one"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["etag"] != etag
    stale = admin.call("PATCH", "/admin/v1/clients/guarded", json={"name": "two"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["type"] == "urn:tokensmith:problem:precondition_failed"
    assert admin.call("GET", "/admin/v1/clients/guarded").json()["name"] == "one"
    weak = admin.call("PATCH", "/admin/v1/clients/guarded", json={"name": "three"}, headers={"If-Match": "W/" + ok.headers["etag"]})
    assert weak.status_code == 412
    gone = admin.call("DELETE", "/admin/v1/clients/guarded", headers={"If-Match": etag})
    assert gone.status_code == 412
    assert admin.call("DELETE", "/admin/v1/clients/guarded", headers={"If-Match": ok.headers["etag"]}).status_code == 204
    assert admin.call("GET", "/admin/v1/clients/guarded").status_code == 404


def test_two_patches_from_one_etag_at_once_exactly_one_wins(admin: Admin) -> None:
    created(admin, "raced", "read")
    etag = admin.call("GET", "/admin/v1/clients/raced").headers["etag"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def patch(name: str) -> None:
        with httpx.Client(base_url=admin.server.url, timeout=15) as http:
            barrier.wait()
            response = http.patch("/admin/v1/clients/raced", json={"name": name}, headers={**admin.auth, "If-Match": etag})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=patch, args=(f"writer-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [412] * 5
    assert len(_audit(admin, client="raced", action="client.changed")) == 1


def test_an_idempotency_key_makes_one_client(admin: Admin) -> None:
    spec = {"scopes": ["read"], "name": "made once"}
    first = admin.call("POST", "/admin/v1/clients", json=spec, headers={"Idempotency-Key": "job-42"})
    assert first.status_code == 201
    again = admin.call("POST", "/admin/v1/clients", json=spec, headers={"Idempotency-Key": "job-42"})
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["client_id"] == first.json()["client_id"] and "client_secret" not in again.json()
    other = admin.call("POST", "/admin/v1/clients", json={**spec, "name": "else"}, headers={"Idempotency-Key": "job-42"})
    assert other.status_code == 422 and other.json()["type"] == "urn:tokensmith:problem:idempotency_key_reused"
    made = admin.call("GET", "/admin/v1/clients", params={"q": "made once"}).json()["items"]
    assert len(made) == 1


def test_concurrent_creates_with_one_idempotency_key_make_one_client(admin: Admin) -> None:
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def create() -> None:
        with httpx.Client(base_url=admin.server.url, timeout=15) as http:
            barrier.wait()
            response = http.post("/admin/v1/clients", json={"scopes": ["read"], "name": "raced once"}, headers={**admin.auth, "Idempotency-Key": "race-1"})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert len(admin.call("GET", "/admin/v1/clients", params={"q": "raced once"}).json()["items"]) == 1


def test_a_taken_client_id_is_409(admin: Admin) -> None:
    created(admin, "taken", "read")
    response = admin.call("POST", "/admin/v1/clients", json={"client_id": "taken", "scopes": ["read"]})
    assert response.status_code == 409 and response.json()["type"] == "urn:tokensmith:problem:conflict"


def test_secrets_rotate_with_two_live(admin: Admin) -> None:
    old = created(admin, "rotating", "read")
    added = admin.call("POST", "/admin/v1/clients/rotating/secrets", json={"expires_in": 86400})
    assert added.status_code == 201
    new = added.json()
    assert new["expires_at"] is not None and new["live"] is True
    assert get_token(admin.http, "rotating", str(old["client_secret"]), "read")
    assert get_token(admin.http, "rotating", new["client_secret"], "read")
    third = admin.call("POST", "/admin/v1/clients/rotating/secrets")
    assert third.status_code == 422 and "at most 2 live secrets" in third.json()["detail"]
    assert admin.call("DELETE", f"/admin/v1/clients/rotating/secrets/{old['secret_id']}").status_code == 204
    refused = admin.http.post("/v1/api/oauth/token", params={"scope": "read"}, auth=("rotating", str(old["client_secret"])))
    assert refused.status_code == 401
    assert admin.call("DELETE", f"/admin/v1/clients/rotating/secrets/{old['secret_id']}").status_code == 404
    actions = [event["action"] for event in _audit(admin, client="rotating")]
    assert actions[:2] == ["client.secret_removed", "client.secret_added"]


def test_revoking_a_clients_tokens(admin: Admin) -> None:
    secret = str(created(admin, "revoked", "read")["client_secret"])
    token = get_token(admin.http, "revoked", secret, "read")
    response = admin.call("POST", "/admin/v1/clients/revoked/revoke-tokens")
    assert response.status_code == 200 and response.json()["tokens_not_before"] > 0
    answer = admin.http.post("/oauth2/introspect", data={"token": token}, auth=("revoked", secret))
    assert answer.json() == {"active": False}
    assert _audit(admin, client="revoked", action="client.tokens_revoked")[0]["actor"] == "client:ops"


def test_unknown_clients_are_404_everywhere(admin: Admin) -> None:
    for method, path, body in (
        ("GET", "/admin/v1/clients/nobody", None),
        ("PATCH", "/admin/v1/clients/nobody", {"name": "x"}),
        ("DELETE", "/admin/v1/clients/nobody", None),
        ("POST", "/admin/v1/clients/nobody/secrets", {}),
        ("DELETE", "/admin/v1/clients/nobody/secrets/sec_1", None),
        ("POST", "/admin/v1/clients/nobody/revoke-tokens", None),
    ):
        response = admin.call(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_an_operator_revokes_one_leaked_token(admin: Admin) -> None:
    secret = str(created(admin, "leaky", "read")["client_secret"])
    leaked, kept = (get_token(admin.http, "leaky", secret, "read") for _ in range(2))
    response = admin.call("POST", "/admin/v1/revocations", json={"token": leaked})
    assert response.status_code == 200, response.text
    assert response.json()["client_id"] == "leaky" and response.json()["already_revoked"] is False
    introspect = lambda token: admin.http.post("/oauth2/introspect", data={"token": token}, auth=("leaky", secret)).json()["active"]  # noqa: E731
    assert introspect(leaked) is False and introspect(kept) is True
    assert admin.call("POST", "/admin/v1/revocations", json={"token": leaked}).json()["already_revoked"] is True
    events = _audit(admin, client="leaky", action="client.token_revoked")
    assert len(events) == 1 and events[0]["actor"] == "client:ops" and leaked not in str(events)
    forged = leaked[:-4] + ("AAAA" if not leaked.endswith("AAAA") else "BBBB")
    refused = admin.call("POST", "/admin/v1/revocations", json={"token": forged})
    assert refused.status_code == 422 and refused.json()["type"] == "urn:tokensmith:problem:refused" and forged not in refused.text
