"""A 401 from the API renews the token and retries the request exactly once."""

from __future__ import annotations

import io
import json

import httpx
import pytest
import requests


def test_httpx_sync_retries_once_with_a_fresh_token_after_401(token_server, make_auth, api_url):
    with httpx.Client(auth=make_auth()) as api:
        api.get(api_url)
        token_server.revoke_all()

        response = api.post(api_url, json={"order": 1})

    assert response.status_code == 200
    assert response.json()["token"] == "token-2"
    assert json.loads(response.json()["body"]) == {"order": 1}  # the body was sent again
    assert [r.status_code for r in response.history] == [401]
    assert token_server.token_requests == 2


def test_httpx_sync_retries_only_once(token_server, make_auth, api_url):
    token_server.always_401 = True

    with httpx.Client(auth=make_auth()) as api:
        response = api.get(api_url)

    assert response.status_code == 401
    assert token_server.count(token_server.api_path) == 2
    assert token_server.token_requests == 2


@pytest.mark.anyio
async def test_httpx_async_retries_once_with_a_fresh_token_after_401(token_server, make_auth, api_url):
    async with httpx.AsyncClient(auth=make_auth()) as api:
        await api.get(api_url)
        token_server.revoke_all()

        response = await api.post(api_url, content=b"payload")

    assert response.status_code == 200
    assert response.json() == {"token": "token-2", "body": "payload"}


@pytest.mark.anyio
async def test_httpx_async_retries_only_once(token_server, make_auth, api_url):
    token_server.always_401 = True

    async with httpx.AsyncClient(auth=make_auth()) as api:
        response = await api.get(api_url)

    assert response.status_code == 401
    assert token_server.count(token_server.api_path) == 2


def test_requests_retries_once_with_a_fresh_token_and_the_same_body(token_server, make_auth, api_url):
    with requests.Session() as session:
        session.auth = make_auth()
        session.get(api_url)
        token_server.revoke_all()

        response = session.post(api_url, data=b"payload")

    assert response.status_code == 200
    assert response.json() == {"token": "token-2", "body": "payload"}
    assert [r.status_code for r in response.history] == [401]


def test_requests_retries_only_once(token_server, make_auth, api_url):
    token_server.always_401 = True

    response = requests.get(api_url, auth=make_auth(), timeout=10)

    assert response.status_code == 401
    assert token_server.count(token_server.api_path) == 2
    assert token_server.token_requests == 2


def test_requests_rewinds_a_file_body_for_the_retry(token_server, make_auth, api_url):
    auth = make_auth()
    auth.get_token()
    token_server.revoke_all()

    response = requests.post(api_url, data=io.BytesIO(b"file contents"), auth=auth, timeout=10)

    assert response.json() == {"token": "token-2", "body": "file contents"}


def test_requests_does_not_retry_a_streamed_body_it_cannot_replay(token_server, make_auth, api_url):
    auth = make_auth()
    auth.get_token()
    token_server.revoke_all()

    response = requests.post(api_url, data=iter([b"chunk"]), auth=auth, timeout=10)

    assert response.status_code == 401
    assert token_server.count(token_server.api_path) == 1
