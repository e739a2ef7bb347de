"""The client SDK against the real server: one token fetch serves many API calls, and
the SDK reads each endpoint's `expires_in` so that it renews just before the token's
real `exp`, neither never nor on every call."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.other_side.conftest import AUDIENCE, TOKEN_PATHS, token_requests
from tests.support.jws import claims_of
from tokensmith.client import ClientCredentialsAuth

RENEW_BEFORE = 60


class Clock:
    """Epoch seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_one_token_fetch_serves_many_api_calls(tokensmith, accounts_api, path):
    client_id = "many-calls" + path.replace("/", "-")
    client = tokensmith.create_client(client_id, "--audience", AUDIENCE, scopes=("read",))
    auth = ClientCredentialsAuth(f"{tokensmith.url}{path}", client_id, client["client_secret"], scope="read")

    with httpx.Client(auth=auth, base_url=accounts_api.url) as api:
        statuses = [api.get("/accounts").status_code for _ in range(25)]

    assert statuses == [200] * 25
    fetches = token_requests(tokensmith, client_id)
    assert [(line["path"], line["status"]) for line in fetches] == [(path, 200)]


@pytest.mark.parametrize("path", TOKEN_PATHS)
def test_sdk_renews_just_before_the_tokens_real_expiry(tokensmith, accounts_api, path):
    # The standard endpoint's expires_in is seconds left, the seed endpoint's is the
    # epoch instant: misreading either makes the SDK renew never, or on every call.
    client_id = "renewing" + path.replace("/", "-")
    client = tokensmith.create_client(client_id, "--audience", AUDIENCE, scopes=("read",))
    clock = Clock()
    auth = ClientCredentialsAuth(
        f"{tokensmith.url}{path}", client_id, client["client_secret"], scope="read", clock=clock, renew_before=RENEW_BEFORE
    )

    with httpx.Client(auth=auth, base_url=accounts_api.url) as api:
        assert api.get("/accounts").status_code == 200
        first = auth.get_token()
        exp = claims_of(first)["exp"]

        clock.now = exp - RENEW_BEFORE - 10
        assert api.get("/accounts").status_code == 200
        assert auth.get_token() == first
        assert len(token_requests(tokensmith, client_id)) == 1

        clock.now = exp - RENEW_BEFORE + 10
        assert api.get("/accounts").status_code == 200
        renewed = auth.get_token()

    assert renewed != first
    assert len(token_requests(tokensmith, client_id)) == 2


def test_seed_endpoint_expires_in_is_the_tokens_exp_and_standard_is_seconds_left(tokensmith, caller):
    """What the SDK relies on, checked at the source."""
    credentials = (caller["client_id"], caller["client_secret"])
    seed = httpx.post(f"{tokensmith.url}/v1/api/oauth/token", params={"scope": "read"}, auth=credentials).json()
    standard = httpx.post(
        f"{tokensmith.url}/oauth2/token", data={"grant_type": "client_credentials", "scope": "read"}, auth=credentials
    ).json()

    assert seed["expires_in"] == claims_of(seed["access_token"])["exp"]
    claims = claims_of(standard["access_token"])
    assert standard["expires_in"] == claims["exp"] - claims["iat"]
