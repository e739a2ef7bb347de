"""Failures are explicit exceptions, and the client secret never leaks."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import requests

from tokensmith.client import (
    ClientCredentialsAuth,
    TokenRequestError,
    TokenResponseError,
    TokenTransportError,
)


def rendered(exc: BaseException) -> str:
    """Everything an exception shows in logs and tracebacks, including its chain."""
    parts = []
    while exc is not None:
        parts += [str(exc), repr(exc), *map(repr, exc.args)]
        exc = exc.__cause__ or exc.__context__
    return " ".join(parts)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_refusal_raises_token_request_error_with_status_and_code(token_server, make_auth, auth_method):
    token_server.refuse = (400, {"error": "invalid_scope", "error_description": "scope not allowed"})

    with pytest.raises(TokenRequestError) as caught:
        make_auth(auth_method=auth_method).get_token()

    error = caught.value
    assert (error.status_code, error.error, error.error_description) == (400, "invalid_scope", "scope not allowed")
    assert token_server.client_secret not in rendered(error)


def test_wrong_secret_is_reported_without_echoing_it(token_server):
    auth = ClientCredentialsAuth(
        token_server.url + token_server.standard_path, token_server.client_id, "wrong-secret-value"
    )

    with pytest.raises(TokenRequestError) as caught:
        auth.get_token()

    assert (caught.value.status_code, caught.value.error) == (401, "invalid_client")
    assert "wrong-secret-value" not in rendered(caught.value)


def test_secret_echoed_by_the_server_is_redacted(token_server, make_auth):
    secret = token_server.client_secret
    token_server.refuse = (401, {"error": "invalid_client", "error_description": f"bad secret {secret}"})

    with pytest.raises(TokenRequestError) as caught:
        make_auth().get_token()

    assert secret not in rendered(caught.value)
    assert "***" in caught.value.error_description


def test_refusal_surfaces_through_httpx_and_requests_calls(token_server, make_auth, api_url):
    token_server.refuse = (400, {"error": "invalid_scope"})

    with pytest.raises(TokenRequestError), httpx.Client(auth=make_auth()) as api:
        api.get(api_url)
    with pytest.raises(TokenRequestError):
        requests.get(api_url, auth=make_auth(), timeout=10)
    assert token_server.count(token_server.api_path) == 0  # no request went out without a token


@pytest.mark.parametrize(
    "body",
    [{"token_type": "Bearer"}, {"access_token": ""}, {"access_token": "t", "token_type": "mac"}],
    ids=["no-access-token", "empty-access-token", "not-bearer"],
)
def test_unusable_token_response_raises_token_response_error(token_server, make_auth, body):
    token_server.refuse = (200, body)  # the stub answers with exactly this body

    with pytest.raises(TokenResponseError):
        make_auth().get_token()


def test_unreachable_token_endpoint_raises_transport_error(token_server, make_auth):
    auth = make_auth()
    token_server.stop()

    with pytest.raises(TokenTransportError) as caught:
        auth.get_token()

    assert token_server.client_secret not in rendered(caught.value)


def test_repr_and_attributes_hide_the_secret(make_auth, token_server):
    auth = make_auth()

    assert token_server.client_secret not in repr(auth)
    assert token_server.client_secret not in str(auth)
    assert token_server.client_secret not in repr(vars(auth))


def test_logs_never_contain_the_secret_or_the_token(token_server, make_auth, api_url, caplog):
    caplog.set_level(logging.DEBUG)
    with httpx.Client(auth=make_auth()) as api:
        api.get(api_url)
    token_server.refuse = (400, {"error": "invalid_scope", "error_description": token_server.client_secret})
    with pytest.raises(TokenRequestError):
        make_auth().get_token()

    assert caplog.records  # something was logged, so the check below means something
    assert token_server.client_secret not in caplog.text
    assert "token-1" not in caplog.text


def test_sdk_imports_and_works_without_requests_installed(token_server, api_url):
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["requests"] = None  # any "import requests" now raises ImportError
        import httpx
        from tokensmith.client import ClientCredentialsAuth
        auth = ClientCredentialsAuth({token_server.url + token_server.standard_path!r},
                                     {token_server.client_id!r}, {token_server.client_secret!r})
        with httpx.Client(auth=auth) as api:
            assert api.get({api_url!r}).status_code == 200
        """
    )
    src = Path(__file__).resolve().parents[2] / "src"

    result = subprocess.run(
        [sys.executable, "-c", script], env={"PYTHONPATH": str(src)}, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"client_secret": ""}, "secret"),
        ({"auth_method": "private_key_jwt"}, "auth_method"),
        ({"renew_before": -1}, "renew_before"),
    ],
)
def test_invalid_configuration_is_refused_at_construction(kwargs, message):
    options = {"token_url": "https://a/oauth2/token", "client_id": "c", "client_secret": "s"} | kwargs

    with pytest.raises(ValueError, match=message):
        ClientCredentialsAuth(**options)
