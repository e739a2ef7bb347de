"""`tokensmith clients … --auth-method`, `clients federate|unfederate` and `tokensmith
trust …` through the real command line: each does what it says, and every mistake
is one line on stderr with a non-zero exit."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cli.conftest import assert_one_line_error
from tests.support.client_keys import ec_jwk, ec_jwks, write_jwks
from tests.support.server import Tokensmith
from tokensmith.store.database import create_engine
from tokensmith.store.usage import CredentialUses

SUBJECT = "system:serviceaccount:payments:batch"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("jwks")
    (folder / "not-json.json").write_text("{oops")
    (folder / "huge.json").write_text(" " * 70_000 + "{}")
    return {
        "keys": write_jwks(folder / "keys.json", ec_jwks("k1", "k2")),
        "bundle": write_jwks(folder / "bundle.json", ec_jwks("b1")),
        "private": write_jwks(folder / "private.json", {"keys": [ec_jwk("p", d="c2VjcmV0")]}),
        "oct": write_jwks(folder / "oct.json", {"keys": [{"kty": "oct", "kid": "s"}]}),
        "array": write_jwks(folder / "array.json", [1, 2]),
        "not-json": str(folder / "not-json.json"),
        "huge": str(folder / "huge.json"),
        "missing": str(folder / "missing.json"),
    }


@pytest.fixture(scope="module")
def cluster(store: Tokensmith) -> str:
    store.cli("trust", "add", "cluster", "--issuer", "https://cluster.example")
    return "cluster"


def cli_json(store: Tokensmith, *args: str) -> Any:
    return json.loads(store.cli(*args, "--json").stdout)


def federated_client(store: Tokensmith, client_id: str) -> dict[str, Any]:
    return cli_json(store, "clients", "create", "--client-id", client_id, "--scope", "edit", "--auth-method", "federated")


def test_a_private_key_jwt_client_is_created_without_a_secret(store: Tokensmith, files: dict[str, str]) -> None:
    result = store.cli("clients", "create", "--client-id", "pk-inline", "--scope", "edit", "--auth-method", "private_key_jwt",
                       "--jwks-file", files["keys"])  # fmt: skip
    assert "client_secret" not in result.stdout and "tks_" not in result.stdout and "shown this once" not in result.stderr
    shown = cli_json(store, "clients", "show", "pk-inline")
    assert shown["auth_method"] == "private_key_jwt" and shown["jwks_uri"] is None and shown["secrets"] == []
    assert shown["keys"] == [
        {"kid": "k1", "algorithms": ["ES256"], "last_used_at": None},
        {"kid": "k2", "algorithms": ["ES256"], "last_used_at": None},
    ]
    by_uri = cli_json(store, "clients", "create", "--client-id", "pk-uri", "--scope", "edit", "--auth-method", "private_key_jwt",
                      "--jwks-uri", "https://pk.example/jwks.json")  # fmt: skip
    assert "client_secret" not in by_uri and by_uri["jwks_uri"] == "https://pk.example/jwks.json" and by_uri["keys"] == []


def test_show_tells_when_each_credential_was_last_used(store: Tokensmith, cluster: str) -> None:
    created = store.create_client("telemetry")
    federated_client(store, "telemetry-wl")
    federation_id = store.cli("clients", "federate", "telemetry-wl", "--trust", cluster, "--subject", SUBJECT).stdout.strip()
    store.cli("clients", "create", "--client-id", "telemetry-pk", "--scope", "edit", "--auth-method", "private_key_jwt",
              "--jwks-uri", "https://pk.example/jwks.json")  # fmt: skip
    # What a node's flush writes (the token path's tally, store/usage.py).
    engine = create_engine(store.env["TOKENSMITH_DATABASE_URL"])
    CredentialUses(engine).record({
        ("telemetry", created["secret_id"]): 1_800_000_000, ("telemetry-wl", federation_id): 1_800_000_001,
        ("telemetry-pk", "key:remote-1"): 1_800_000_002,
    })  # fmt: skip
    engine.dispose()
    assert cli_json(store, "clients", "show", "telemetry")["secrets"][0]["last_used_at"] == 1_800_000_000
    [federation] = cli_json(store, "clients", "show", "telemetry-wl")["federations"]
    assert federation["federation_id"] == federation_id and federation["last_used_at"] == 1_800_000_001
    assert cli_json(store, "clients", "show", "telemetry-pk")["keys"] == [
        {"kid": "remote-1", "algorithms": None, "last_used_at": 1_800_000_002}
    ]
    text = store.cli("clients", "show", "telemetry-wl").stdout
    assert "auth_method:    federated" in text and federation_id in text and "last_used_at" in text


def test_update_switches_method_and_keys(store: Tokensmith, files: dict[str, str]) -> None:
    store.create_client("switching")
    message = assert_one_line_error(
        store.cli("clients", "update", "switching", "--auth-method", "private_key_jwt", "--jwks-file", files["keys"], check=False)
    )
    assert "--remove-secrets" in message
    assert cli_json(store, "clients", "show", "switching")["auth_method"] == "client_secret_basic"
    switched = cli_json(store, "clients", "update", "switching", "--auth-method", "private_key_jwt", "--jwks-file", files["keys"],
                        "--remove-secrets")  # fmt: skip
    assert switched["auth_method"] == "private_key_jwt" and switched["secrets"] == []
    assert [key["kid"] for key in switched["keys"]] == ["k1", "k2"]
    by_uri = cli_json(store, "clients", "update", "switching", "--jwks-uri", "https://switching.example/jwks")
    assert by_uri["jwks_uri"] == "https://switching.example/jwks" and by_uri["keys"] == []
    back = cli_json(store, "clients", "update", "switching", "--auth-method", "client_secret_post")
    assert (back["auth_method"], back["jwks_uri"]) == ("client_secret_post", None)
    assert cli_json(store, "clients", "secret", "add", "switching")["client_secret"].startswith("tks_")


def test_federate_prints_the_credential_id_and_unfederate_removes_it(store: Tokensmith, cluster: str) -> None:
    federated_client(store, "workload")
    result = store.cli("clients", "federate", "workload", "--trust", cluster, "--subject", SUBJECT,
                       "--condition", "kubernetes.io.namespace=payments", "--condition", "kubernetes.io.serviceaccount.name=b*")  # fmt: skip
    federation_id = result.stdout.strip()
    assert federation_id.startswith("fed_") and len(result.stdout.splitlines()) == 1
    as_json = cli_json(store, "clients", "federate", "workload", "--trust", cluster, "--subject", "system:serviceaccount:payments:other")
    [first, second] = cli_json(store, "clients", "show", "workload")["federations"]
    assert first["federation_id"] == federation_id and second["federation_id"] == as_json["federation_id"]
    assert first["conditions"] == ["kubernetes.io.namespace=payments", "kubernetes.io.serviceaccount.name=b*"]
    assert first["trust"] == cluster and first["subject"] == SUBJECT
    assert "removed" in store.cli("clients", "unfederate", "workload", federation_id).stdout
    assert [f["federation_id"] for f in cli_json(store, "clients", "show", "workload")["federations"]] == [as_json["federation_id"]]


def test_trust_add_list_show_update(store: Tokensmith, files: dict[str, str]) -> None:
    added = cli_json(store, "trust", "add", "spiffe", "--issuer", "https://spiffe.example", "--jwks-file", files["bundle"],
                     "--audience", "https://tokens.example", "--replay", "single-use", "--max-token-age", "300")  # fmt: skip
    assert added["keys_from"] == "jwks" and added["jwks_kids"] == ["b1"] and added["replay"] == "single-use"
    assert added["audience"] == "https://tokens.example" and added["max_token_age"] == 300
    store.cli("trust", "add", "ci", "--issuer", "https://ci.example", "--jwks-uri", "https://ci.example/keys")
    listed = {t["name"]: t for t in cli_json(store, "trust", "list")}
    assert listed["ci"]["keys_from"] == "jwks_uri" and listed["spiffe"]["federated_credentials"] == 0
    rows = {line.split("\t")[0]: line.split("\t") for line in store.cli("trust", "list").stdout.splitlines()}
    assert rows["ci"][1:4] == ["https://ci.example", "jwks_uri", "max-age"]
    assert cli_json(store, "trust", "show", "spiffe") == {**added, "updated_at": added["updated_at"]}
    changed = cli_json(store, "trust", "update", "ci", "--discovery", "--replay", "single-use")
    assert changed["keys_from"] == "discovery" and changed["jwks_uri"] is None and changed["replay"] == "single-use"
    assert "issuer:" in store.cli("trust", "show", "ci").stdout


def test_trust_remove_refuses_while_used_unless_forced(store: Tokensmith) -> None:
    store.cli("trust", "add", "doomed", "--issuer", "https://doomed.example")
    for client_id in ("doomed-a", "doomed-b"):
        federated_client(store, client_id)
        store.cli("clients", "federate", client_id, "--trust", "doomed", "--subject", SUBJECT)
    message = assert_one_line_error(store.cli("trust", "remove", "doomed", check=False))
    assert "used by 2 federated credentials" in message and "--force" in message
    assert cli_json(store, "trust", "show", "doomed")["federated_credentials"] == 2
    assert "removed and 2 federated credentials" in store.cli("trust", "remove", "doomed", "--force").stdout
    assert_one_line_error(store.cli("trust", "show", "doomed", check=False))
    assert cli_json(store, "clients", "show", "doomed-a")["federations"] == []
    store.cli("trust", "add", "unused", "--issuer", "https://unused.example")
    assert store.cli("trust", "remove", "unused").stdout.strip() == "trust unused removed"


def test_every_change_is_in_the_audit_trail(store: Tokensmith, cluster: str) -> None:
    federated_client(store, "audited")
    federation_id = store.cli("clients", "federate", "audited", "--trust", cluster, "--subject", SUBJECT).stdout.strip()
    store.cli("clients", "unfederate", "audited", federation_id)
    engine = create_engine(store.env["TOKENSMITH_DATABASE_URL"])
    with engine.connect() as connection:
        trail = connection.execute(sa.text("SELECT action, subject FROM audit_events ORDER BY id")).all()
    engine.dispose()
    assert ("client.federated", "audited") in trail and ("client.unfederated", "audited") in trail
    assert ("trust.added", "trust:cluster") in trail


BAD_INPUT: dict[str, tuple[tuple[str, ...], str]] = {
    "create: unknown method": (("clients", "create", "--scope", "edit", "--auth-method", "client_secret_jwt"), "--auth-method"),
    "create: keys missing": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt"), "exactly one"),
    "create: both key sources": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@keys",
                                  "--jwks-uri", "https://x.example/jwks"), "exactly one"),
    "create: keys for a secret client": (("clients", "create", "--scope", "edit", "--jwks-file", "@keys"), "no registered keys"),
    "create: private key": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@private"),
                            "private member 'd'"),
    "create: oct key": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@oct"), "oct"),
    "create: not json": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@not-json"),
                         "not JSON"),
    "create: not an object": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@array"),
                              "JSON object"),
    "create: huge file": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@huge"),
                          "larger than"),
    "create: missing file": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-file", "@missing"),
                             "cannot read"),
    "create: bad uri": (("clients", "create", "--scope", "edit", "--auth-method", "private_key_jwt", "--jwks-uri", "pk.example"),
                        "absolute https URL"),
    "create: import for a federated client": (("clients", "create", "--scope", "edit", "--auth-method", "federated", "--secret-stdin"),
                                              "no secret to import"),
    "create: expiry for a keyed client": (("clients", "create", "--scope", "edit", "--auth-method", "federated", "--secret-expires-in",
                                           "1d"), "no secret"),
    "update: keys on a secret client": (("clients", "update", "plain", "--jwks-uri", "https://x.example/jwks"), "no registered keys"),
    "update: both key sources": (("clients", "update", "plain", "--jwks-file", "@keys", "--jwks-uri", "https://x.example/j"), "not both"),
    "update: to federated with a live secret": (("clients", "update", "plain", "--auth-method", "federated"), "--remove-secrets"),
    "update: unknown client": (("clients", "update", "nobody", "--auth-method", "federated"), "nobody"),
    "secret add: keyed client": (("clients", "secret", "add", "bad-input-wl"), "has no secrets"),
    "federate: secret client": (("clients", "federate", "plain", "--trust", "cluster", "--subject", "s"), "not federated"),
    "federate: unknown trust": (("clients", "federate", "bad-input-wl", "--trust", "nope", "--subject", "s"), "no trust 'nope'"),
    "federate: unknown client": (("clients", "federate", "nobody", "--trust", "cluster", "--subject", "s"), "nobody"),
    "federate: no subject": (("clients", "federate", "bad-input-wl", "--trust", "cluster"), "--subject"),
    "federate: empty subject": (("clients", "federate", "bad-input-wl", "--trust", "cluster", "--subject", ""), "subject"),
    "federate: bad condition": (("clients", "federate", "bad-input-wl", "--trust", "cluster", "--subject", "s", "--condition", "x"),
                                "CLAIM=PATTERN"),
    "federate: condition on sub": (("clients", "federate", "bad-input-wl", "--trust", "cluster", "--subject", "s", "--condition",
                                    "sub=*"), "checked by the trust"),
    "unfederate: unknown credential": (("clients", "unfederate", "bad-input-wl", "fed_nope"), "fed_nope"),
    "unfederate: unknown client": (("clients", "unfederate", "nobody", "fed_nope"), "nobody"),
    "trust add: no issuer": (("trust", "add", "t1"), "--issuer"),
    "trust add: bad name": (("trust", "add", "Bad Name", "--issuer", "https://x.example"), "trust's name"),
    "trust add: bad issuer": (("trust", "add", "t1", "--issuer", "x.example"), "absolute https URL"),
    "trust add: issuer with query": (("trust", "add", "t1", "--issuer", "https://x.example/?a=1"), "query"),
    "trust add: both key sources": (("trust", "add", "t1", "--issuer", "https://x.example", "--jwks-file", "@bundle", "--jwks-uri",
                                     "https://x.example/k"), "--jwks-uri"),
    "trust add: private key": (("trust", "add", "t1", "--issuer", "https://x.example", "--jwks-file", "@private"), "private member"),
    "trust add: missing file": (("trust", "add", "t1", "--issuer", "https://x.example", "--jwks-file", "@missing"), "cannot read"),
    "trust add: bad jwks uri": (("trust", "add", "t1", "--issuer", "https://x.example", "--jwks-uri", "ftp://x"), "JWKS URI"),
    "trust add: bad replay": (("trust", "add", "t1", "--issuer", "https://x.example", "--replay", "twice"), "--replay"),
    "trust add: age zero": (("trust", "add", "t1", "--issuer", "https://x.example", "--max-token-age", "0"), "1 to 86400"),
    "trust add: age not a number": (("trust", "add", "t1", "--issuer", "https://x.example", "--max-token-age", "soon"),
                                    "--max-token-age"),
    "trust add: bad audience": (("trust", "add", "t1", "--issuer", "https://x.example", "--audience", "a b"), "audience"),
    "trust add: taken name": (("trust", "add", "cluster", "--issuer", "https://x.example"), "already exists"),
    "trust show: unknown": (("trust", "show", "nope"), "no trust 'nope'"),
    "trust update: unknown": (("trust", "update", "nope", "--max-token-age", "60"), "no trust 'nope'"),
    "trust update: two key sources": (("trust", "update", "cluster", "--discovery", "--jwks-uri", "https://x.example/k"), "--discovery"),
    "trust update: two audiences": (("trust", "update", "cluster", "--audience", "a", "--default-audience"), "not both"),
    "trust update: bad issuer": (("trust", "update", "cluster", "--issuer", "nowhere"), "absolute https URL"),
    "trust remove: unknown": (("trust", "remove", "nope"), "no trust 'nope'"),
    "trust remove: used": (("trust", "remove", "cluster"), "federated credentials: remove them first"),
}


@pytest.fixture(scope="module")
def bad_input_store(store: Tokensmith, cluster: str) -> Tokensmith:
    store.create_client("plain")
    federated_client(store, "bad-input-wl")
    store.cli("clients", "federate", "bad-input-wl", "--trust", cluster, "--subject", "kept")
    return store


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_one_line_on_stderr(bad_input_store: Tokensmith, files: dict[str, str], case: str) -> None:
    args, expected = BAD_INPUT[case]
    args = tuple(files[arg[1:]] if arg.startswith("@") else arg for arg in args)
    before = bad_input_store.cli("audit", "list", "--json").stdout if case == "trust remove: used" else None
    message = assert_one_line_error(bad_input_store.cli(*args, input="", check=False))
    assert expected in message, message
    if before is not None:
        assert bad_input_store.cli("audit", "list", "--json").stdout == before
        assert len(cli_json(bad_input_store, "clients", "show", "bad-input-wl")["federations"]) == 1


def test_a_refused_create_leaves_no_client(bad_input_store: Tokensmith, files: dict[str, str]) -> None:
    assert_one_line_error(bad_input_store.cli("clients", "create", "--client-id", "never", "--scope", "edit", "--auth-method",
                                              "private_key_jwt", "--jwks-file", files["private"], check=False))  # fmt: skip
    assert "never" in assert_one_line_error(bad_input_store.cli("clients", "show", "never", check=False))
