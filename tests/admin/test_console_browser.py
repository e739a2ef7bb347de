"""The console in real headless Chromium against a real server: log in with a link,
create a client and read its secret, get a token with it, disable the client, find
the audit entry; the same link a second time fails. Screenshots of the pages go to
TOKENSMITH_SCREENSHOTS when set (docs/ holds the ones in the README)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from tests.admin.browser import browser  # noqa: F401  (a fixture)
from tests.admin.conftest import Admin
from tests.support.assertions import ClientKey, jwks
from tests.support.server import record

SHOTS = os.environ.get("TOKENSMITH_SCREENSHOTS")


def _shoot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"console-{name}.png"), full_page=True)


def _login_link(admin: Admin) -> str:
    link: str = admin.server.cli("console", "login-link", "--person", "alice").stdout.strip()
    return link


def test_an_operator_manages_a_client_in_the_console(admin: Admin, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    link = _login_link(admin)
    page.goto(link)
    page.wait_for_url("**/console")
    page.get_by_text("Logged in as alice").wait_for()

    form = page.locator("#create-client")
    form.get_by_label("Client id (empty: generated)").fill("browser-made")
    form.get_by_label("Name", exact=True).fill("Made in the browser")
    form.get_by_label("Scopes (space-separated)", exact=True).fill("edit read")
    form.get_by_role("button", name="Create client").click()
    secret_field = page.get_by_label("Client secret")
    secret_field.wait_for()
    secret = secret_field.input_value()
    assert secret.startswith("tks_")
    record("secrets", secret)
    _shoot(page, "clients")

    token = httpx.post(f"{admin.server.url}/v1/api/oauth/token", params={"scope": "edit"}, auth=("browser-made", secret))
    assert token.status_code == 200 and token.json()["access_token"]

    page.get_by_role("button", name="Done").click()
    row = page.locator("tr", has=page.get_by_role("cell", name="browser-made", exact=True))
    row.get_by_role("button", name="Disable").click()
    page.get_by_text("Client browser-made disabled.").wait_for()
    assert row.get_by_role("cell", name="disabled", exact=True).is_visible()
    refused = httpx.post(f"{admin.server.url}/v1/api/oauth/token", params={"scope": "edit"}, auth=("browser-made", secret))
    assert refused.status_code == 401

    page.get_by_role("button", name="Audit log").click()
    page.get_by_label("Subject (client id)").fill("browser-made")
    page.get_by_role("button", name="Filter").click()
    entry = page.locator("#audit-table tbody tr").first
    entry.get_by_role("cell", name="client.disabled").wait_for()
    assert entry.get_by_role("cell", name="person:alice").is_visible()
    _shoot(page, "audit")
    # The audit log the API gives agrees, and never shows the secret.
    events = admin.call("GET", "/admin/v1/audit", params={"client": "browser-made"}).json()["items"]
    assert [event["action"] for event in events] == ["client.disabled", "client.created"]
    assert all(event["actor"] == "person:alice" for event in events) and secret not in str(events)

    page.get_by_role("button", name="Signing keys").click()
    page.locator("#key-table tbody tr").first.wait_for()
    assert page.get_by_role("cell", name="active", exact=True).count() == 1
    _shoot(page, "keys")
    page.get_by_role("button", name="Activity").click()
    page.locator("#issued-chart polyline").first.wait_for()
    _shoot(page, "activity")
    context.close()
    # Everything the pages loaded or asked for came from this server (no CDN: works offline).
    assert requested and all(url.startswith(admin.server.url + "/") for url in requested), requested
    assert any(url.endswith("/console/static/console.js") for url in requested)

    # The same link in a fresh browser: refused, and no session.
    again = browser.new_context()
    second = again.new_page()
    second.goto(link)
    second.get_by_text("Login failed").wait_for()
    assert "used or has expired" in second.locator("#login-status").inner_text()
    assert not [cookie for cookie in again.cookies() if cookie["name"] == "tokensmith_console"]
    again.close()


def test_secrets_rotate_and_a_client_is_edited_with_the_keyboard(admin: Admin, browser: Any) -> None:
    admin.call("POST", "/admin/v1/clients", json={"client_id": "kb-client", "scopes": ["read"]})
    context = browser.new_context()
    page = context.new_page()
    page.goto(_login_link(admin))
    page.get_by_text("Logged in as alice").wait_for()
    page.get_by_label("Search by id or name").fill("kb-")
    page.keyboard.press("Enter")
    row = page.locator("tr", has=page.get_by_role("cell", name="kb-client", exact=True))
    row.get_by_role("button", name="Edit").focus()
    page.keyboard.press("Enter")
    name = page.locator("#edit-form").get_by_label("Name", exact=True)
    name.wait_for()
    name.fill("Edited by keyboard")
    name.press("Enter")
    page.get_by_text("Client kb-client saved.").wait_for()
    page.get_by_role("button", name="Add a secret (rotation: two may be live)").click()
    page.get_by_label("Client secret").wait_for()
    record("secrets", page.get_by_label("Client secret").input_value())
    page.locator("#secret-list li").nth(1).wait_for()
    assert page.locator("#secret-list li").count() == 2
    shown = admin.call("GET", "/admin/v1/clients/kb-client").json()
    assert shown["name"] == "Edited by keyboard" and sum(secret["live"] for secret in shown["secrets"]) == 2
    context.close()


def test_a_clients_keys_and_federations_and_the_trusts_are_shown(admin: Admin, browser: Any) -> None:
    key, platform = ClientKey.es256("browser-key"), ClientKey.es256("cluster-key")
    admin.call("POST", "/admin/v1/trusts", json={"name": "k8s-browser", "issuer": "https://cluster.example", "jwks": jwks(platform)})
    admin.call("POST", "/admin/v1/clients", json={"client_id": "kb-keyed", "scopes": ["read"], "auth_method": "private_key_jwt", "jwks": jwks(key)})
    admin.call("POST", "/admin/v1/clients", json={"client_id": "kb-workload", "scopes": ["read"], "auth_method": "federated"})
    first = admin.call("POST", "/admin/v1/clients/kb-workload/federations", json={"trust": "k8s-browser", "subject": "system:serviceaccount:a:b"}).json()
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto(_login_link(admin))
    page.get_by_text("Logged in as alice").wait_for()

    def edit(client_id: str) -> None:
        page.get_by_label("Search by id or name").fill(client_id)
        page.keyboard.press("Enter")
        page.locator("tr", has=page.get_by_role("cell", name=client_id, exact=True)).get_by_role("button", name="Edit").click()
        page.locator("#edit-client", has_text=client_id).wait_for()

    edit("kb-keyed")
    page.get_by_text("Method: private_key_jwt").wait_for()
    assert page.locator("#key-list li").inner_text() == "browser-key (ES256), never used"
    assert page.locator("#secret-part").is_hidden() and page.locator("#federation-part").is_hidden()

    edit("kb-workload")
    page.get_by_text("Method: federated").wait_for()
    assert f"{first['federation_id']} — trust k8s-browser, sub system:serviceaccount:a:b" in page.locator("#federation-list li").inner_text()
    form = page.locator("#add-federation")
    form.get_by_label("Trust", exact=True).fill("k8s-browser")
    form.get_by_label("Subject (the token's sub, exactly)").fill("system:serviceaccount:c:d")
    form.get_by_label("Conditions (CLAIM=PATTERN, space-separated, optional)").fill("namespace=c")
    form.get_by_role("button", name="Add federated credential").click()
    page.locator("#federation-list li").nth(1).wait_for()
    assert "sub system:serviceaccount:c:d, where namespace=c" in page.locator("#federation-list li").nth(1).inner_text()
    _shoot(page, "federations")
    page.get_by_role("button", name=f"Remove {first['federation_id']}").click()
    page.get_by_text(f"Federated credential {first['federation_id']} removed.").wait_for()
    kept = admin.call("GET", "/admin/v1/clients/kb-workload/federations").json()["items"]
    assert [(each["subject"], each["conditions"]) for each in kept] == [("system:serviceaccount:c:d", ["namespace=c"])]

    page.get_by_role("button", name="Trusts").click()
    row = page.locator("#trust-table tr", has=page.get_by_role("cell", name="k8s-browser", exact=True))
    row.wait_for()
    cells = [text.strip() for text in row.locator("td").all_inner_texts()]
    assert cells == ["k8s-browser", "https://cluster.example", "inline (cluster-key)", "this server", "max-age", "3600 s", "1"]
    _shoot(page, "trusts")
    events = admin.call("GET", "/admin/v1/audit", params={"client": "kb-workload"}).json()["items"]
    assert [event["actor"] for event in events[:2]] == ["person:alice", "person:alice"]
    context.close()
