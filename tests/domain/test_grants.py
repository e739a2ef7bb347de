"""The client_credentials decisions: who the client is, which scopes and which
audience it gets. Every credential failure is the same INVALID_CLIENT."""

from __future__ import annotations

import pytest

from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import ClientCredentials, authenticate, choose_audience, grant_scopes
from tokensmith.domain.secrets import SecretChecker, SecretKind, StoredSecret, generate_secret

NOW = 1_750_000_000
SECRET = generate_secret()


class RecordingChecker(SecretChecker):
    def __init__(self) -> None:
        super().__init__(b"k" * 32)
        self.dummy_checks = 0

    def dummy_check(self, presented: str) -> None:
        self.dummy_checks += 1
        super().dummy_check(presented)


@pytest.fixture
def checker() -> RecordingChecker:
    return RecordingChecker()


def make_client(checker: SecretChecker, *, enabled: bool = True, expires_at: int | None = None, **fields: object) -> Client:
    stored = StoredSecret("sec_1", SecretKind.GENERATED, checker.hash_generated(SECRET), NOW - 100, expires_at)
    defaults: dict[str, object] = {"scopes": ("edit", "read"), "default_scopes": ("read",)}
    return Client(client_id="svc", enabled=enabled, secrets=(stored,), **{**defaults, **fields})  # type: ignore[arg-type]


def refusal_of(action) -> TokensmithError:  # type: ignore[no-untyped-def]
    with pytest.raises(TokensmithError) as caught:
        action()
    return caught.value


def test_right_secret_of_an_enabled_client_authenticates(checker: RecordingChecker) -> None:
    client = make_client(checker)
    assert authenticate(client, ClientCredentials("svc", SECRET), checker, NOW) is client


def test_unknown_client_wrong_secret_disabled_and_expired_secret_are_the_same_refusal(checker: RecordingChecker) -> None:
    failures = {
        "unknown client": lambda: authenticate(None, ClientCredentials("nobody", SECRET), checker, NOW),
        "wrong secret": lambda: authenticate(make_client(checker), ClientCredentials("svc", generate_secret()), checker, NOW),
        "disabled": lambda: authenticate(make_client(checker, enabled=False), ClientCredentials("svc", SECRET), checker, NOW),
        "expired secret": lambda: authenticate(make_client(checker, expires_at=NOW), ClientCredentials("svc", SECRET), checker, NOW),
        "scope not allowed": lambda: grant_scopes(make_client(checker), ("admin",), refusal=Problem.INVALID_CLIENT),
    }
    seen = {name: refusal_of(action) for name, action in failures.items()}
    assert {error.problem for error in seen.values()} == {Problem.INVALID_CLIENT}
    assert {error.message for error in seen.values()} == {"Invalid client credentials or scope"}


def test_unknown_client_still_spends_a_secret_check(checker: RecordingChecker) -> None:
    refusal_of(lambda: authenticate(None, ClientCredentials("nobody", SECRET), checker, NOW))
    assert checker.dummy_checks == 1


def test_credentials_never_show_the_secret() -> None:
    credentials = ClientCredentials("svc", SECRET)
    assert SECRET not in repr(credentials) and SECRET not in str(credentials)


def test_implausible_credentials_are_recognised_without_a_lookup() -> None:
    assert ClientCredentials("svc", SECRET).is_plausible()
    assert not ClientCredentials("", SECRET).is_plausible()
    assert not ClientCredentials("svc", "").is_plausible()
    assert not ClientCredentials("x" * 129, SECRET).is_plausible()
    assert not ClientCredentials("svc", "s" * 513).is_plausible()


def test_allowed_scopes_are_granted_as_requested(checker: RecordingChecker) -> None:
    assert grant_scopes(make_client(checker), ("edit", "read"), refusal=Problem.INVALID_SCOPE) == ("edit", "read")


def test_one_disallowed_scope_refuses_the_whole_request_with_the_given_problem(checker: RecordingChecker) -> None:
    error = refusal_of(lambda: grant_scopes(make_client(checker), ("edit", "admin"), refusal=Problem.INVALID_SCOPE))
    assert error.problem is Problem.INVALID_SCOPE


def test_no_requested_scope_grants_the_default_scopes(checker: RecordingChecker) -> None:
    assert grant_scopes(make_client(checker), None, refusal=Problem.INVALID_SCOPE) == ("read",)


def test_no_requested_scope_and_no_defaults_is_refused(checker: RecordingChecker) -> None:
    client = make_client(checker, default_scopes=())
    assert refusal_of(lambda: grant_scopes(client, None, refusal=Problem.INVALID_SCOPE)).problem is Problem.INVALID_SCOPE


def test_requested_audience_must_be_one_of_the_client_s(checker: RecordingChecker) -> None:
    client = make_client(checker, audiences=("https://api.a", "https://api.b"))
    assert choose_audience(client, "https://api.b", "https://issuer") == "https://api.b"
    error = refusal_of(lambda: choose_audience(client, "https://api.evil", "https://issuer"))
    assert error.problem is Problem.INVALID_TARGET


def test_without_a_request_the_client_s_first_audience_then_the_server_s_is_used(checker: RecordingChecker) -> None:
    assert choose_audience(make_client(checker, audiences=("https://api.a", "https://api.b")), None, "https://issuer") == "https://api.a"
    assert choose_audience(make_client(checker), None, "https://issuer") == "https://issuer"

