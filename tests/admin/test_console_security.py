"""The console's session over HTTP, attacked: login links are single-use (also when
redeemed concurrently) and expire; the session cookie's flags; CSRF on every write;
logout and expiry end a session; the admin listener (TOKENSMITH_ADMIN_PORT)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.admin.conftest import Admin
from tests.support.server import Tokensmith, free_port
from tokensmith.cli.context import open_node
from tokensmith.config import Settings
from tokensmith.service.changes import Changes
from tokensmith.service.console import issue_login_link, redeem_login_link


def login_code(server: Tokensmith, *extra: str) -> str:
    """A link's code from `tokensmith console login-link`, as an operator gets it."""
    link = server.cli("console", "login-link", *extra).stdout.strip()
    match = re.fullmatch(r"(http://[^/]+)/console/login#(tkl_[A-Za-z0-9_-]+)", link)
    assert match, link
    return match[2]


def redeem(url: str, code: str) -> httpx.Response:
    return httpx.post(f"{url}/console/login", json={"code": code}, timeout=15)


def _node_changes(server: Tokensmith) -> Changes:
    env = server.env
    settings = Settings(database_url=env["TOKENSMITH_DATABASE_URL"], issuer=env["TOKENSMITH_ISSUER"])
    return Changes.of_process(open_node(settings))


@pytest.fixture
def session(admin: Admin) -> Iterator[httpx.Client]:
    """A browser-like client logged in with a fresh link."""
    with httpx.Client(base_url=admin.server.url, timeout=15) as browser:
        assert browser.post("/console/login", json={"code": login_code(admin.server)}).status_code == 204
        yield browser


def _csrf(browser: httpx.Client) -> str:
    token: str = browser.get("/console/session").json()["csrf_token"]
    return token


def test_the_cookie_is_httponly_samesite_strict_and_names_nothing(admin: Admin) -> None:
    response = redeem(admin.server.url, login_code(admin.server, "--person", "alice"))
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith("tokensmith_console=tkc_")
    assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
    assert any(part.startswith("max-age=") for part in attributes)
    assert "secure" not in attributes  # served over http here; https issuers get Secure (console/routes.py)
    assert "alice" not in cookie


def test_a_login_link_works_once(admin: Admin) -> None:
    code = login_code(admin.server)
    assert redeem(admin.server.url, code).status_code == 204
    again = redeem(admin.server.url, code)
    assert again.status_code == 401 and "set-cookie" not in again.headers
    assert again.json()["type"] == "urn:tokensmith:problem:unauthenticated"


def test_of_concurrent_redemptions_of_one_link_exactly_one_wins(admin: Admin) -> None:
    code = login_code(admin.server)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def attempt() -> None:
        barrier.wait()
        statuses.append(redeem(admin.server.url, code).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204] + [401] * 7


def test_an_expired_or_unknown_link_opens_nothing(admin: Admin) -> None:
    changes = _node_changes(admin.server)
    expired = issue_login_link(changes, "mallory", 10, int(time.time()) - 60)  # lived 10 s, a minute ago
    assert redeem(admin.server.url, expired).status_code == 401
    assert redeem(admin.server.url, "tkl_" + "A" * 43).status_code == 401
    assert redeem(admin.server.url, "").status_code == 422


def test_a_write_without_or_with_a_wrong_csrf_token_is_refused(admin: Admin, session: httpx.Client) -> None:
    spec = {"client_id": "csrf-victim", "scopes": ["read"]}
    missing = session.post("/admin/v1/clients", json=spec)
    assert missing.status_code == 403 and missing.json()["type"] == "urn:tokensmith:problem:csrf"
    wrong = session.post("/admin/v1/clients", json=spec, headers={"X-CSRF-Token": "A" * 43})
    assert wrong.status_code == 403
    other = httpx.Client(base_url=admin.server.url)
    other.post("/console/login", json={"code": login_code(admin.server)})
    foreign = session.post("/admin/v1/clients", json=spec, headers={"X-CSRF-Token": _csrf(other)})
    assert foreign.status_code == 403  # another session's token is no good either
    assert admin.call("GET", "/admin/v1/clients/csrf-victim").status_code == 404
    assert session.post("/console/logout").status_code == 403  # logging out is a write too
    made = session.post("/admin/v1/clients", json=spec, headers={"X-CSRF-Token": _csrf(session)})
    assert made.status_code == 201
    event = admin.call("GET", "/admin/v1/audit", params={"client": "csrf-victim"}).json()["items"][0]
    assert event["actor"].startswith("person:")
    assert session.get("/admin/v1/clients/csrf-victim").status_code == 200  # reads need no CSRF token


def test_logout_ends_the_session_everywhere(admin: Admin, session: httpx.Client) -> None:
    cookie = session.cookies["tokensmith_console"]
    assert session.post("/console/logout", headers={"X-CSRF-Token": _csrf(session)}).status_code == 204
    replayed = httpx.get(f"{admin.server.url}/admin/v1/clients", cookies={"tokensmith_console": cookie})
    assert replayed.status_code == 401
    assert httpx.get(f"{admin.server.url}/console", cookies={"tokensmith_console": cookie}).status_code == 303


def test_an_expired_session_is_refused(admin: Admin) -> None:
    changes = _node_changes(admin.server)
    long_ago = int(time.time()) - 10 * 86400
    code = issue_login_link(changes, "old", 600, long_ago)
    opened = redeem_login_link(changes, code, long_ago + 1)
    assert opened is not None
    _, cookie = opened
    assert httpx.get(f"{admin.server.url}/admin/v1/clients", cookies={"tokensmith_console": cookie}).status_code == 401
    assert httpx.get(f"{admin.server.url}/console/session", cookies={"tokensmith_console": cookie}).status_code == 401


def test_a_forged_cookie_is_refused(admin: Admin) -> None:
    for value in ("tkc_" + "A" * 43, "", "x" * 5000):
        assert httpx.get(f"{admin.server.url}/admin/v1/clients", cookies={"tokensmith_console": value}).status_code == 401


def test_pages_forbid_framing_and_foreign_origins(admin: Admin, session: httpx.Client) -> None:
    page = session.get("/console")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert httpx.get(f"{admin.server.url}/console", follow_redirects=False).headers["location"] == "/console/login"


@pytest.fixture(scope="module")
def two_listeners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tokensmith, int]]:
    admin_port = free_port()
    server = Tokensmith(tmp_path_factory.mktemp("admin-port"), {"TOKENSMITH_ADMIN_PORT": str(admin_port)})
    server.start()
    yield server, admin_port
    server.stop()


def test_with_an_admin_port_the_main_port_serves_no_admin_or_console(two_listeners: tuple[Tokensmith, int], tmp_path: Path) -> None:
    server, admin_port = two_listeners
    for path in ("/admin/v1/clients", "/console", "/console/login", "/admin/v1/keys/rotate"):
        hidden = httpx.get(f"{server.url}{path}")
        assert hidden.status_code == 404 and hidden.json()[0]["errorCode"] == "240109", path
    admin_url = f"http://127.0.0.1:{admin_port}"
    assert httpx.get(f"{admin_url}/admin/v1/clients").status_code == 401
    assert httpx.get(f"{admin_url}/console/login").status_code == 200
    link = server.cli("console", "login-link").stdout.strip()
    assert link.startswith(f"{admin_url}/console/login#tkl_")
    assert redeem(admin_url, link.partition("#")[2]).status_code == 204
    assert httpx.get(f"{server.url}/healthz").status_code == 200
