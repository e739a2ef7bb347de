"""The rules every client change follows, whatever tool makes it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from argon2 import PasswordHasher

from tokensmith.domain.lifetimes import FixedLifetime
from tokensmith.domain.registration import build_client, change_client, new_secret
from tokensmith.domain.secrets import SecretChecker, SecretKind

NOW = 1_750_000_000
CHECKER = SecretChecker(b"k" * 32, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def client(**overrides: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = dict(
        client_id="svc", name="", scopes=("edit", "read"), default_scopes=None, audiences=(),
        claims={}, lifetime=FixedLifetime(3600), now=NOW,
    )
    return build_client(**{**fields, **overrides})  # type: ignore[arg-type]


def test_defaults_are_all_scopes_unless_given() -> None:
    assert client().default_scopes == ("edit", "read")
    assert client(default_scopes=("read",)).default_scopes == ("read",)


def test_generated_client_id_when_none_is_given() -> None:
    assert client(client_id=None).client_id != client(client_id=None).client_id


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "has space"},
        {"client_id": "x" * 129},
        {"scopes": ()},
        {"scopes": ("bad scope",)},
        {"default_scopes": ("admin",)},
        {"audiences": ("has space",)},
        {"audiences": ("",)},
        {"claims": {"": "x"}},
        {"claims": {"exp": 1}},
    ],
)
def test_invalid_client_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        client(**overrides)


def test_changes_follow_the_same_rules() -> None:
    with pytest.raises(ValueError):
        change_client(client(), NOW + 1, claims={"iss": "x"})
    changed = change_client(client(), NOW + 1, name="renamed")
    assert changed.name == "renamed" and changed.updated_at == NOW + 1


def test_at_most_two_live_secrets() -> None:
    owner = client()
    first, _ = new_secret(owner, CHECKER, NOW)
    second, _ = new_secret(replace(owner, secrets=(first,)), CHECKER, NOW)
    with pytest.raises(ValueError, match="at most 2 live secrets"):
        new_secret(replace(owner, secrets=(first, second)), CHECKER, NOW)


def test_an_expired_secret_does_not_count_against_the_limit() -> None:
    owner = client()
    expired, _ = new_secret(owner, CHECKER, NOW - 100, expires_at=NOW)
    live, _ = new_secret(owner, CHECKER, NOW)
    third, _ = new_secret(replace(owner, secrets=(expired, live)), CHECKER, NOW)
    assert third.is_live(NOW)


def test_secret_expiry_must_be_in_the_future() -> None:
    with pytest.raises(ValueError):
        new_secret(client(), CHECKER, NOW, expires_at=NOW)


def test_generated_secret_is_returned_once_and_stored_as_its_keyed_hash() -> None:
    stored, text = new_secret(client(), CHECKER, NOW)
    assert stored.kind is SecretKind.GENERATED and text not in stored.digest
    assert CHECKER.matches(text, (stored,), NOW)


def test_imported_secret_keeps_its_text_and_is_stored_with_argon2id() -> None:
    stored, text = new_secret(client(), CHECKER, NOW, imported="legacy-secret")
    assert text == "legacy-secret" and stored.kind is SecretKind.IMPORTED
    assert stored.digest.startswith("$argon2id$")
    assert CHECKER.matches("legacy-secret", (stored,), NOW)


@pytest.mark.parametrize("imported", ["short", "x" * 513])
def test_imported_secret_length_is_bounded(imported: str) -> None:
    with pytest.raises(ValueError):
        new_secret(client(), CHECKER, NOW, imported=imported)
