"""Server bugs Schemathesis found against /openapi.json, each pinned down here so
that it stays fixed whatever the fuzzer happens to generate next time."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.wire import oauth_error, seed_error
from tokensmith.http.errors import allow_value


def test_allow_lists_the_methods_in_one_order() -> None:
    """Starlette joins a set of methods, whose order changed with each process's hash
    seed: half the servers answered `Allow: HEAD, GET`, against docs/errors.md."""
    assert allow_value("HEAD, GET") == "GET, HEAD"
    assert allow_value("POST") == "POST"
    assert allow_value("PATCH, get,HEAD") == "GET, HEAD, PATCH"


@pytest.mark.parametrize("path", ["/healthz", "/.well-known/jwks.json", "/docs", "/openapi.json"])
def test_a_405_names_get_then_head(http: httpx.Client, path: str) -> None:
    response = http.post(path)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("sent", "instance"),
    [
        # A tab or line break in the decoded path was dropped by request.url, so a 404
        # for a path that no route has named an endpoint that exists.
        ("/healthz%09", "/healthz\t"),
        ("/v1/api/oauth/token%0A", "/v1/api/oauth/token\n"),
        ("/docs/assets/%0D", "/docs/assets/\r"),
        # `?` and `#` came back percent-encoded; `instance` is the decoded path.
        ("/v1/api/oauth/token%3Fscope=edit", "/v1/api/oauth/token?scope=edit"),
    ],
)
def test_instance_is_the_decoded_path_as_received(http: httpx.Client, sent: str, instance: str) -> None:
    response = http.get(sent)
    assert seed_error(response, code="240109", status=404)["instance"] == instance


@pytest.mark.parametrize("path", ["/v1/api/oauth/token%0A", "/oauth2/token%0A", "/oauth2/revoke%0A", "/healthz%0A"])
def test_a_trailing_newline_is_another_path(http: httpx.Client, path: str) -> None:
    """Python's `$` matches before a trailing newline: `/oauth2/token%0A` issued tokens."""
    for method in ("GET", "POST"):
        response = http.request(method, f"{path}?scope=edit", data={"grant_type": "client_credentials"})
        if path.startswith("/oauth2/"):
            oauth_error(response, error="invalid_request", status=404)
        else:
            assert seed_error(response, code="240109", status=404)["instance"].endswith("\n")
