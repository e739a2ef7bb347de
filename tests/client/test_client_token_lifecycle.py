"""Token fetching, caching and renewal, at both token endpoints."""

from __future__ import annotations

import base64
import math
from urllib.parse import parse_qs

import httpx
import pytest
import requests

from tokensmith.client import EPOCH_THRESHOLD, TokenResponseError
from tokensmith.client.tokens import expires_at, is_seed_endpoint, renew_at


def test_one_token_serves_many_requests(token_server, make_auth, api_url):
    with httpx.Client(auth=make_auth()) as api:
        responses = [api.get(api_url) for _ in range(20)]

    assert [r.status_code for r in responses] == [200] * 20
    assert {r.json()["token"] for r in responses} == {"token-1"}
    assert token_server.token_requests == 1


def test_token_is_renewed_renew_before_seconds_ahead_of_expiry(token_server, make_auth, api_url, clock):
    token_server.expires_in = 3600
    auth = make_auth(clock=clock, renew_before=60)

    with httpx.Client(auth=auth) as api:
        api.get(api_url)
        clock.advance(3539)
        assert api.get(api_url).json()["token"] == "token-1"
        clock.advance(1)
        assert api.get(api_url).json()["token"] == "token-2"

    assert token_server.token_requests == 2


def test_short_lived_tokens_are_renewed_at_half_life_not_on_every_call(token_server, make_auth, clock):
    token_server.expires_in = 30
    auth = make_auth(clock=clock, renew_before=60)

    assert auth.get_token() == "token-1"
    clock.advance(14)
    assert auth.get_token() == "token-1"
    clock.advance(1)
    assert auth.get_token() == "token-2"


def test_standard_endpoint_request_is_a_form_post_with_grant_type_and_scope(token_server, make_auth):
    make_auth(scope=["orders:read", "orders:write"]).get_token()

    request = token_server.last(token_server.standard_path)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["orders:read orders:write"],
    }


def test_client_secret_basic_form_encodes_id_and_secret_before_base64(token_server, make_auth):
    make_auth().get_token()  # the stub refuses unless both decode exactly

    header = token_server.last(token_server.standard_path).headers["authorization"]
    naive = base64.b64encode(f"{token_server.client_id}:{token_server.client_secret}".encode()).decode()
    assert header.startswith("Basic ") and header != f"Basic {naive}"
    assert base64.b64decode(header[6:]).decode().startswith("orders%3Asvc+client:")


def test_client_secret_post_sends_credentials_in_the_body_only(token_server, make_auth):
    make_auth(auth_method="client_secret_post").get_token()

    request = token_server.last(token_server.standard_path)
    assert "authorization" not in request.headers
    assert parse_qs(request.body.decode())["client_id"] == [token_server.client_id]


def test_seed_endpoint_gets_scope_in_query_and_an_empty_body(token_server, make_auth):
    assert make_auth(token_server.seed_path, scope="orders:read").get_token() == "token-1"

    request = token_server.last(token_server.seed_path)
    assert request.query == {"scope": ["orders:read"]}
    assert request.body == b""
    assert request.headers["content-length"] == "0"
    assert request.headers["authorization"].startswith("Basic ")


def test_seed_endpoint_expires_in_is_an_epoch_timestamp(token_server, make_auth, clock):
    expiry = 2_000_000_000
    token_server.seed_exp = expiry
    clock.now = expiry - 3600
    auth = make_auth(token_server.seed_path, clock=clock, renew_before=60)

    assert auth.get_token() == "token-1"
    clock.now = expiry - 61
    assert auth.get_token() == "token-1"
    clock.now = expiry - 60  # read as a duration it would last for 63 more years
    assert auth.get_token() == "token-2"


def test_seed_endpoint_with_client_secret_post_keeps_scope_in_the_query(token_server, make_auth):
    make_auth(token_server.seed_path, auth_method="client_secret_post").get_token()

    request = token_server.last(token_server.seed_path)
    assert request.query == {"scope": ["orders:read"]}
    assert "grant_type" not in parse_qs(request.body.decode())


def test_standard_endpoint_value_beyond_ten_years_is_read_as_epoch(token_server, make_auth, clock):
    token_server.expires_in = int(clock.now) + 600
    auth = make_auth(clock=clock, renew_before=60)

    auth.get_token()
    clock.advance(539)
    assert auth.get_token() == "token-1"
    clock.advance(1)
    assert auth.get_token() == "token-2"


@pytest.mark.parametrize(
    ("value", "epoch", "expected"),
    [
        (3600, False, 1_000_000 + 3600),
        (3600.5, False, 1_000_000 + 3600.5),
        ("3600", False, 1_000_000 + 3600),
        (EPOCH_THRESHOLD, False, 1_000_000 + EPOCH_THRESHOLD),  # still a duration
        (EPOCH_THRESHOLD + 1, False, EPOCH_THRESHOLD + 1),  # an epoch
        (1_700_000_000, True, 1_700_000_000),
        (None, False, math.inf),
    ],
)
def test_expires_in_rule(value, epoch, expected):
    assert expires_at(value, now=1_000_000, epoch=epoch) == expected


@pytest.mark.parametrize("value", ["soon", True, [3600], float("nan")])
def test_non_numeric_expires_in_is_rejected(value):
    with pytest.raises(TokenResponseError):
        expires_at(value, now=0, epoch=False)


def test_renewal_margin_is_capped_at_half_the_remaining_lifetime():
    assert renew_at(1_000 + 3600, now=1_000, renew_before=60) == 1_000 + 3540
    assert renew_at(1_000 + 30, now=1_000, renew_before=60) == 1_000 + 15
    assert renew_at(900, now=1_000, renew_before=60) == 900  # already expired: renew immediately


@pytest.mark.parametrize(
    ("url", "seed"),
    [
        ("https://auth.example/v1/api/oauth/token", True),
        ("https://auth.example/v1/api/oauth/token?scope=x", True),
        ("https://gw.example/auth/v1/api/oauth/token/", True),
        ("https://auth.example/oauth2/token", False),
        ("https://auth.example/v1/api/oauth/token-info", False),
    ],
)
def test_seed_endpoint_is_detected_from_the_url_path(url, seed):
    assert is_seed_endpoint(url) is seed


def test_seed_endpoint_at_an_unrecognisable_path_can_be_declared(token_server, make_auth, clock):
    expiry = 2_000_000_000
    token_server.seed_exp = expiry
    clock.now = expiry - 3600
    auth = make_auth(token_server.seed_alias_path, clock=clock, seed_endpoint=True)

    assert auth.get_token() == "token-1"
    clock.now = expiry - 60
    assert auth.get_token() == "token-2"
    request = token_server.last(token_server.seed_alias_path)
    assert (request.query, request.body) == ({"scope": ["orders:read"]}, b"")  # seed request shape


def test_missing_expires_in_keeps_the_token_until_the_api_rejects_it(token_server, make_auth, api_url, clock):
    token_server.token_body = {"token_type": "Bearer"}
    auth = make_auth(clock=clock)

    with httpx.Client(auth=auth) as api:
        api.get(api_url)
        clock.advance(10 * 365 * 86400)
        assert api.get(api_url).json()["token"] == "token-1"
        token_server.revoke_all()
        assert api.get(api_url).json()["token"] == "token-2"


def test_invalidate_forces_a_new_token(token_server, make_auth):
    auth = make_auth()
    auth.get_token()

    auth.invalidate()

    assert auth.get_token() == "token-2"


@pytest.mark.anyio
async def test_async_client_caches_the_token_too(token_server, make_auth, api_url):
    async with httpx.AsyncClient(auth=make_auth()) as api:
        for _ in range(10):
            assert (await api.get(api_url)).status_code == 200

    assert token_server.token_requests == 1


def test_requests_session_caches_the_token(token_server, make_auth, api_url):
    with requests.Session() as session:
        session.auth = make_auth()
        statuses = [session.get(api_url).status_code for _ in range(10)]

    assert statuses == [200] * 10
    assert token_server.token_requests == 1
