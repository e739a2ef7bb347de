"""Per-client token reuse (off by default): a client that has it gets its last token
again for the same scopes and audience while more than the threshold of its lifetime
is left, instead of a new signature; never across scopes or audiences, never past
the threshold, never once revoked, never after the client's claims changed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.server import Tokensmith
from tokensmith.verify import TokenVerifier

SEED = "/v1/api/oauth/token"
OAUTH = "/oauth2/token"
API_A, API_B = "https://a.reuse.example", "https://b.reuse.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    server = Tokensmith(tmp_path_factory.mktemp("reuse"))
    server.start()
    yield server
    server.stop()


def make_client(server: Tokensmith, client_id: str, *extra: str) -> dict[str, Any]:
    return server.create_client(client_id, "--audience", API_A, "--audience", API_B, *extra, scopes=("read", "edit"))


def seed(server: Tokensmith, client: dict[str, Any], scope: str = "edit", **params: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}{SEED}", params={"scope": scope, **params}, auth=(client["client_id"], client["client_secret"]), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def standard(server: Tokensmith, client: dict[str, Any], **form: str) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}{OAUTH}",
        data={"grant_type": "client_credentials", **form},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def jti(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["jti"]


def test_off_by_default_every_request_gets_a_new_token(server: Tokensmith) -> None:
    client = make_client(server, "no-reuse")
    assert server.cli("clients", "show", "no-reuse", "--json").stdout.count('"reuse_tokens": false') == 1
    tokens = {seed(server, client)["access_token"] for _ in range(3)}
    assert len(tokens) == 3


def test_a_client_with_reuse_gets_its_last_token_again(server: Tokensmith) -> None:
    client = make_client(server, "reuser", "--reuse-tokens")
    first = seed(server, client)
    second = seed(server, client)
    assert second == first  # the same token and the same expires_in (its exp)
    assert jwt.decode(first["access_token"], options={"verify_signature": False})["exp"] == first["expires_in"]
    # The standard endpoint shares it for the same grant; expires_in is what is left.
    before = int(time.time())
    answer = standard(server, client, scope="edit")
    after = int(time.time())
    assert answer["access_token"] == first["access_token"]
    assert first["expires_in"] - after <= answer["expires_in"] <= first["expires_in"] - before
    # It is a real token.
    assert TokenVerifier(server.issuer, API_A).verify(first["access_token"], scopes="edit")["sub"] == "reuser"


def test_reuse_never_crosses_scopes_or_audiences(server: Tokensmith) -> None:
    client = make_client(server, "careful-reuser", "--reuse-tokens")
    edit_a = seed(server, client, "edit")["access_token"]
    read_a = seed(server, client, "read")["access_token"]
    both_a = seed(server, client, "edit read")["access_token"]
    edit_b = seed(server, client, "edit", audience=API_B)["access_token"]
    assert len({edit_a, read_a, both_a, edit_b}) == 4
    # Each grant keeps its own token.
    assert seed(server, client, "read")["access_token"] == read_a
    assert seed(server, client, "edit", audience=API_B)["access_token"] == edit_b
    assert standard(server, client, scope="edit", resource=API_B)["access_token"] == edit_b
    assert jwt.decode(edit_b, options={"verify_signature": False})["aud"] == API_B


def test_reuse_can_be_turned_off_and_on(server: Tokensmith) -> None:
    client = make_client(server, "switching-reuser", "--reuse-tokens")
    first = seed(server, client)["access_token"]
    server.cli("clients", "update", "switching-reuser", "--no-reuse-tokens")
    assert seed(server, client)["access_token"] != first
    server.cli("clients", "update", "switching-reuser", "--reuse-tokens")
    again = seed(server, client)["access_token"]
    assert seed(server, client)["access_token"] == again


def test_a_revoked_token_is_not_handed_out_again(server: Tokensmith) -> None:
    client = make_client(server, "revoking-reuser", "--reuse-tokens")
    first = seed(server, client)["access_token"]
    assert seed(server, client)["access_token"] == first
    revoked = httpx.post(
        f"{server.url}/oauth2/revoke", data={"token": first}, auth=(client["client_id"], client["client_secret"]), timeout=10
    )
    assert revoked.status_code == 200
    second = seed(server, client)["access_token"]
    assert second != first and jti(second) != jti(first)
    assert seed(server, client)["access_token"] == second


def test_a_changed_client_gets_a_token_with_its_new_claims(server: Tokensmith) -> None:
    client = make_client(server, "claimed-reuser", "--reuse-tokens", "--claim", "tier=gold")
    first = seed(server, client)["access_token"]
    server.cli("clients", "update", "claimed-reuser", "--claim", "tier=silver")
    second = seed(server, client)["access_token"]
    assert second != first
    assert jwt.decode(second, options={"verify_signature": False})["tier"] == "silver"


def test_a_key_rotation_ends_reuse(server: Tokensmith) -> None:
    client = make_client(server, "rotating-reuser", "--reuse-tokens")
    first = seed(server, client)["access_token"]
    server.cli("keys", "rotate")
    second = seed(server, client)["access_token"]
    assert jwt.get_unverified_header(second)["kid"] != jwt.get_unverified_header(first)["kid"]


def test_no_reuse_once_the_threshold_of_the_lifetime_has_passed(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Lifetime 2 s, threshold 0.5: a token is reused while more than 1 s of it is left,
    # that is within the second it was issued.
    server = Tokensmith(tmp_path_factory.mktemp("reuse-threshold"), env_overrides={"TOKENSMITH_TOKEN_REUSE_THRESHOLD": "0.5"})
    server.start()
    try:
        client = server.create_client("short-lived", "--reuse-tokens", "--lifetime", "2")
        first = seed(server, client)
        issued_at = jwt.decode(first["access_token"], options={"verify_signature": False})["iat"]
        again = seed(server, client)
        if int(time.time()) == issued_at:  # still the same second: more than half is left
            assert again == first
        while int(time.time()) < issued_at + 1:
            time.sleep(0.05)
        later = seed(server, client)
        assert later["access_token"] != first["access_token"]
        assert later["expires_in"] > first["expires_in"]
    finally:
        server.stop()


# -- the cache itself (store/reuse.py) ----------------------------------------------


class FakeGate:
    """StoreGate's call, run inline; `down` makes the store unreachable."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    async def call(self, operation: str, function: Any, *args: Any) -> Any:
        from tokensmith.store.availability import StoreUnavailable

        self.calls += 1
        if self.down:
            raise StoreUnavailable(operation)
        return function(*args)


def _reuse_fixture() -> tuple[Any, ...]:
    from tokensmith.domain.clients import Client
    from tokensmith.domain.lifetimes import FixedLifetime
    from tokensmith.domain.tokens import IssuedToken
    from tokensmith.store.cache import RevokedTokens
    from tokensmith.store.reuse import TokenReuse

    clock = [1000.0]
    revoked_in_store: set[str] = set()
    gate = FakeGate()
    reuse = TokenReuse(
        0.5, is_revoked=revoked_in_store.__contains__, revoked=RevokedTokens(), gate=gate,  # type: ignore[arg-type]
        recheck_seconds=2.0, clock=lambda: clock[0],
    )  # fmt: skip
    client = Client("c", scopes=("edit",), lifetime=FixedLifetime(3600), reuse_tokens=True)
    now = int(time.time())
    token = IssuedToken("a.b.c", now, now + 3600, "edit", "aud", "jti-1")
    return reuse, client, token, clock, revoked_in_store, gate, now


def _run(coroutine: Any) -> Any:
    import asyncio

    return asyncio.run(coroutine)


def test_cache_asks_the_store_about_revocation_once_per_recheck_interval() -> None:
    reuse, client, token, clock, revoked_in_store, gate, now = _reuse_fixture()
    reuse.keep(client, ("edit",), "aud", "kid", token)
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now)) is token
    assert gate.calls == 0  # fresh: no store call
    revoked_in_store.add("jti-1")  # revoked elsewhere; this process was not told
    clock[0] += 1.0
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now)) is token
    clock[0] += 1.5  # past the recheck interval: the store is asked, and says revoked
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now)) is None
    assert gate.calls == 1
    assert len(reuse) == 0


def test_cache_signs_anew_when_the_store_cannot_say() -> None:
    reuse, client, token, clock, _, gate, now = _reuse_fixture()
    reuse.keep(client, ("edit",), "aud", "kid", token)
    gate.down = True
    clock[0] += 5
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now)) is None
    gate.down = False
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now)) is token  # kept: not known to be revoked


def test_cache_matches_the_whole_grant_and_the_signing_key() -> None:
    from dataclasses import replace

    from tokensmith.domain.lifetimes import FixedLifetime

    reuse, client, token, _, _, _, now = _reuse_fixture()
    reuse.keep(client, ("edit",), "aud", "kid", token)
    assert _run(reuse.find(client, ("read",), "aud", "kid", now)) is None
    assert _run(reuse.find(client, ("edit",), "other", "kid", now)) is None
    assert _run(reuse.find(replace(client, lifetime=FixedLifetime(60)), ("edit",), "aud", "kid", now)) is None
    reuse.keep(client, ("edit",), "aud", "kid", token)
    assert _run(reuse.find(replace(client, claims={"x": 1}), ("edit",), "aud", "kid", now)) is None
    reuse.keep(client, ("edit",), "aud", "kid", token)
    assert _run(reuse.find(client, ("edit",), "aud", "kid-2", now)) is None
    reuse.keep(client, ("edit",), "aud", "kid", token)
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now + 1799)) is token
    assert _run(reuse.find(client, ("edit",), "aud", "kid", now + 1800)) is None  # half the lifetime gone


def test_cache_is_bounded() -> None:
    from tokensmith.domain.tokens import IssuedToken
    from tokensmith.store.cache import RevokedTokens
    from tokensmith.store.reuse import TokenReuse

    _, client, _, _, _, gate, now = _reuse_fixture()
    reuse = TokenReuse(0.5, is_revoked=lambda jti: False, revoked=RevokedTokens(), gate=gate, recheck_seconds=2, capacity=3)  # type: ignore[arg-type]
    for index in range(5):
        reuse.keep(client, (f"s{index}",), "aud", "kid", IssuedToken("t", now, now + 60, f"s{index}", "aud", f"j{index}"))
    assert len(reuse) == 3
    assert _run(reuse.find(client, ("s0",), "aud", "kid", now)) is None
    assert _run(reuse.find(client, ("s4",), "aud", "kid", now)) is not None
