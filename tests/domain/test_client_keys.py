"""A JWKS registered for a client or a trust is checked whole: a mistake in it is
reported, not skipped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.client_keys import ec_jwk, ec_jwks
from tokensmith.domain.client_keys import (
    MAX_JWKS_KEYS,
    AuthMethod,
    check_jwks_uri,
    jwks_kids,
    keys_of_jwks,
    parse_auth_method,
)


def test_a_good_set_gives_one_key_per_kid_and_algorithm() -> None:
    keys = keys_of_jwks(ec_jwks("a", "b"))
    assert [(key.kid, key.alg) for key in keys] == [("a", "ES256"), ("b", "ES256")]
    assert jwks_kids(ec_jwks("a", "b")) == ["a", "b"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"keys": [ec_jwk("a", d="c2VjcmV0")]}, "private member 'd'"),
        ({"keys": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}]}, "private member 'k'"),
        ({"keys": [{"kty": "oct", "kid": "sym"}]}, "unsupported key type 'oct'"),
        ({"keys": [ec_jwk("same"), ec_jwk("same")]}, "kid 'same' appears twice"),
        ({"keys": [ec_jwk(f"k{n}") for n in range(MAX_JWKS_KEYS + 1)]}, f"at most {MAX_JWKS_KEYS}"),
        ({"keys": []}, "no keys"),
        ({"keys": {}}, "\"keys\" array"),
        ([], "\"keys\" array"),
        ({"keys": ["not a key"]}, "not a JSON object"),
        ({"keys": [{k: v for k, v in ec_jwk("x").items() if k != "kid"}]}, "no kid"),
        ({"keys": [ec_jwk("a", alg="RS256")]}, "does not match key type"),
        ({"keys": [ec_jwk("a", use="enc")]}, "not a signature key"),
        ({"keys": [ec_jwk("a", padding="x" * 20000)]}, "larger than"),
    ],
)
def test_a_bad_set_is_refused_with_its_reason(document: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        keys_of_jwks(document)


@pytest.mark.parametrize("uri", ["https://keys.example/jwks.json", "http://127.0.0.1:8443/jwks"])
def test_a_jwks_uri_is_an_absolute_url(uri: str) -> None:
    assert check_jwks_uri(uri) == uri


@pytest.mark.parametrize(
    "uri", ["keys.example/jwks", "ftp://keys.example/jwks", "https://user:pw@keys.example/", "https://k.example/#f", "https:///x",
            "https://k.example/" + "x" * 2048],
)  # fmt: skip
def test_a_jwks_uri_without_host_or_with_credentials_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="JWKS URI"):
        check_jwks_uri(uri)


def test_auth_methods_are_named_as_rfc_7591_names_them() -> None:
    assert parse_auth_method("private_key_jwt") is AuthMethod.PRIVATE_KEY_JWT
    with pytest.raises(ValueError, match="one of: client_secret_basic"):
        parse_auth_method("client_secret_jwt")
