"""The claim rules of client assertions and platform tokens (domain/assertions.py),
and federated credentials' conditions (domain/trusts.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.domain.assertions import AssertionRefused, AssertionRules, check_client_assertion, check_platform_token, check_type
from tokensmith.domain.trusts import Condition, Federation, ReplayRule, Trust, claim_at, parse_condition

NOW = 1_800_000_000
ISSUER = "https://auth.example"
RULES = AssertionRules(frozenset({ISSUER}), max_lifetime=300, leeway=30)
TRUST = Trust("k8s", "https://cluster.example")


def own(**claims: Any) -> dict[str, Any]:
    return {"iss": "svc", "sub": "svc", "aud": ISSUER, "iat": NOW, "exp": NOW + 60, "jti": "j", **claims}


def refusal(call: Any, *args: Any) -> str:
    with pytest.raises(AssertionRefused) as caught:
        call(*args)
    return caught.value.reason


def test_a_good_assertion_gives_its_jti_and_exp() -> None:
    assert check_client_assertion(own(), "svc", RULES, NOW) == ("j", NOW + 60)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "other"}, "issuer"),
        ({"sub": "other"}, "subject"),
        ({"aud": [ISSUER]}, "audience"),
        ({"aud": ISSUER + "/"}, "audience"),
        ({"exp": None}, "expired"),
        ({"exp": NOW - 31}, "expired"),
        ({"exp": NOW + 301}, "lifetime"),
        ({"iat": NOW + 31}, "not_yet_valid"),
        ({"nbf": NOW + 31}, "not_yet_valid"),
        ({"exp": True}, "malformed"),
        ({"jti": None}, "jti"),
        ({"jti": 7}, "jti"),
        ({"jti": "x" * 257}, "jti"),
    ],
)
def test_each_broken_rule_names_its_reason(claims: dict[str, Any], reason: str) -> None:
    body = {name: value for name, value in own(**claims).items() if value is not None}
    assert refusal(check_client_assertion, body, "svc", RULES, NOW) == reason


def test_without_iat_the_lifetime_counts_from_now() -> None:
    body = own(exp=NOW + 301)
    del body["iat"]
    assert refusal(check_client_assertion, body, "svc", RULES, NOW) == "lifetime"


def test_typ_values() -> None:
    for typ in (None, "JWT", "client-authentication+jwt", "application/client-authentication+jwt"):
        check_type({} if typ is None else {"typ": typ})
    for typ in ("at+jwt", "dpop+jwt", 5):
        assert refusal(check_type, {"typ": typ}) == "type"


def platform(**claims: Any) -> dict[str, Any]:
    return {"iss": TRUST.issuer, "sub": "system:serviceaccount:orders:api", "aud": ["https://kubernetes.default.svc", ISSUER], "iat": NOW - 60, "exp": NOW + 3000, **claims}


def test_a_platform_token_may_name_several_audiences_but_must_name_this_server() -> None:
    assert check_platform_token(platform(), TRUST, ISSUER, RULES, NOW) is None
    assert refusal(check_platform_token, platform(aud=["https://kubernetes.default.svc"]), TRUST, ISSUER, RULES, NOW) == "audience"
    custom = Trust("ci", TRUST.issuer, audience="tokensmith")
    assert check_platform_token(platform(aud="tokensmith"), custom, ISSUER, RULES, NOW) is None


def test_platform_tokens_replay_rules() -> None:
    assert refusal(check_platform_token, platform(iat=NOW - 3601), TRUST, ISSUER, RULES, NOW) == "too_old"
    assert refusal(check_platform_token, {k: v for k, v in platform().items() if k != "iat"}, TRUST, ISSUER, RULES, NOW) == "too_old"
    single = Trust("ci", TRUST.issuer, replay=ReplayRule.SINGLE_USE)
    assert check_platform_token(platform(jti="abc"), single, ISSUER, RULES, NOW) == "abc"
    assert refusal(check_platform_token, platform(), single, ISSUER, RULES, NOW) == "jti"
    assert refusal(check_platform_token, platform(iss="https://evil"), TRUST, ISSUER, RULES, NOW) == "issuer"


KUBERNETES = {"sub": "system:serviceaccount:orders:api", "kubernetes.io": {"namespace": "orders", "serviceaccount": {"name": "api"}}}


def test_conditions_read_nested_claims_whose_names_hold_dots() -> None:
    assert claim_at(KUBERNETES, "kubernetes.io.namespace") == "orders"
    assert claim_at(KUBERNETES, "kubernetes.io.serviceaccount.name") == "api"
    assert claim_at(KUBERNETES, "kubernetes.io.nothing") is None
    assert parse_condition("kubernetes.io.namespace=orders").matches(KUBERNETES)
    assert not parse_condition("kubernetes.io.namespace=order").matches(KUBERNETES)


def test_conditions_glob_ci_claims_and_never_match_non_strings() -> None:
    github = {"sub": "repo:bank/payments:ref:refs/heads/main", "repository": "bank/payments", "ref": "refs/heads/main", "run_attempt": 1, "tags": ["a"]}
    assert Condition("ref", "refs/heads/*").matches(github)
    assert Condition("repository", "bank/*").matches(github)
    assert not Condition("repository", "Bank/*").matches(github)  # case matters
    assert not Condition("ref", "refs/tags/*").matches(github)
    assert not Condition("run_attempt", "*").matches(github)
    assert not Condition("tags", "*").matches(github)
    assert not Condition("missing", "*").matches(github)


def test_condition_syntax() -> None:
    for text in ("noequals", "=x", "claim=", "sub=x", "iss=x"):
        with pytest.raises(ValueError):
            parse_condition(text)


def test_a_federation_needs_its_trust_its_subject_and_every_condition() -> None:
    federation = Federation("fed_1", "k8s", KUBERNETES["sub"], (Condition("kubernetes.io.namespace", "orders"),))  # type: ignore[arg-type]
    assert federation.accepts("k8s", KUBERNETES)
    assert not federation.accepts("other-trust", KUBERNETES)
    assert not federation.accepts("k8s", {**KUBERNETES, "sub": "system:serviceaccount:orders:other"})
    assert not federation.accepts("k8s", {**KUBERNETES, "kubernetes.io": {"namespace": "payments"}})
