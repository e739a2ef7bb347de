"""The custom-claim rules (domain/clients.py): every value a client's tokens can carry
is one that every verifier reads exactly, and the client's largest token still fits
what tokensmith.verify and the introspection endpoint accept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tokensmith.domain.clients import (
    MAX_CLAIM_DEPTH,
    MAX_CUSTOM_CLAIMS_BYTES,
    MAX_SAFE_INTEGER,
    Client,
    check_custom_claims,
)
from tokensmith.domain.keys import KeyState, new_signing_key
from tokensmith.domain.tokens import TokenSigner, issue_token

# What tokensmith.verify (max_token_bytes) and an introspection form
# (TOKENSMITH_MAX_BODY_BYTES, less its field names) accept.
TOKEN_LIMIT = 8000


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "claims",
    [
        {"firstVisionId": "00000AUNAB"},
        {"tier": 3, "ratio": 0.5, "on": True, "none": None},
        {"deep": nested(MAX_CLAIM_DEPTH)},
        {"edge": MAX_SAFE_INTEGER, "low": -MAX_SAFE_INTEGER},
        {"tags": ["a", {"b": ["c"]}]},
    ],
)
def test_ordinary_claims_are_accepted(claims: dict[str, Any]) -> None:
    check_custom_claims(claims)


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"deep": nested(600)}, "nested deeper"),
        ({"deep": nested(MAX_CLAIM_DEPTH + 1)}, "nested deeper"),
        ({"deep": {"a": {"b": nested(MAX_CLAIM_DEPTH)}}}, "nested deeper"),
        ({"big": 123456789012345678901234567890}, r"2\*\*53"),
        ({"big": MAX_SAFE_INTEGER + 1}, r"2\*\*53"),
        ({"big": [-(2**63)]}, r"2\*\*53"),
        ({"inf": float("inf")}, "finite"),
        ({"nan": float("nan")}, "finite"),
        ({"set": {1, 2}}, "not a JSON value"),
        ({"huge": "x" * MAX_CUSTOM_CLAIMS_BYTES}, "at most 2048"),
    ],
)
def test_claims_no_verifier_reads_exactly_are_refused(claims: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        check_custom_claims(claims)


def test_claims_within_their_own_bound_are_refused_when_scopes_and_audience_fill_the_token() -> None:
    claims = {"blob": "x" * (MAX_CUSTOM_CLAIMS_BYTES - 20)}
    check_custom_claims(claims, client_id="svc", scopes=("read",), audiences=("https://api.example",))
    scopes = tuple(f"scope.{n:04d}.{'s' * 40}" for n in range(60))
    with pytest.raises(ValueError, match="verifiers and introspection accept"):
        check_custom_claims(claims, client_id="svc", scopes=scopes, audiences=("https://api.example",))


def test_the_largest_token_the_rules_allow_fits_verifiers_and_introspection() -> None:
    """The bound is derived, not guessed: fill every part to what the rules let
    through, sign with the longest signature (RSA-2048) and the longest issuer the
    reserve allows, and the token must still be under the limit."""
    client_id = "c" * 128
    audience = "https://" + "a" * 504
    claims = {"blob": "x" * (MAX_CUSTOM_CLAIMS_BYTES - 12)}
    scopes: list[str] = []
    while True:  # as many scopes as the combined bound accepts
        candidate = (*scopes, f"s{len(scopes):03d}" + "x" * 60)
        try:
            check_custom_claims(claims, client_id=client_id, scopes=candidate, audiences=(audience,))
        except ValueError:
            break
        scopes = list(candidate)
    assert len(json.dumps(claims, separators=(",", ":"))) <= MAX_CUSTOM_CLAIMS_BYTES and scopes
    client = Client(client_id=client_id, scopes=tuple(scopes), audiences=(audience,), claims=claims)
    signer = TokenSigner(new_signing_key("RS256", KeyState.ACTIVE, 0))
    issuer = "https://" + "i" * 504
    token = issue_token(signer, client, issuer=issuer, audience=audience, scopes=tuple(scopes), now=1_750_000_000)
    assert len(token.access_token) <= TOKEN_LIMIT
