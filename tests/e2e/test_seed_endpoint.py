"""The seed's "Get Access Token" request and response (seed/get-access-token.md,
DESIGN.md §1 and §3), end to end against a real server over HTTP."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jwt
import pytest

from tests.e2e.wire import SEED_PATH, auth_header, basic, jwt_part, seed_error
from tests.support.server import Tokensmith

NEW_YORK = ZoneInfo("America/New_York")
API = "https://api.example"


@pytest.fixture(scope="module")
def seed_client(tokensmith: Tokensmith) -> dict[str, Any]:
    """The seed's own example client: POC_NAB_Dev with the firstVisionId claim."""
    return tokensmith.create_client(
        "POC_NAB_Dev", "--claim", "firstVisionId=00000AUNAB", "--claim", "level:=3", scopes=("edit", "read")
    )


def token_for(http: httpx.Client, client: dict[str, Any], query: str = "scope=edit") -> dict[str, Any]:
    response = http.post(f"{SEED_PATH}?{query}", headers=auth_header(client))
    assert response.status_code == 200, response.text
    return response.json()


def test_seed_request_gets_exactly_the_seed_response_shape(http: httpx.Client, seed_client: dict[str, Any]) -> None:
    # The seed's request: Basic credentials, scope in the query, an empty body.
    response = http.post(f"{SEED_PATH}?scope=edit", headers=auth_header(seed_client))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = json.loads(response.content)
    assert list(body) == ["access_token", "expires_in", "token_type"]
    assert body["token_type"] == "Bearer"
    assert type(body["expires_in"]) is int
    # As in the seed, expires_in is the expiry instant, not a duration.
    assert body["expires_in"] == jwt_part(body["access_token"], 1)["exp"]


def test_token_is_an_rs256_access_token_jwt_signed_by_a_published_key(
    http: httpx.Client, tokensmith: Tokensmith, seed_client: dict[str, Any]
) -> None:
    token = token_for(http, seed_client)["access_token"]

    header = jwt_part(token, 0)
    assert header["alg"] == "RS256"
    assert header["typ"] == "at+jwt"  # RFC 9068 §2.1
    jwks = http.get("/.well-known/jwks.json").json()
    published = {key["kid"]: key for key in jwks["keys"]}
    assert header["kid"] in published
    key = jwt.PyJWK(published[header["kid"]])
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=tokensmith.issuer, issuer=tokensmith.issuer)
    assert claims["client_id"] == "POC_NAB_Dev"


def test_token_carries_the_registered_and_the_clients_custom_claims(
    http: httpx.Client, tokensmith: Tokensmith, seed_client: dict[str, Any]
) -> None:
    before = int(time.time())
    first = jwt_part(token_for(http, seed_client)["access_token"], 1)
    second = jwt_part(token_for(http, seed_client)["access_token"], 1)

    assert set(first) == {"iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti", "firstVisionId", "level"}
    assert first["iss"] == tokensmith.issuer
    assert first["sub"] == first["client_id"] == "POC_NAB_Dev"  # RFC 9068 §2.2
    assert first["aud"] == tokensmith.issuer  # no audience of its own: the server's default
    assert first["scope"] == "edit"
    assert before <= first["iat"] <= int(time.time())
    assert first["exp"] - first["iat"] == 3600  # the default lifetime
    assert first["jti"] and first["jti"] != second["jti"]
    assert first["firstVisionId"] == "00000AUNAB"
    assert first["level"] == 3  # `--claim level:=3` is a number, not the string "3"


def test_daily_boundary_lifetime_expires_at_the_next_new_york_midnight(
    http: httpx.Client, tokensmith: Tokensmith
) -> None:
    client = tokensmith.create_client("nightly", "--lifetime", "00:00 America/New_York")

    body = token_for(http, client)
    claims = jwt_part(body["access_token"], 1)

    issued = datetime.fromtimestamp(claims["iat"], NEW_YORK)
    next_midnight = datetime.combine(issued.date() + timedelta(days=1), clock_time(0, 0), tzinfo=NEW_YORK)
    assert claims["exp"] == body["expires_in"] == int(next_midnight.timestamp())
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 25 * 3600  # 25 h on the day clocks go back


def test_lifetime_in_seconds_sets_exp_that_many_seconds_after_iat(http: httpx.Client, tokensmith: Tokensmith) -> None:
    client = tokensmith.create_client("short-lived", "--lifetime", "120")

    body = token_for(http, client)
    claims = jwt_part(body["access_token"], 1)

    assert claims["exp"] - claims["iat"] == 120
    assert body["expires_in"] == claims["exp"]


@pytest.mark.parametrize("query", ["scope=edit%20read", "scope=edit+read"])
def test_space_separated_scope_list_grants_every_allowed_token(
    http: httpx.Client, seed_client: dict[str, Any], query: str
) -> None:
    claims = jwt_part(token_for(http, seed_client, query)["access_token"], 1)

    assert claims["scope"] == "edit read"


@pytest.fixture(scope="module")
def api_client(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("api-caller", "--audience", API)


def test_clients_registered_audience_is_the_tokens_aud(http: httpx.Client, api_client: dict[str, Any]) -> None:
    assert jwt_part(token_for(http, api_client)["access_token"], 1)["aud"] == API


@pytest.mark.parametrize("parameter", ["audience", "resource"])
def test_requesting_an_allowed_audience_in_the_query_is_granted(
    http: httpx.Client, api_client: dict[str, Any], parameter: str
) -> None:
    query = f"scope=edit&{parameter}={API}"

    assert jwt_part(token_for(http, api_client, query)["access_token"], 1)["aud"] == API


@pytest.mark.parametrize("parameter", ["audience", "resource"])
def test_requesting_an_audience_the_client_may_not_have_is_refused(
    http: httpx.Client, api_client: dict[str, Any], parameter: str
) -> None:
    response = http.post(f"{SEED_PATH}?scope=edit&{parameter}=https://other.example", headers=auth_header(api_client))

    seed_error(response, code="240110", status=400)


def test_form_audience_that_contradicts_the_query_is_refused(http: httpx.Client, api_client: dict[str, Any]) -> None:
    response = http.post(
        f"{SEED_PATH}?scope=edit&audience={API}",
        headers=auth_header(api_client),
        data={"grant_type": "client_credentials", "audience": "https://other.example"},
    )

    seed_error(response, code="240105", status=400)


ODD_ID = "a:b%c+d"
ODD_SECRET = "my:secret+with%chars"


@pytest.fixture(scope="module")
def odd_client(tokensmith: Tokensmith) -> str:
    """A client whose id and imported secret hold every character RFC 6749 §2.3.1's
    form-urlencoding changes: colon, percent and plus."""
    tokensmith.cli("clients", "create", "--client-id", ODD_ID, "--scope", "edit", "--secret-stdin", "--json", input=ODD_SECRET + "\n")
    return ODD_ID


def test_basic_credentials_are_form_urldecoded_per_rfc_6749(http: httpx.Client, odd_client: str) -> None:
    response = http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": basic(odd_client, ODD_SECRET)})

    assert response.status_code == 200, response.text
    assert jwt_part(response.json()["access_token"], 1)["client_id"] == ODD_ID


def test_basic_credentials_sent_without_form_encoding_do_not_match(http: httpx.Client, odd_client: str) -> None:
    # "a:b%c+d:my:secret…" splits at the first colon into the id "a": no such client.
    response = http.post(f"{SEED_PATH}?scope=edit", auth=(odd_client, ODD_SECRET))

    seed_error(response, code="240101", status=401)


def test_client_secret_post_form_is_accepted(http: httpx.Client, seed_client: dict[str, Any]) -> None:
    form = {"grant_type": "client_credentials", "client_id": seed_client["client_id"], "client_secret": seed_client["client_secret"]}

    response = http.post(f"{SEED_PATH}?scope=edit", data=form)

    assert response.status_code == 200, response.text
    assert list(response.json()) == ["access_token", "expires_in", "token_type"]


def test_form_scope_equal_to_the_query_scope_is_accepted(http: httpx.Client, seed_client: dict[str, Any]) -> None:
    response = http.post(
        f"{SEED_PATH}?scope=edit", headers=auth_header(seed_client), data={"grant_type": "client_credentials", "scope": "edit"}
    )

    assert response.status_code == 200, response.text
    assert jwt_part(response.json()["access_token"], 1)["scope"] == "edit"


def test_form_scope_stands_in_when_the_query_has_none(http: httpx.Client, seed_client: dict[str, Any]) -> None:
    response = http.post(SEED_PATH, headers=auth_header(seed_client), data={"grant_type": "client_credentials", "scope": "read"})

    assert response.status_code == 200, response.text
    assert jwt_part(response.json()["access_token"], 1)["scope"] == "read"
