"""`tokensmith clients …`: each command does what it says, and a secret is shown
once, at creation, and never again."""

from __future__ import annotations

import json

from tests.cli.conftest import assert_one_line_error
from tests.support.server import Tokensmith


def show(store: Tokensmith, client_id: str) -> dict:
    return json.loads(store.cli("clients", "show", client_id, "--json").stdout)


def test_create_with_json_prints_the_id_and_the_secret_once(store: Tokensmith) -> None:
    created = store.create_client("created-json", scopes=("edit", "read"))
    assert created["client_id"] == "created-json"
    assert created["client_secret"].startswith("tks_")
    assert created["scopes"] == ["edit", "read"]
    assert [s["secret_id"] for s in created["secrets"]] == [created["secret_id"]]


def test_create_without_an_id_generates_one(store: Tokensmith) -> None:
    first = json.loads(store.cli("clients", "create", "--scope", "edit", "--json").stdout)
    second = json.loads(store.cli("clients", "create", "--scope", "edit", "--json").stdout)
    assert first["client_id"] and first["client_id"] != second["client_id"]


def test_create_records_every_option(store: Tokensmith) -> None:
    store.cli(
        "clients", "create", "--client-id", "full", "--name", "Payments batch",
        "--scope", "edit", "--scope", "read", "--default-scope", "read",
        "--audience", "https://api.a", "--audience", "https://api.b",
        "--claim", "firstVisionId=00000AUNAB", "--claim", "tier:=3",
        "--lifetime", "00:00 America/New_York", "--secret-expires-in", "90d",
    )
    client = show(store, "full")
    assert client["name"] == "Payments batch"
    assert client["scopes"] == ["edit", "read"] and client["default_scopes"] == ["read"]
    assert client["audiences"] == ["https://api.a", "https://api.b"]
    assert client["claims"] == {"firstVisionId": "00000AUNAB", "tier": 3}
    assert client["lifetime"] == "00:00 America/New_York"
    [secret] = client["secrets"]
    assert secret["expires_at"] - secret["created_at"] == 90 * 86400


def test_text_output_of_create_says_the_secret_is_shown_once(store: Tokensmith) -> None:
    result = store.cli("clients", "create", "--client-id", "text-create", "--scope", "edit")
    assert "client_secret:" in result.stdout and "tks_" in result.stdout
    assert "shown this once" in result.stderr


def test_show_and_list_never_print_a_secret_or_its_hash(store: Tokensmith) -> None:
    generated = store.create_client("shy")
    store.cli("clients", "create", "--client-id", "shy-imported", "--scope", "edit", "--secret-stdin", input="imported-secret-text\n")
    outputs = [
        store.cli(*args)
        for args in (
            ("clients", "show", "shy"), ("clients", "show", "shy", "--json"),
            ("clients", "show", "shy-imported"), ("clients", "show", "shy-imported", "--json"),
            ("clients", "list"), ("clients", "list", "--json"),
        )
    ]
    for result in outputs:
        printed = result.stdout + result.stderr
        assert generated["client_secret"] not in printed
        assert "imported-secret-text" not in printed
        assert "$argon2" not in printed and "digest" not in printed


def test_list_shows_every_client_with_its_state(store: Tokensmith) -> None:
    store.create_client("listed-a")
    store.create_client("listed-b")
    store.cli("clients", "disable", "listed-b")
    rows = {line.split("\t")[0]: line.split("\t")[1] for line in store.cli("clients", "list").stdout.splitlines()}
    assert rows["listed-a"] == "enabled" and rows["listed-b"] == "disabled"
    listed = {c["client_id"]: c for c in json.loads(store.cli("clients", "list", "--json").stdout)}
    assert listed["listed-a"]["enabled"] is True and listed["listed-b"]["enabled"] is False


def test_update_changes_only_what_it_is_told(store: Tokensmith) -> None:
    store.cli("clients", "create", "--client-id", "upd", "--name", "before", "--scope", "edit", "--claim", "a=1", "--claim", "b=2")
    store.cli("clients", "update", "upd", "--scope", "edit", "--scope", "read", "--claim", "c=3", "--remove-claim", "a", "--lifetime", "600")
    client = show(store, "upd")
    assert client["name"] == "before"
    assert client["scopes"] == ["edit", "read"]
    assert client["claims"] == {"b": "2", "c": "3"}
    assert client["lifetime"] == "600"
    store.cli("clients", "update", "upd", "--audience", "https://api.a")
    assert show(store, "upd")["audiences"] == ["https://api.a"]
    store.cli("clients", "update", "upd", "--clear-audiences")
    assert show(store, "upd")["audiences"] == []


def test_disable_and_enable_flip_the_client(store: Tokensmith) -> None:
    store.create_client("flip")
    assert "disabled" in store.cli("clients", "disable", "flip").stdout
    assert show(store, "flip")["enabled"] is False
    assert "enabled" in store.cli("clients", "enable", "flip").stdout
    assert show(store, "flip")["enabled"] is True


def test_delete_removes_the_client(store: Tokensmith) -> None:
    store.create_client("gone")
    assert "deleted" in store.cli("clients", "delete", "gone").stdout
    assert_one_line_error(store.cli("clients", "show", "gone", check=False))
    # The id is free again.
    assert store.create_client("gone")["client_id"] == "gone"


def test_secret_add_allows_two_live_secrets_and_refuses_a_third(store: Tokensmith) -> None:
    created = store.create_client("rotating")
    added = json.loads(store.cli("clients", "secret", "add", "rotating", "--json").stdout)
    assert added["client_secret"].startswith("tks_") and added["client_secret"] != created["client_secret"]
    assert {s["secret_id"] for s in show(store, "rotating")["secrets"]} == {created["secret_id"], added["secret_id"]}
    message = assert_one_line_error(store.cli("clients", "secret", "add", "rotating", check=False))
    assert "at most 2 live secrets" in message
    assert len(show(store, "rotating")["secrets"]) == 2


def test_secret_remove_frees_a_slot(store: Tokensmith) -> None:
    created = store.create_client("remover")
    store.cli("clients", "secret", "add", "remover")
    assert "removed" in store.cli("clients", "secret", "remove", "remover", created["secret_id"]).stdout
    secrets = show(store, "remover")["secrets"]
    assert created["secret_id"] not in {s["secret_id"] for s in secrets} and len(secrets) == 1
    store.cli("clients", "secret", "add", "remover")


def test_secret_remove_of_an_unknown_secret_is_an_error(store: Tokensmith) -> None:
    store.create_client("keeper")
    message = assert_one_line_error(store.cli("clients", "secret", "remove", "keeper", "sec_nope", check=False))
    assert "sec_nope" in message


def test_secret_add_with_an_expiry_records_it(store: Tokensmith) -> None:
    store.create_client("expiring")
    added = json.loads(store.cli("clients", "secret", "add", "expiring", "--expires-in", "12h", "--json").stdout)
    assert added["expires_at"] - added["created_at"] == 12 * 3600


def test_imported_secret_is_kept_with_argon2id_and_never_echoed(store: Tokensmith) -> None:
    result = store.cli("clients", "create", "--client-id", "legacy", "--scope", "edit", "--secret-stdin", "--json", input="legacy-system-secret\n")
    assert "legacy-system-secret" not in result.stdout + result.stderr
    created = json.loads(result.stdout)
    assert "client_secret" not in created
    assert [s["kind"] for s in created["secrets"]] == ["argon2id"]


def test_secret_add_from_stdin_imports_without_echo(store: Tokensmith) -> None:
    store.create_client("legacy-add")
    result = store.cli("clients", "secret", "add", "legacy-add", "--stdin", "--json", input="another-old-secret\n")
    assert "another-old-secret" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["kind"] == "argon2id"


def test_import_with_nothing_on_stdin_is_an_error(store: Tokensmith) -> None:
    assert_one_line_error(store.cli("clients", "create", "--client-id", "empty-import", "--scope", "edit", "--secret-stdin", input="", check=False))
    assert_one_line_error(store.cli("clients", "show", "empty-import", check=False))
