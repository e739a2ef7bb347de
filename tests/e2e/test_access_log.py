"""The access log: one line per request that an operator can join to a response by
its X-Request-Id, and never a credential or a token in any log line."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, access_line, auth_header, basic, wait_for_log
from tests.support.server import Tokensmith

IMPORTED_SECRET = "imported-Secret+with%odd:chars"
ACCESS_FIELDS = {"request_id", "method", "path", "status", "client_id", "latency_ms"}


@pytest.fixture(scope="module")
def traffic(tokensmith: Tokensmith, http: httpx.Client) -> dict[str, Any]:
    """A mix of successes and refusals, and everything secret they carried."""
    client = tokensmith.create_client("logged", scopes=("edit",))
    tokensmith.cli("clients", "create", "--client-id", "imported", "--scope", "edit", "--secret-stdin", input=IMPORTED_SECRET + "\n")
    secret = client["client_secret"]
    authorizations = [auth_header(client)["Authorization"], basic("imported", IMPORTED_SECRET), basic("logged", secret + "-wrong")]
    responses = [
        http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": authorizations[0]}),
        http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": authorizations[1]}),
        http.post(f"{SEED_PATH}?scope=edit", headers={"Authorization": authorizations[2]}),
        http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": "logged", "client_secret": secret}),
        http.post(OAUTH_PATH, data={"grant_type": "client_credentials", "client_id": "logged", "client_secret": "post-" + secret}),
        http.post(f"{SEED_PATH}?scope=edit&client_secret={secret}", headers={"Authorization": authorizations[0]}),
        http.get(SEED_PATH, headers={"Authorization": authorizations[0]}),
        http.get("/no/such/path"),
    ]
    tokens = [r.json()["access_token"] for r in responses if r.status_code == 200]
    assert len(tokens) == 4
    wait_for_log(tokensmith, lambda line: line.get("request_id") == responses[-1].headers["x-request-id"])
    return {
        "responses": responses,
        "secrets": [secret, IMPORTED_SECRET],
        "authorizations": authorizations,
        "tokens": tokens,
    }


def access_lines(server: Tokensmith) -> list[dict[str, Any]]:
    return [line for line in server.log_lines() if line.get("logger") == "tokensmith.access"]


def test_every_access_line_has_the_fields_an_operator_needs(tokensmith: Tokensmith, traffic: dict[str, Any]) -> None:
    lines = access_lines(tokensmith)

    assert len(lines) >= len(traffic["responses"])
    for line in lines:
        assert ACCESS_FIELDS <= set(line), line
        assert isinstance(line["latency_ms"], (int, float)) and line["latency_ms"] >= 0


def test_each_response_request_id_names_its_access_line(tokensmith: Tokensmith, traffic: dict[str, Any]) -> None:
    for response in traffic["responses"]:
        line = access_line(tokensmith, response.headers["x-request-id"])

        assert line["path"] == response.request.url.path  # the path only: no query string
        assert line["status"] == response.status_code
        assert line["method"] == response.request.method


def test_access_line_names_the_client_that_asked(tokensmith: Tokensmith, traffic: dict[str, Any]) -> None:
    first, second, wrong, posted = traffic["responses"][:4]

    assert access_line(tokensmith, first.headers["x-request-id"])["client_id"] == "logged"
    assert access_line(tokensmith, second.headers["x-request-id"])["client_id"] == "imported"
    assert access_line(tokensmith, wrong.headers["x-request-id"])["client_id"] == "logged"
    assert access_line(tokensmith, posted.headers["x-request-id"])["client_id"] == "logged"
    assert access_line(tokensmith, traffic["responses"][-1].headers["x-request-id"])["client_id"] is None


def test_no_log_line_holds_a_secret_a_token_or_an_authorization_header(tokensmith: Tokensmith, traffic: dict[str, Any]) -> None:
    log = tokensmith.log_path.read_text()
    basic_payloads = [value.split(" ", 1)[1] for value in traffic["authorizations"]]
    token_signatures = [token.rsplit(".", 1)[1] for token in traffic["tokens"]]
    # A secret might also be logged decoded from its form-urlencoding, or base64url'd.
    imported_b64 = base64.b64encode(IMPORTED_SECRET.encode()).decode()

    for needle in [*traffic["secrets"], *traffic["authorizations"], *basic_payloads, *traffic["tokens"], *token_signatures, imported_b64]:
        assert needle not in log


def test_callers_request_id_is_kept_when_it_is_safe(tokensmith: Tokensmith, http: httpx.Client) -> None:
    response = http.get("/healthz", headers={"X-Request-Id": "trace-4f2a.e2e_1"})

    assert response.headers["x-request-id"] == "trace-4f2a.e2e_1"
    assert access_line(tokensmith, "trace-4f2a.e2e_1")["path"] == "/healthz"


@pytest.mark.parametrize("unsafe", ["two words", "x" * 65, 'quote"inject', "{json}"])
def test_unsafe_request_id_is_replaced_so_it_cannot_forge_log_content(
    tokensmith: Tokensmith, http: httpx.Client, unsafe: str
) -> None:
    response = http.get("/healthz", headers={"X-Request-Id": unsafe})

    issued = response.headers["x-request-id"]
    assert issued != unsafe
    assert access_line(tokensmith, issued)["path"] == "/healthz"


@pytest.mark.parametrize("endpoint", [SEED_PATH, OAUTH_PATH, "/oauth2/introspect"])
def test_a_secret_sent_in_the_id_field_never_reaches_the_log(tokensmith: Tokensmith, http: httpx.Client, endpoint: str) -> None:
    """The audit's leaks: Basic user and password swapped, and a form client_id that
    holds the secret. An id no client has is never logged: it may be a secret."""
    client = tokensmith.create_client("swapper-" + endpoint.strip("/").replace("/", "-"), scopes=("edit",))
    secret = client["client_secret"]
    form = {"grant_type": "client_credentials", "token": "x"}
    url = f"{endpoint}?scope=edit" if endpoint == SEED_PATH else endpoint
    swapped = http.post(url, data=form, headers={"Authorization": basic(secret, client["client_id"])})
    in_form = http.post(url, data={**form, "client_id": secret, "client_secret": "whatever"})
    for response in (swapped, in_form):
        assert response.status_code == 401
        line = wait_for_log(tokensmith, lambda line, rid=response.headers["x-request-id"]: line.get("request_id") == rid)
        assert line["client_id"] is None
    assert secret not in tokensmith.log_path.read_text()
