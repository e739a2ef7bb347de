"""Bad input to every admin route: a clean 4xx in RFC 9457 problem format, never a
500 or a traceback, and nothing stored changes."""

from __future__ import annotations

import pytest

from tests.admin.conftest import Admin, created

WRITES = [
    ("POST", "/admin/v1/clients"),
    ("PATCH", "/admin/v1/clients/victim"),
    ("POST", "/admin/v1/clients/victim/secrets"),
    ("POST", "/admin/v1/clients/victim/revoke-tokens"),
    ("POST", "/admin/v1/keys/rotate"),
    ("POST", "/admin/v1/revocations"),
    ("POST", "/admin/v1/clients/victim/federations"),
    ("POST", "/admin/v1/trusts"),
    ("PATCH", "/admin/v1/trusts/victim-trust"),
]
BODIES = [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"text"', "application/json", 400),
    (b'{"a": NaN}', "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"[" * 100_000, "application/json", 413),
    (b"scopes=read", "application/x-www-form-urlencoded", 415),
    (b'{"unexpected": true}', "application/json", 422),
    (b'{"scopes": [1]}', "application/json", 422),
]


@pytest.fixture(scope="module", autouse=True)
def victim(admin: Admin) -> None:
    created(admin, "victim", "read")
    assert admin.call("POST", "/admin/v1/trusts", json={"name": "victim-trust", "issuer": "https://cluster.example"}).status_code == 201


@pytest.mark.parametrize(("method", "path"), WRITES)
@pytest.mark.parametrize(("body", "media_type", "status"), BODIES)
def test_bad_bodies_are_refused_cleanly(admin: Admin, method: str, path: str, body: bytes, media_type: str, status: int) -> None:
    before = admin.call("GET", "/admin/v1/clients/victim").json()
    keys_before = admin.call("GET", "/admin/v1/keys").json()
    trusts_before = admin.call("GET", "/admin/v1/trusts").json()
    response = admin.call(method, path, content=body, headers={"content-type": media_type})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) >= {"type", "title", "status", "detail", "instance"} and problem["status"] == status
    assert "Traceback" not in response.text
    assert admin.call("GET", "/admin/v1/clients/victim").json() == before
    assert admin.call("GET", "/admin/v1/keys").json() == keys_before
    assert admin.call("GET", "/admin/v1/trusts").json() == trusts_before


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/admin/v1/clients?limit=0", 422),
        ("GET", "/admin/v1/clients?limit=abc", 422),
        ("GET", "/admin/v1/clients?enabled=maybe", 422),
        ("GET", "/admin/v1/clients?q=", 422),
        ("GET", "/admin/v1/nothing-here", 404),
        ("PUT", "/admin/v1/clients", 405),
        ("DELETE", "/admin/v1/keys", 405),
        ("GET", "/admin/v1/clients/victim%2Fsecrets", 404),
        ("GET", "/admin/v1/clients/victim/", 404),
    ],
)
def test_bad_paths_and_queries_are_refused_cleanly(admin: Admin, method: str, path: str, status: int) -> None:
    response = admin.call(method, path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_a_bad_idempotency_key_and_secret_expiry_are_422(admin: Admin) -> None:
    long_key = admin.call("POST", "/admin/v1/clients", json={"scopes": ["read"]}, headers={"Idempotency-Key": "k" * 256})
    assert long_key.status_code == 422
    for expiry in (0, -5, 10**12, "soon", True):
        response = admin.call("POST", "/admin/v1/clients/victim/secrets", json={"expires_in": expiry})
        assert response.status_code == 422, (expiry, response.text)
    assert len([s for s in admin.call("GET", "/admin/v1/clients/victim").json()["secrets"]]) == 1
