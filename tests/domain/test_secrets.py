"""Client secrets: generated with at least 256 bits, kept as a keyed hash (or
argon2id when imported), and checked only while live."""

from __future__ import annotations

import base64
import re

import pytest
from argon2 import PasswordHasher

from tokensmith.domain.secrets import SECRET_PREFIX, SecretChecker, SecretKind, StoredSecret, generate_secret

NOW = 1_750_000_000
HASH_KEY = bytes(range(32))
# Cheap argon2 parameters: the tests check behaviour, not cost.
FAST_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def checker() -> SecretChecker:
    return SecretChecker(HASH_KEY, FAST_ARGON2)


def generated(checker: SecretChecker, text: str, expires_at: int | None = None) -> StoredSecret:
    return StoredSecret("sec_1", SecretKind.GENERATED, checker.hash_generated(text), NOW - 10, expires_at)


def test_generated_secret_has_at_least_256_bits_after_its_prefix() -> None:
    secret = generate_secret()
    assert secret.startswith("tks_") and SECRET_PREFIX == "tks_"
    body = secret[len("tks_"):]
    assert len(body) >= 43
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body)
    assert len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) >= 32


def test_generated_secrets_differ() -> None:
    assert len({generate_secret() for _ in range(100)}) == 100


def test_stored_hash_is_not_the_secret(checker: SecretChecker) -> None:
    secret = generate_secret()
    assert secret not in checker.hash_generated(secret)


def test_keyed_hash_matches_only_the_right_secret(checker: SecretChecker) -> None:
    secret = generate_secret()
    stored = (generated(checker, secret),)
    assert checker.matches(secret, stored, NOW)
    assert not checker.matches(generate_secret(), stored, NOW)
    assert not checker.matches(secret[:-1], stored, NOW)
    assert not checker.matches("", stored, NOW)


def test_hash_depends_on_the_key_so_a_stolen_store_alone_cannot_check_guesses(checker: SecretChecker) -> None:
    secret = generate_secret()
    other_key = SecretChecker(bytes(32), FAST_ARGON2)
    assert other_key.hash_generated(secret) != checker.hash_generated(secret)
    assert not other_key.matches(secret, (generated(checker, secret),), NOW)


def test_either_of_two_live_secrets_matches(checker: SecretChecker) -> None:
    old, new = generate_secret(), generate_secret()
    stored = (generated(checker, old), StoredSecret("sec_2", SecretKind.GENERATED, checker.hash_generated(new), NOW, None))
    assert checker.matches(old, stored, NOW)
    assert checker.matches(new, stored, NOW)


def test_expired_secret_is_refused_from_its_expiry_instant_on(checker: SecretChecker) -> None:
    secret = generate_secret()
    stored = (generated(checker, secret, expires_at=NOW),)
    assert checker.matches(secret, stored, NOW - 1)
    assert not checker.matches(secret, stored, NOW)
    assert not checker.matches(secret, stored, NOW + 1)


def test_imported_secret_is_kept_with_argon2id_and_matches_only_itself(checker: SecretChecker) -> None:
    digest = checker.hash_imported("legacy-password-1")
    assert digest.startswith("$argon2id$")
    assert "legacy-password-1" not in digest
    stored = (StoredSecret("sec_imp", SecretKind.IMPORTED, digest, NOW - 10, None),)
    assert checker.matches("legacy-password-1", stored, NOW)
    # A remembered success must not let a different secret through afterwards.
    assert not checker.matches("legacy-password-2", stored, NOW)
    assert checker.matches("legacy-password-1", stored, NOW)


def test_default_imported_hash_is_argon2id() -> None:
    assert SecretChecker(HASH_KEY).hash_imported("legacy-password").startswith("$argon2id$")


def test_expired_imported_secret_is_refused_even_after_a_remembered_success(checker: SecretChecker) -> None:
    digest = checker.hash_imported("legacy-password-1")
    live = (StoredSecret("sec_imp", SecretKind.IMPORTED, digest, NOW - 10, NOW + 5),)
    assert checker.matches("legacy-password-1", live, NOW)
    assert not checker.matches("legacy-password-1", live, NOW + 5)


def test_corrupt_argon2_digest_refuses_rather_than_raising(checker: SecretChecker) -> None:
    stored = (StoredSecret("sec_bad", SecretKind.IMPORTED, "not-an-argon2-hash", NOW - 10, None),)
    assert not checker.matches("anything-at-all", stored, NOW)


def test_dummy_check_runs_the_keyed_hash_without_a_stored_secret(checker: SecretChecker) -> None:
    # It exists only to spend the same work as a real check; it must never fail or match.
    assert checker.dummy_check(generate_secret()) is None
    assert checker.dummy_check("") is None
