"""What the command line changes, a running server honours: secrets rotate without
downtime, a disabled or deleted client is refused, an imported secret works."""

from __future__ import annotations

import json

import httpx

from tests.support.server import Tokensmith

SEED_PATH = "/v1/api/oauth/token"


def token_status(http: httpx.Client, client_id: str, secret: str, scope: str = "edit") -> int:
    return http.post(f"{SEED_PATH}?scope={scope}", auth=(client_id, secret)).status_code


def test_both_secrets_work_during_rotation_and_a_removed_one_stops(tokensmith: Tokensmith, http: httpx.Client) -> None:
    old = tokensmith.create_client("rotation")
    new = json.loads(tokensmith.cli("clients", "secret", "add", "rotation", "--json").stdout)
    assert token_status(http, "rotation", old["client_secret"]) == 200
    assert token_status(http, "rotation", new["client_secret"]) == 200
    tokensmith.cli("clients", "secret", "remove", "rotation", old["secret_id"])
    assert token_status(http, "rotation", old["client_secret"]) == 401
    assert token_status(http, "rotation", new["client_secret"]) == 200


def test_disabled_client_is_refused_until_enabled(tokensmith: Tokensmith, http: httpx.Client) -> None:
    client = tokensmith.create_client("switch")
    tokensmith.cli("clients", "disable", "switch")
    assert token_status(http, "switch", client["client_secret"]) == 401
    tokensmith.cli("clients", "enable", "switch")
    assert token_status(http, "switch", client["client_secret"]) == 200


def test_deleted_client_is_refused(tokensmith: Tokensmith, http: httpx.Client) -> None:
    client = tokensmith.create_client("deleted")
    tokensmith.cli("clients", "delete", "deleted")
    assert token_status(http, "deleted", client["client_secret"]) == 401


def test_imported_secret_authenticates(tokensmith: Tokensmith, http: httpx.Client) -> None:
    tokensmith.cli("clients", "create", "--client-id", "migrated", "--scope", "edit", "--secret-stdin", input="s3cret-from-the-old-system\n")
    assert token_status(http, "migrated", "s3cret-from-the-old-system") == 200
    assert token_status(http, "migrated", "s3cret-from-the-old-systen") == 401


def test_updated_scopes_take_effect_on_the_next_request(tokensmith: Tokensmith, http: httpx.Client) -> None:
    client = tokensmith.create_client("evolving")
    assert token_status(http, "evolving", client["client_secret"], "read") == 401
    tokensmith.cli("clients", "update", "evolving", "--scope", "edit", "--scope", "read")
    assert token_status(http, "evolving", client["client_secret"], "read") == 200
