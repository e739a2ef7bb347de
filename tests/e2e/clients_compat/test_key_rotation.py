"""Key rotation seen from outside: tokens signed before and after `tokensmith keys
rotate` both verify with an ordinary JWKS client, and the next key was published
before it signed anything."""

from __future__ import annotations

import json

import httpx
import jwt

from tests.support.server import Tokensmith


def fetch_token(http: httpx.Client, client: dict) -> str:
    response = http.post("/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def verify_with_a_new_jwks_client(tokensmith: Tokensmith, token: str) -> dict:
    jwks = jwt.PyJWKClient(f"{tokensmith.url}/.well-known/jwks.json", cache_keys=False)
    key = jwks.get_signing_key_from_jwt(token).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=tokensmith.issuer, issuer=tokensmith.issuer)


def published_kids(http: httpx.Client) -> set[str]:
    return {key["kid"] for key in http.get("/.well-known/jwks.json").json()["keys"]}


def test_tokens_from_before_and_after_a_rotation_both_verify(tokensmith: Tokensmith, http: httpx.Client) -> None:
    client = tokensmith.create_client("rotation-watcher")
    token_a = fetch_token(http, client)
    kid_a = jwt.get_unverified_header(token_a)["kid"]
    jwks_before = http.get("/.well-known/jwks.json").json()

    tokensmith.cli("keys", "rotate")

    token_b = fetch_token(http, client)
    kid_b = jwt.get_unverified_header(token_b)["kid"]
    assert kid_b != kid_a
    assert verify_with_a_new_jwks_client(tokensmith, token_a)["client_id"] == "rotation-watcher"
    assert verify_with_a_new_jwks_client(tokensmith, token_b)["client_id"] == "rotation-watcher"
    # The retired key stays published for the tokens it signed.
    assert kid_a in published_kids(http)
    # A verifier holding the JWKS from before the rotation already had the new key.
    cached_key = jwt.PyJWKSet.from_dict(jwks_before)[kid_b].key
    assert jwt.decode(token_b, cached_key, algorithms=["RS256"], audience=tokensmith.issuer)["sub"] == "rotation-watcher"


def test_two_rotations_later_the_first_key_still_verifies(tokensmith: Tokensmith, http: httpx.Client) -> None:
    client = tokensmith.create_client("long-lived-verifier")
    token = fetch_token(http, client)
    tokensmith.cli("keys", "rotate")
    tokensmith.cli("keys", "rotate")
    assert jwt.get_unverified_header(fetch_token(http, client))["kid"] != jwt.get_unverified_header(token)["kid"]
    assert verify_with_a_new_jwks_client(tokensmith, token)["sub"] == "long-lived-verifier"
    states = {k["state"] for k in json.loads(tokensmith.cli("keys", "list", "--json").stdout)}
    assert states == {"retired", "active", "next"}
