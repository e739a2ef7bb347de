"""The registration rules of clients without shared secrets, and of trusts: whatever
tool makes the change (domain/registration.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.support.client_keys import ec_jwk, ec_jwks
from tokensmith.domain.client_keys import AuthMethod
from tokensmith.domain.clients import Client
from tokensmith.domain.lifetimes import FixedLifetime
from tokensmith.domain.registration import (
    build_client,
    build_trust,
    change_client,
    change_trust,
    new_federation,
    new_secret,
)
from tokensmith.domain.secrets import SecretChecker
from tokensmith.domain.trusts import MAX_FEDERATIONS_PER_CLIENT, Condition, Federation, ReplayRule, Trust

NOW = 1_750_000_000
CHECKER = SecretChecker(b"k" * 32, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
TRUST = Trust("cluster", "https://cluster.example")


def client(**overrides: Any) -> Client:
    fields: dict[str, Any] = dict(
        client_id="svc", name="", scopes=("edit",), default_scopes=None, audiences=(), claims={},
        lifetime=FixedLifetime(3600), now=NOW,
    )  # fmt: skip
    return build_client(**{**fields, **overrides})


def test_a_private_key_jwt_client_has_its_keys_inline_or_at_a_uri() -> None:
    inline = client(auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("k1"))
    assert inline.auth_method is AuthMethod.PRIVATE_KEY_JWT and inline.jwks is not None and inline.jwks_uri is None
    remote = client(auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks_uri="https://svc.example/jwks")
    assert remote.jwks_uri == "https://svc.example/jwks" and remote.jwks is None


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"auth_method": AuthMethod.PRIVATE_KEY_JWT}, "exactly one"),
        ({"auth_method": AuthMethod.PRIVATE_KEY_JWT, "jwks": ec_jwks("a"), "jwks_uri": "https://svc.example/jwks"}, "exactly one"),
        ({"auth_method": AuthMethod.PRIVATE_KEY_JWT, "jwks": {"keys": [ec_jwk("a", d="eA")]}}, "private member"),
        ({"auth_method": AuthMethod.PRIVATE_KEY_JWT, "jwks_uri": "file:///etc/passwd"}, "absolute https URL"),
        ({"jwks": ec_jwks("a")}, "client_secret_basic client has no registered keys"),
        ({"auth_method": AuthMethod.CLIENT_SECRET_POST, "jwks_uri": "https://svc.example/jwks"}, "no registered keys"),
        ({"auth_method": AuthMethod.FEDERATED, "jwks": ec_jwks("a")}, "federated client has no registered keys"),
    ],
)
def test_keys_that_do_not_fit_the_method_are_refused(overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        client(**overrides)


def test_a_change_is_checked_by_the_same_rules() -> None:
    secret_client = client()
    with pytest.raises(ValueError, match="exactly one"):
        change_client(secret_client, NOW + 1, auth_method=AuthMethod.PRIVATE_KEY_JWT)
    changed = change_client(secret_client, NOW + 1, auth_method=AuthMethod.PRIVATE_KEY_JWT, jwks=ec_jwks("a"))
    assert changed.auth_method is AuthMethod.PRIVATE_KEY_JWT and changed.updated_at == NOW + 1
    federated = replace(client(auth_method=AuthMethod.FEDERATED), federations=(Federation("fed_1", "cluster", "sub"),))
    with pytest.raises(ValueError, match="1 federated credential"):
        change_client(federated, NOW + 1, auth_method=AuthMethod.CLIENT_SECRET_BASIC)


@pytest.mark.parametrize("method", [AuthMethod.PRIVATE_KEY_JWT, AuthMethod.FEDERATED])
def test_a_client_without_secrets_is_given_none(method: AuthMethod) -> None:
    keyed = client(auth_method=method, jwks=ec_jwks("a") if method is AuthMethod.PRIVATE_KEY_JWT else None)
    with pytest.raises(ValueError, match="it has no secrets"):
        new_secret(keyed, CHECKER, NOW)
    assert new_secret(client(), CHECKER, NOW)[1].startswith("tks_")


def test_a_federated_credential_binds_a_federated_client_to_a_trusts_subject() -> None:
    federated = client(auth_method=AuthMethod.FEDERATED)
    federation = new_federation(federated, TRUST, "system:serviceaccount:ns:sa", ["kubernetes.io.namespace=ns", "x=y*"], NOW)
    assert federation.federation_id.startswith("fed_") and len(federation.federation_id) == 20
    assert (federation.trust, federation.subject, federation.created_at) == ("cluster", "system:serviceaccount:ns:sa", NOW)
    assert federation.conditions == (Condition("kubernetes.io.namespace", "ns"), Condition("x", "y*"))
    again = new_federation(federated, TRUST, "system:serviceaccount:ns:sa", [], NOW)
    assert again.federation_id != federation.federation_id


@pytest.mark.parametrize(
    ("subject", "conditions", "reason"),
    [
        ("", [], "a subject must be 1 to 512"),
        ("x" * 513, [], "a subject must be 1 to 512"),
        ("line\nbreak", [], "printable"),
        ("sub", ["novalue"], "expected CLAIM=PATTERN"),
        ("sub", ["sub=other"], "checked by the trust"),
        ("sub", [f"c{n}=v" for n in range(17)], "at most 16 conditions"),
        ("sub", ["c=" + "v" * 513], "a pattern must be 1 to 512"),
        ("sub", ["c\t=v"], "printable"),
    ],
)
def test_a_bad_federated_credential_is_refused(subject: str, conditions: list[str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        new_federation(client(auth_method=AuthMethod.FEDERATED), TRUST, subject, conditions, NOW)


def test_only_a_federated_client_gets_federated_credentials_and_at_most_so_many() -> None:
    with pytest.raises(ValueError, match="authenticates with client_secret_basic, not federated"):
        new_federation(client(), TRUST, "sub", [], NOW)
    full = replace(
        client(auth_method=AuthMethod.FEDERATED),
        federations=tuple(Federation(f"fed_{n}", "cluster", f"sub{n}") for n in range(MAX_FEDERATIONS_PER_CLIENT)),
    )
    with pytest.raises(ValueError, match=f"at most {MAX_FEDERATIONS_PER_CLIENT} federated credentials"):
        new_federation(full, TRUST, "another", [], NOW)
    with pytest.raises(ValueError, match="already has this federated credential: fed_3"):
        new_federation(replace(full, federations=full.federations[:4]), TRUST, "sub3", [], NOW)


def trust(**overrides: Any) -> Trust:
    fields: dict[str, Any] = dict(
        name="cluster", issuer="https://cluster.example", jwks_uri=None, jwks=None, audience=None,
        replay=ReplayRule.MAX_AGE, max_token_age=3600, now=NOW,
    )  # fmt: skip
    return build_trust(**{**fields, **overrides})


def test_a_trust_takes_its_keys_by_discovery_a_uri_or_inline() -> None:
    assert trust() == Trust("cluster", "https://cluster.example", created_at=NOW, updated_at=NOW)
    assert trust(jwks_uri="https://cluster.example/openid/v1/jwks").jwks_uri == "https://cluster.example/openid/v1/jwks"
    assert trust(jwks={"keys": [jwk := ec_jwk("bundle")]}).jwks == {"keys": [jwk]}
    assert trust(issuer="http://127.0.0.1:9000", replay=ReplayRule.SINGLE_USE, max_token_age=60).replay is ReplayRule.SINGLE_USE


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"name": "Upper"}, "a trust's name"),
        ({"name": "-dash"}, "a trust's name"),
        ({"name": "x" * 65}, "a trust's name"),
        ({"issuer": "cluster.example"}, "absolute https URL"),
        ({"issuer": "https://cluster.example/?tenant=1"}, "query"),
        ({"issuer": "https://user@cluster.example"}, "credentials"),
        ({"jwks_uri": "https://k.example/jwks", "jwks": ec_jwks("a")}, "not both"),
        ({"jwks_uri": "k.example/jwks"}, "JWKS URI"),
        ({"jwks": {"keys": [{"kty": "oct", "kid": "s", "k": "eA"}]}}, "private member"),
        ({"audience": "has space"}, "not a valid audience"),
        ({"max_token_age": 0}, "1 to 86400"),
        ({"max_token_age": 86401}, "1 to 86400"),
    ],
)
def test_a_bad_trust_is_refused(overrides: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        trust(**overrides)


def test_a_trust_change_is_checked_like_a_new_trust() -> None:
    changed = change_trust(trust(), NOW + 5, audience="https://tokens.example")
    assert changed.audience == "https://tokens.example" and changed.updated_at == NOW + 5 and changed.created_at == NOW
    with pytest.raises(ValueError, match="absolute https URL"):
        change_trust(trust(), NOW + 5, issuer="nowhere")
