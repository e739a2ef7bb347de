"""A program calls the example accounts API with tokens from a running tokensmith,
fetched by the client SDK; the API (its own process) lets in exactly the tokens it
should, and refuses the rest the way RFC 6750 says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import requests

from tests.e2e.other_side.conftest import AUDIENCE, OAUTH_PATH, TOKEN_PATHS, fetch_token
from tests.support.server import Tokensmith
from tokensmith.client import ClientCredentialsAuth


def sdk(tokensmith: Tokensmith, client: dict[str, Any], path: str, scope: str) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(f"{tokensmith.url}{path}", client["client_id"], client["client_secret"], scope=scope)


def challenge(response: httpx.Response) -> str:
    return response.headers["www-authenticate"]


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_edit_token_from_either_endpoint_creates_and_lists_accounts(tokensmith, accounts_api, caller, path):
    with httpx.Client(auth=sdk(tokensmith, caller, path, "edit"), base_url=accounts_api.url) as api:
        created = api.post("/accounts", json={"name": f"savings via {path}"})
        listed = api.get("/accounts")

    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == "accounts-caller"
    assert listed.status_code == 200
    assert created.json() in listed.json()["accounts"]
    assert listed.json()["client_id"] == "accounts-caller"


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_read_token_can_list_accounts_but_creating_one_is_403_insufficient_scope(tokensmith, accounts_api, caller, path):
    with httpx.Client(auth=sdk(tokensmith, caller, path, "read"), base_url=accounts_api.url) as api:
        listed = api.get("/accounts")
        refused = api.post("/accounts", json={"name": "not allowed"})
        after = api.get("/accounts")

    assert listed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in challenge(refused)
    assert 'scope="edit"' in challenge(refused)
    assert all(account["name"] != "not allowed" for account in after.json()["accounts"])


def test_token_without_read_or_edit_is_403_naming_the_scope_needed(tokensmith, accounts_api):
    client = tokensmith.create_client("audit-only", "--audience", AUDIENCE, scopes=("audit",))
    token = fetch_token(tokensmith, client, "audit")

    response = httpx.get(f"{accounts_api.url}/accounts", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge(response)
    assert 'scope="read"' in challenge(response)


@pytest.mark.anyio
async def test_the_sdk_works_with_an_async_httpx_client(tokensmith, accounts_api, caller):
    async with httpx.AsyncClient(auth=sdk(tokensmith, caller, OAUTH_PATH, "read edit"), base_url=accounts_api.url) as api:
        created = await api.post("/accounts", json={"name": "async"})
        listed = await api.get("/accounts")

    assert created.status_code == 201
    assert created.json() in listed.json()["accounts"]


def test_the_sdk_works_with_requests(tokensmith, accounts_api, caller):
    with requests.Session() as session:
        session.auth = sdk(tokensmith, caller, OAUTH_PATH, "read edit")
        created = session.post(f"{accounts_api.url}/accounts", json={"name": "requests"})
        listed = session.get(f"{accounts_api.url}/accounts")

    assert created.status_code == 201
    assert created.json() in listed.json()["accounts"]


def test_no_token_is_401_with_a_bare_bearer_challenge(accounts_api):
    response = httpx.get(f"{accounts_api.url}/accounts")

    assert response.status_code == 401
    # RFC 6750 §3.1: no error code when the request carried no credentials at all.
    assert challenge(response) == 'Bearer realm="accounts-api"'


def test_health_check_needs_no_token(accounts_api):
    assert httpx.get(f"{accounts_api.url}/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 9000])
def test_garbage_token_is_401_invalid_token(accounts_api, garbage):
    response = httpx.get(f"{accounts_api.url}/accounts", headers={"Authorization": f"Bearer {garbage}"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in challenge(response)
    assert garbage not in response.text and garbage not in challenge(response)


@pytest.mark.parametrize(
    ("client_id", "audiences"),
    [
        pytest.param("payments-caller", ("https://payments.example.test",), id="another-api"),
        pytest.param("no-audience-caller", (), id="server-default-audience"),
        pytest.param("lookalike-caller", (AUDIENCE + "/",), id="lookalike-audience"),
    ],
)
def test_genuine_token_for_another_audience_is_401_invalid_token(tokensmith, accounts_api, client_id, audiences):
    client = tokensmith.create_client(client_id, *[arg for a in audiences for arg in ("--audience", a)], scopes=("read", "edit"))
    token = fetch_token(tokensmith, client, "read edit")

    response = httpx.get(f"{accounts_api.url}/accounts", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)
    assert "audience" in response.json()["error_description"]


def test_token_in_the_url_query_is_400_invalid_request(tokensmith, accounts_api, caller):
    token = fetch_token(tokensmith, caller, "read")

    response = httpx.get(f"{accounts_api.url}/accounts", params={"access_token": token})

    assert response.status_code == 400
    assert 'error="invalid_request"' in challenge(response)
