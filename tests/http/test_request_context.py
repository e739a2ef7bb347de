"""The request id (http/request_context.py request_id_for): a caller's X-Request-Id is
kept only when it is safe to log, and a value shaped like a credential is not, since
a confused client that puts its secret or its token there would find it in every log
line of the request. Against a real `tokensmith serve`: on the token endpoints (the
protocol's no-I/O answer and the ASGI route's refusal) and on a Starlette route, the
value is neither echoed nor anywhere in the server's log."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.wire import OAUTH_PATH, SEED_PATH, access_line
from tests.support.server import Tokensmith
from tokensmith.http.request_context import request_id_for

SECRET_SHAPED = "tks_" + "Q" * 43
JWT_SHAPED = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith) -> dict[str, str]:
    return tokensmith.create_client("request-ids", scopes=("edit",))


def requests(http: httpx.Client, client: dict[str, str], request_id: str) -> list[httpx.Response]:
    """A token (answered without I/O), a refused token request, and another route."""
    header = {"X-Request-Id": request_id}
    credentials = (client["client_id"], client["client_secret"])
    return [
        http.post(f"{SEED_PATH}?scope=edit", auth=credentials, headers=header),
        http.post(OAUTH_PATH, auth=(client["client_id"], "wrong"), data={"grant_type": "client_credentials"}, headers=header),
        http.get("/healthz", headers=header),
    ]


@pytest.mark.parametrize("value", [SECRET_SHAPED, "x-" + SECRET_SHAPED[:40], JWT_SHAPED], ids=["secret", "secret-inside", "jwt"])
def test_a_credential_shaped_request_id_is_replaced_never_echoed_or_logged(
    tokensmith: Tokensmith, http: httpx.Client, client: dict[str, str], value: str
) -> None:
    responses = requests(http, client, value)

    assert [response.status_code for response in responses] == [200, 401, 200]
    for response in responses:
        replacement = response.headers["x-request-id"]
        assert replacement != value and value not in replacement
        assert access_line(tokensmith, replacement)["request_id"] == replacement
        assert value.encode() not in response.content
    assert value not in tokensmith.log_path.read_text()


def test_an_ordinary_request_id_is_kept(tokensmith: Tokensmith, http: httpx.Client, client: dict[str, str]) -> None:
    for index, response in enumerate(requests(http, client, "trace-4711.a_b")):
        assert response.headers["x-request-id"] == "trace-4711.a_b", index
    assert access_line(tokensmith, "trace-4711.a_b")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, False),
        (b"abc-123", True),
        (b"tks_", True),  # the prefix alone holds no secret
        (b"tks_x", False),
        (b"eyJ.a.b", False),
        (b"eyJhbGci", True),  # one part: not a JWS
        (b"a" * 65, False),
        (b"a\nb", False),
        (b"\xff", False),
    ],
)
def test_request_id_for_keeps_only_safe_values(given: bytes | None, kept: bool) -> None:
    assert (request_id_for(given) == (given or b"").decode("latin-1")) is kept
