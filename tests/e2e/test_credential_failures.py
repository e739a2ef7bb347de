"""Every credential or scope failure looks the same from outside (DESIGN.md §1,
RFC 6749 §10.2), and the standard endpoint's refusals are RFC 6749 §5.2's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.wire import INVALID_CREDENTIALS, OAUTH_PATH, SEED_PATH, auth_header, basic, oauth_error, seed_error
from tests.support.server import Tokensmith

API = "https://api.example"


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    """This module's server, without the brute-force guard: the module sends more
    failed authentications from one address than the guard lets through, and asks
    how each single failure is answered, not when the address gets blocked."""
    server = Tokensmith(tmp_path_factory.mktemp("credentials"), env_overrides={"TOKENSMITH_BRUTEFORCE_ENABLED": "false"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def good(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("good", "--audience", API, scopes=("edit",))


@pytest.fixture(scope="module")
def disabled(tokensmith: Tokensmith) -> dict[str, Any]:
    client = tokensmith.create_client("disabled")
    tokensmith.cli("clients", "disable", "disabled")
    return client


@pytest.fixture(scope="module")
def expired(tokensmith: Tokensmith, http: httpx.Client) -> dict[str, Any]:
    """A client whose only secret worked and has now expired. The expiry leaves room
    for two command-line runs on a busy machine before the control request."""
    original = tokensmith.create_client("expiring")
    added = json.loads(tokensmith.cli("clients", "secret", "add", "expiring", "--expires-in", "10s", "--json").stdout)
    tokensmith.cli("clients", "secret", "remove", "expiring", original["secret_id"])
    client = {"client_id": "expiring", "client_secret": added["client_secret"]}
    assert http.post(f"{SEED_PATH}?scope=edit", headers=auth_header(client)).status_code == 200
    # The server compares whole seconds: past expires_at means past its second too.
    time.sleep(max(0.0, added["expires_at"] - time.time()) + 0.2)
    return client


@pytest.fixture(scope="module")
def refusal(http: httpx.Client) -> httpx.Response:
    """The reference refusal: an id no client has."""
    return http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": basic("nobody", "tks_whatever")})


def test_the_credential_refusal_is_the_seeds_401(refusal: httpx.Response) -> None:
    problem = seed_error(refusal, code="240101", status=401)
    assert problem["invalid-params"] == [INVALID_CREDENTIALS]
    assert problem["title"] == "Unauthorized"
    assert problem["instance"] == SEED_PATH
    assert refusal.headers["www-authenticate"].startswith("Basic")


def test_a_good_client_gets_a_token(http: httpx.Client, good: dict[str, Any]) -> None:
    # The control for every refusal below: the same request, right, succeeds.
    assert http.post(f"{SEED_PATH}?scope=edit", headers=auth_header(good)).status_code == 200


CASES = {
    "wrong secret": lambda c: {"headers": {"Authorization": basic("good", c["good"]["client_secret"] + "x")}},
    "disabled client": lambda c: {"headers": auth_header(c["disabled"])},
    "expired secret": lambda c: {"headers": auth_header(c["expired"])},
    "scope not allowed": lambda c: {"headers": auth_header(c["good"]), "scope": "admin"},
    "scope list with one token not allowed": lambda c: {"headers": auth_header(c["good"]), "scope": "edit%20admin"},
    "no credentials": lambda c: {"headers": {}},
    "bearer authorization": lambda c: {"headers": {"Authorization": "Bearer " + c["good"]["client_secret"]}},
    "secret of another client": lambda c: {"headers": {"Authorization": basic("good", c["disabled"]["client_secret"])}},
    "empty secret": lambda c: {"headers": {"Authorization": basic("good", "")}},
    "post form with wrong secret": lambda c: {"data": {"client_id": "good", "client_secret": "nope"}},
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_credential_or_scope_failure_gives_the_identical_401(
    http: httpx.Client,
    refusal: httpx.Response,
    good: dict[str, Any],
    disabled: dict[str, Any],
    expired: dict[str, Any],
    case: str,
) -> None:
    request = CASES[case]({"good": good, "disabled": disabled, "expired": expired})
    scope = request.pop("scope", "edit")

    response = http.post(f"{SEED_PATH}?scope={scope}", **request)

    assert response.status_code == 401
    assert response.content == refusal.content  # byte for byte: nothing says which part was wrong
    assert response.headers["www-authenticate"] == refusal.headers["www-authenticate"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


# The standard endpoint: RFC 6749 §5.2 errors.

CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


def test_standard_endpoint_issues_rfc_6749_response(http: httpx.Client, good: dict[str, Any]) -> None:
    response = http.post(OAUTH_PATH, headers=auth_header(good), data=CLIENT_CREDENTIALS)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600  # seconds remaining, RFC 6749 §5.1
    assert body["scope"] == "edit"


@pytest.mark.parametrize(
    "headers, form",
    [
        pytest.param({"Authorization": basic("nobody", "tks_x")}, {}, id="unknown client"),
        pytest.param({"Authorization": basic("good", "wrong")}, {}, id="wrong secret"),
        pytest.param({}, {"client_id": "good", "client_secret": "wrong"}, id="post wrong secret"),
        pytest.param({}, {}, id="no credentials"),
    ],
)
def test_standard_endpoint_refuses_bad_credentials_as_invalid_client(
    http: httpx.Client, good: dict[str, Any], headers: dict[str, str], form: dict[str, str]
) -> None:
    response = http.post(OAUTH_PATH, headers=headers, data={**CLIENT_CREDENTIALS, **form})

    oauth_error(response, error="invalid_client", status=401)
    assert response.headers["www-authenticate"].startswith("Basic")


def test_standard_endpoint_refuses_a_scope_not_allowed_as_invalid_scope(http: httpx.Client, good: dict[str, Any]) -> None:
    response = http.post(OAUTH_PATH, headers=auth_header(good), data={**CLIENT_CREDENTIALS, "scope": "admin"})

    oauth_error(response, error="invalid_scope", status=400)
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token"])
def test_standard_endpoint_supports_only_client_credentials(http: httpx.Client, good: dict[str, Any], grant_type: str) -> None:
    response = http.post(OAUTH_PATH, headers=auth_header(good), data={"grant_type": grant_type, "username": "u", "password": "p"})

    oauth_error(response, error="unsupported_grant_type", status=400)


def test_standard_endpoint_requires_grant_type(http: httpx.Client, good: dict[str, Any]) -> None:
    response = http.post(OAUTH_PATH, headers=auth_header(good), data={"scope": "edit"})

    oauth_error(response, error="invalid_request", status=400)


def test_two_client_authentication_methods_at_once_are_refused(http: httpx.Client, good: dict[str, Any]) -> None:
    # RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
    form = {**CLIENT_CREDENTIALS, "client_id": "good", "client_secret": good["client_secret"]}

    response = http.post(OAUTH_PATH, headers=auth_header(good), data=form)

    oauth_error(response, error="invalid_request", status=400)


@pytest.mark.parametrize("parameter", ["resource", "audience"])
def test_standard_endpoint_refuses_a_disallowed_target_as_invalid_target(
    http: httpx.Client, good: dict[str, Any], parameter: str
) -> None:
    response = http.post(OAUTH_PATH, headers=auth_header(good), data={**CLIENT_CREDENTIALS, parameter: "https://other.example"})

    oauth_error(response, error="invalid_target", status=400)  # RFC 8707 §2


def test_standard_endpoint_grants_an_allowed_resource(http: httpx.Client, good: dict[str, Any]) -> None:
    response = http.post(OAUTH_PATH, headers=auth_header(good), data={**CLIENT_CREDENTIALS, "resource": API})

    assert response.status_code == 200, response.text
