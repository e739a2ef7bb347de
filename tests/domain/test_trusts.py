"""Federated credentials match a platform token's claims: its exact subject, and
each condition's glob on a (possibly nested, possibly dotted) claim."""

from __future__ import annotations

import pytest

from tokensmith.domain.trusts import Condition, Federation, claim_at, parse_condition

KUBERNETES_TOKEN = {
    "iss": "https://cluster.example",
    "sub": "system:serviceaccount:payments:batch",
    "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "batch", "uid": "5f0c"}},
}
CI_TOKEN = {
    "sub": "repo:bank/payments:ref:refs/heads/main",
    "repository": "bank/payments",
    "ref": "refs/heads/main",
    "run_attempt": 1,
    "environments": ["prod"],
}


def test_a_dotted_path_reaches_into_members_whose_names_hold_dots() -> None:
    assert claim_at(KUBERNETES_TOKEN, "kubernetes.io.namespace") == "payments"
    assert claim_at(KUBERNETES_TOKEN, "kubernetes.io.serviceaccount.name") == "batch"
    assert claim_at(KUBERNETES_TOKEN, "kubernetes.io.serviceaccount.missing") is None
    assert claim_at(KUBERNETES_TOKEN, "kubernetes") is None
    assert claim_at({"a.b": "flat", "a": {"b": "nested"}}, "a.b") == "flat"  # the exact name first


@pytest.mark.parametrize(
    ("condition", "claims", "matches"),
    [
        ("kubernetes.io.namespace=payments", KUBERNETES_TOKEN, True),
        ("kubernetes.io.namespace=pay*", KUBERNETES_TOKEN, True),
        ("kubernetes.io.namespace=Payments", KUBERNETES_TOKEN, False),  # case sensitive
        ("kubernetes.io.namespace=billing", KUBERNETES_TOKEN, False),
        ("repository=bank/*", CI_TOKEN, True),
        ("repository=bank/pay?ents", CI_TOKEN, True),
        ("repository=other/*", CI_TOKEN, False),
        ("ref=refs/heads/main", CI_TOKEN, True),
        ("ref=refs/heads/[mr]ain", CI_TOKEN, True),
        ("ref=refs/tags/*", CI_TOKEN, False),
        ("ref=*", CI_TOKEN, True),
        # Only a string value can match, whatever the pattern.
        ("run_attempt=1", CI_TOKEN, False),
        ("run_attempt=*", CI_TOKEN, False),
        ("environments=*", CI_TOKEN, False),
        ("environments=prod", CI_TOKEN, False),
        ("kubernetes.io=*", KUBERNETES_TOKEN, False),
        ("missing=*", CI_TOKEN, False),
    ],
)
def test_a_condition_matches_a_string_claim_by_its_glob(condition: str, claims: dict, matches: bool) -> None:
    assert parse_condition(condition).matches(claims) is matches


@pytest.mark.parametrize("text", ["novalue", "=pattern", "claim=", "sub=x", "iss=https://x", "aud=*", "jti=*", "exp=1"])
def test_a_malformed_condition_or_one_on_a_checked_claim_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        parse_condition(text)


def test_a_federation_accepts_only_its_trust_its_exact_subject_and_tokens_meeting_every_condition() -> None:
    federation = Federation(
        "fed_1", "cluster", "system:serviceaccount:payments:batch",
        (Condition("kubernetes.io.namespace", "payments"), Condition("kubernetes.io.serviceaccount.name", "b*")),
    )  # fmt: skip
    assert federation.accepts("cluster", KUBERNETES_TOKEN)
    assert not federation.accepts("other-cluster", KUBERNETES_TOKEN)
    assert not federation.accepts("cluster", {**KUBERNETES_TOKEN, "sub": "system:serviceaccount:payments:*"})
    assert not federation.accepts("cluster", {**KUBERNETES_TOKEN, "kubernetes.io": {"namespace": "payments"}})
