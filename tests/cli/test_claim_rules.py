"""Custom claims on the command line: a claim no verifier could read exactly, or one
that would make the client's tokens too long to verify or introspect, is refused in
one line; a client stored before these rules still shows without a traceback."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import assert_one_line_error
from tests.support.server import Tokensmith
from tokensmith.domain.clients import Client
from tokensmith.store.clients import ClientRepository
from tokensmith.store.database import create_engine

DEEP = "[" * 600 + "]" * 600

BAD_CLAIMS = {
    "600 deep": (f"deep:={DEEP}", "nested deeper than 8"),
    "9 deep": ("deep:=" + "[" * 9 + "]" * 9, "nested deeper than 8"),
    "30-digit integer": ("big:=123456789012345678901234567890", "2**53"),
    "2**53": (f"big:={2**53}", "2**53"),
    "infinity": ("inf:=1e400", "finite"),
    "NaN": ("nan:=NaN", "not valid JSON"),
    "3 kB string": ("blob=" + "x" * 3000, "at most 2048"),
    "20000 deep": ("deep:=" + "[" * 20000 + "]" * 20000, "nested"),
}


@pytest.mark.parametrize("claim,says", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
def test_create_refuses_a_claim_no_verifier_reads_exactly(store: Tokensmith, claim: str, says: str) -> None:
    result = store.cli("clients", "create", "--client-id", "bad-claims", "--scope", "edit", "--claim", claim, check=False)
    assert says in assert_one_line_error(result)
    assert store.cli("clients", "show", "bad-claims", check=False).returncode != 0  # nothing was stored


@pytest.mark.parametrize("claim,says", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
def test_update_refuses_the_same_claims(store: Tokensmith, claim: str, says: str) -> None:
    store.cli("clients", "create", "--client-id", "to-update", "--scope", "edit", check=False)
    assert says in assert_one_line_error(store.cli("clients", "update", "to-update", "--claim", claim, check=False))
    assert json.loads(store.cli("clients", "show", "to-update", "--json").stdout)["claims"] == {}


def test_claims_that_fit_alone_are_refused_when_the_scopes_fill_the_token(store: Tokensmith) -> None:
    scopes = [arg for n in range(60) for arg in ("--scope", f"scope.{n:03d}.{'s' * 50}")]
    result = store.cli(
        "clients", "create", "--client-id", "too-long", *scopes, "--claim", "blob=" + "x" * 2000, check=False
    )  # fmt: skip
    assert "verifiers and introspection accept" in assert_one_line_error(result)


def test_the_largest_exact_integer_is_kept_as_an_integer(store: Tokensmith) -> None:
    store.cli("clients", "create", "--client-id", "exact", "--scope", "edit", "--claim", f"n:={2**53 - 1}")
    shown = store.cli("clients", "show", "exact", "--json").stdout
    assert json.loads(shown)["claims"] == {"n": 2**53 - 1} and str(2**53 - 1) in shown


def test_a_client_stored_before_the_rules_shows_its_problem_not_a_traceback(store: Tokensmith) -> None:
    store.cli("db", "upgrade")
    engine = create_engine(store.env["TOKENSMITH_DATABASE_URL"])
    try:
        deep: object = 1
        for _ in range(600):
            deep = [deep]
        ClientRepository(engine).create(Client("legacy", scopes=("edit",), claims={"deep": deep, "ok": "yes"}))
    finally:
        engine.dispose()

    for args in (("clients", "show", "legacy"), ("clients", "show", "legacy", "--json"), ("clients", "list", "--json")):
        result = store.cli(*args)
        assert "Traceback" not in result.stdout + result.stderr
        assert "nested deeper than 8" in result.stdout and "--remove-claim" in result.stdout

    fixed = store.cli("clients", "update", "legacy", "--remove-claim", "deep", "--json")
    assert "Traceback" not in fixed.stdout + fixed.stderr
    assert json.loads(fixed.stdout)["claims"] == {"ok": "yes"}
