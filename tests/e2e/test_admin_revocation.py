"""An administrator's emergency measures, against a real server: a disabled or
deleted client's tokens, every token of a client (`clients revoke-tokens`), and every
token of a compromised signing key (`keys remove --compromised`) turn inactive at
introspection at once, while tokens asked for afterwards work."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.cli.conftest import assert_one_line_error
from tests.support.server import Tokensmith

INACTIVE = {"active": False}


@pytest.fixture(scope="module")
def introspector(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("resource-server", scopes=("introspect",))


def token_of(server: Tokensmith, client: dict[str, Any]) -> str:
    response = httpx.post(
        f"{server.url}/v1/api/oauth/token", params={"scope": "edit"}, auth=(client["client_id"], client["client_secret"])
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def introspected(server: Tokensmith, token: str, introspector: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/oauth2/introspect", data={"token": token}, auth=(introspector["client_id"], introspector["client_secret"])
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def audit_actions(server: Tokensmith, subject: str) -> list[str]:
    events = json.loads(server.cli("audit", "list", "--json", "--limit", "100").stdout)
    return [event["action"] for event in events if event["subject"] == subject]


def test_a_disabled_clients_tokens_are_inactive_until_it_is_enabled(tokensmith: Tokensmith, introspector: dict[str, Any]) -> None:
    client = tokensmith.create_client("to-disable")
    token = token_of(tokensmith, client)
    assert introspected(tokensmith, token, introspector)["active"] is True

    tokensmith.cli("clients", "disable", "to-disable")
    assert introspected(tokensmith, token, introspector) == INACTIVE

    tokensmith.cli("clients", "enable", "to-disable")
    assert introspected(tokensmith, token, introspector)["active"] is True


def test_a_deleted_clients_tokens_stay_inactive_even_under_a_new_client_of_its_id(
    tokensmith: Tokensmith, introspector: dict[str, Any]
) -> None:
    client = tokensmith.create_client("to-delete")
    token = token_of(tokensmith, client)
    tokensmith.cli("clients", "delete", "to-delete")
    assert introspected(tokensmith, token, introspector) == INACTIVE

    time.sleep(1.1)  # iat is whole seconds: the new client is made in a later second
    successor = tokensmith.create_client("to-delete")
    assert introspected(tokensmith, token, introspector) == INACTIVE
    assert introspected(tokensmith, token_of(tokensmith, successor), introspector)["active"] is True


def test_revoke_tokens_ends_every_earlier_token_and_the_next_one_works(
    tokensmith: Tokensmith, introspector: dict[str, Any]
) -> None:
    client = tokensmith.create_client("leaky")
    earlier = [token_of(tokensmith, client) for _ in range(3)]
    other = tokensmith.create_client("bystander")
    bystanders = token_of(tokensmith, other)

    done = tokensmith.cli("clients", "revoke-tokens", "leaky")
    # Asked for the moment the command returns, in the same second or the next.
    after = token_of(tokensmith, client)

    assert "revoked" in done.stdout
    for token in earlier:
        assert introspected(tokensmith, token, introspector) == INACTIVE
    assert introspected(tokensmith, after, introspector)["active"] is True
    assert introspected(tokensmith, bystanders, introspector)["active"] is True
    shown = json.loads(tokensmith.cli("clients", "show", "leaky", "--json").stdout)
    assert isinstance(shown["tokens_not_before"], int)
    assert "client.tokens_revoked" in audit_actions(tokensmith, "leaky")
    # A later change of the client's settings does not undo the revocation.
    tokensmith.cli("clients", "update", "leaky", "--name", "Leaky")
    assert introspected(tokensmith, earlier[0], introspector) == INACTIVE


def test_a_client_reusing_tokens_gets_a_new_one_after_revoke_tokens(tokensmith: Tokensmith, introspector: dict[str, Any]) -> None:
    client = tokensmith.create_client("reuser", "--reuse-tokens")
    first = token_of(tokensmith, client)
    assert token_of(tokensmith, client) == first  # handed back while fresh
    tokensmith.cli("clients", "revoke-tokens", "reuser")
    after = token_of(tokensmith, client)
    assert after != first
    assert introspected(tokensmith, after, introspector)["active"] is True


def test_revoke_tokens_of_an_unknown_client_is_one_line(tokensmith: Tokensmith) -> None:
    assert "nobody" in assert_one_line_error(tokensmith.cli("clients", "revoke-tokens", "nobody", check=False))


def test_removing_the_compromised_active_key_ends_its_tokens_and_the_next_key_signs(
    tokensmith: Tokensmith, introspector: dict[str, Any]
) -> None:
    client = tokensmith.create_client("signed")
    token = token_of(tokensmith, client)
    compromised = kid_of(token)
    keys_before = {key["kid"]: key for key in json.loads(tokensmith.cli("keys", "list", "--json").stdout)}
    (upcoming,) = [kid for kid, key in keys_before.items() if key["state"] == "next"]

    refused = tokensmith.cli("keys", "remove", compromised, check=False)
    assert "--compromised" in assert_one_line_error(refused)
    assert introspected(tokensmith, token, introspector)["active"] is True  # nothing was removed

    tokensmith.cli("keys", "remove", compromised, "--compromised")

    jwks = httpx.get(f"{tokensmith.url}/.well-known/jwks.json").json()
    published = {key["kid"] for key in jwks["keys"]}
    assert compromised not in published and upcoming in published
    assert introspected(tokensmith, token, introspector) == INACTIVE
    fresh = token_of(tokensmith, client)
    assert kid_of(fresh) == upcoming
    assert introspected(tokensmith, fresh, introspector)["active"] is True
    keys_after = {key["kid"]: key["state"] for key in json.loads(tokensmith.cli("keys", "list", "--json").stdout)}
    assert compromised not in keys_after and keys_after[upcoming] == "active"
    assert list(keys_after.values()).count("next") == 1
    events = json.loads(tokensmith.cli("audit", "list", "--json", "--action", "keys.removed").stdout)
    assert [(event["details"]["kid"], event["details"]["state"]) for event in events] == [(compromised, "active")]


def test_removing_an_unknown_key_is_one_line(tokensmith: Tokensmith) -> None:
    assert "no signing key" in assert_one_line_error(tokensmith.cli("keys", "remove", "nope", "--compromised", check=False))
