"""The verified-token cache (tokensmith.verify.cache), attacked through the verifier:
what is answered from memory must be exactly what a full verification would answer."""

from __future__ import annotations

import asyncio
import threading
import tracemalloc

import pytest

from tokensmith.jose.jwk import parse_jwk
from tokensmith.verify import ExpiredToken, InsufficientScope, InvalidToken, TokenVerifier
from tokensmith.verify.cache import CachedToken, VerifiedTokenCache


def cached_verifier(issuer, clock=None, **options) -> TokenVerifier:
    if clock is not None:
        options["clock"] = clock
    return issuer.verifier(**options)


def test_a_repeated_token_is_answered_from_the_cache_with_the_same_claims(issuer):
    verifier = cached_verifier(issuer)
    token = issuer.mint()

    first = verifier.verify(token, scopes=["orders:read"])
    second = verifier.verify(token, scopes=["orders:read"])

    assert first == second and first["sub"] == "client-1"
    assert len(verifier.token_cache) == 1


@pytest.mark.parametrize("position", [0, 40, -2], ids=["header", "payload", "signature"])
def test_a_token_one_character_off_a_cached_one_is_verified_on_its_own_and_refused(issuer, position):
    verifier = cached_verifier(issuer)
    token = issuer.mint()
    verifier.verify(token)
    index = position % len(token)
    changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]

    with pytest.raises(InvalidToken):
        verifier.verify(changed)
    assert verifier.verify(token)["sub"] == "client-1"


def test_another_spelling_of_a_cached_token_is_refused(issuer):
    verifier = cached_verifier(issuer, clock=None)
    token = issuer.mint("ec-1")
    verifier.verify(token)
    head, _, signature = token.rpartition(".")
    # Same bytes, other text: base64 padding, and stray low bits in the last character.
    respellings = [token + "=", f"{head}.{signature[:-1]}{chr(ord(signature[-1]) + 1)}"]

    for respelled in respellings:
        with pytest.raises(InvalidToken):
            verifier.verify(respelled)


def test_a_forged_token_with_the_cached_tokens_payload_is_refused(issuer, other_rsa_private):
    verifier = cached_verifier(issuer)
    claims = issuer.claims()
    genuine = issuer.sign_raw(issuer.header("rsa-1"), claims, issuer.keys["rsa-1"].private, "RS256")
    forged = issuer.sign_raw(issuer.header("rsa-1"), claims, other_rsa_private, "RS256")
    assert genuine.rpartition(".")[0] == forged.rpartition(".")[0]
    verifier.verify(genuine)

    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(forged)
    assert len(verifier.token_cache) == 1


def test_scopes_are_checked_on_every_cached_answer(issuer):
    verifier = cached_verifier(issuer)
    token = issuer.mint(scope="orders:read")
    verifier.verify(token, scopes="orders:read")

    with pytest.raises(InsufficientScope) as refused:
        verifier.verify(token, scopes=["orders:read", "admin"])
    assert refused.value.required_scopes == ("admin", "orders:read")


def test_a_cached_token_is_refused_at_its_exp(issuer, clock):
    verifier = cached_verifier(issuer, clock, leeway=0)
    exp = int(clock.now) + 60
    token = issuer.mint(exp=exp, iat=exp - 120)
    verifier.verify(token)

    clock.now = exp - 0.001
    assert verifier.verify(token)["exp"] == exp
    clock.now = exp
    with pytest.raises(ExpiredToken):
        verifier.verify(token)
    assert len(verifier.token_cache) == 0


def test_past_exp_the_cache_gives_way_to_the_leeway_a_fresh_verification_allows(issuer, clock):
    verifier = cached_verifier(issuer, clock, leeway=30)
    exp = int(clock.now) + 60
    token = issuer.mint(exp=exp, iat=exp - 120)
    verifier.verify(token)

    clock.now = exp + 10  # within the leeway: the full checks still accept it
    assert verifier.verify(token)["exp"] == exp
    clock.now = exp + 30
    with pytest.raises(ExpiredToken):
        verifier.verify(token)


def test_a_cached_token_stops_working_once_its_key_leaves_the_jwks(issuer):
    verifier = cached_verifier(issuer, jwks_cache_ttl=0, jwks_min_refresh_interval=0)
    token = issuer.mint()
    verifier.verify(token)

    issuer.published[:] = [jwk for jwk in issuer.published if jwk["kid"] != "rsa-1"]

    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(token)
    assert len(verifier.token_cache) == 0


def test_a_cached_token_stops_working_when_its_kid_names_another_key(issuer, other_rsa_private):
    verifier = cached_verifier(issuer, jwks_cache_ttl=0, jwks_min_refresh_interval=0)
    token = issuer.mint()
    verifier.verify(token)

    issuer.published[:] = [jwk for jwk in issuer.published if jwk["kid"] != "rsa-1"]
    issuer.published.append(issuer.public_jwk(other_rsa_private, "rsa-1", "RS256"))

    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(token)


@pytest.mark.parametrize("aud", ["https://api.example.test", ["https://api.example.test", "https://other.example.test"]])
def test_changing_the_returned_claims_does_not_change_the_cached_answer(issuer, aud):
    verifier = cached_verifier(issuer)
    token = issuer.mint(aud=aud)
    first = verifier.verify(token)

    first["sub"] = "someone-else"
    if isinstance(first["aud"], list):
        first["aud"].append("https://attacker.example")

    again = verifier.verify(token)
    assert again["sub"] == "client-1" and again["aud"] == aud


def test_verifiers_do_not_share_a_cache(issuer):
    token = issuer.mint()
    issuer.verifier().verify(token)

    with pytest.raises(InvalidToken, match="audience"):
        TokenVerifier(issuer.url, "https://another-api.example.test").verify(token)


def test_the_cache_can_be_turned_off(issuer):
    verifier = cached_verifier(issuer, cache_max_entries=0)
    token = issuer.mint()

    assert verifier.verify(token) == verifier.verify(token)
    assert verifier.token_cache is None


def test_threads_verifying_good_and_forged_tokens_together_get_the_right_answers(issuer, other_rsa_private):
    verifier = cached_verifier(issuer, cache_max_entries=16)
    genuine = [issuer.mint(jti=f"t-{n}") for n in range(24)]
    forged = [issuer.sign_raw(issuer.header("rsa-1"), issuer.claims(jti=f"t-{n}"), other_rsa_private, "RS256") for n in range(8)]
    wrong: list[str] = []

    def work(offset: int) -> None:
        for round_ in range(6):
            for n, token in enumerate(genuine):
                if verifier.verify(token)["jti"] != f"t-{n}":
                    wrong.append(token)
            for token in forged[(offset + round_) % 8 :]:
                try:
                    verifier.verify(token)
                    wrong.append(token)
                except InvalidToken:
                    pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    assert len(verifier.token_cache) <= 16


async def test_asyncio_tasks_share_the_cache_and_get_the_right_answers(issuer, other_rsa_private):
    verifier = cached_verifier(issuer, cache_max_entries=8)
    genuine = [issuer.mint(jti=f"a-{n}") for n in range(12)]
    forged = issuer.sign_raw(issuer.header("rsa-1"), issuer.claims(jti="a-0"), other_rsa_private, "RS256")

    async def one(token: str) -> str:
        try:
            return (await verifier.verify_async(token))["jti"]
        except InvalidToken:
            return "refused"

    answers = await asyncio.gather(*(one(token) for _ in range(5) for token in [*genuine, forged]))

    assert answers == [*(f"a-{n}" for n in range(12)), "refused"] * 5
    assert len(verifier.token_cache) <= 8


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


pytestmark = pytest.mark.anyio


# -- the cache object itself ------------------------------------------------------


def _entry(issuer, cache: VerifiedTokenCache, token: str, payload: bytes, valid_until: float = 2e9) -> CachedToken:
    key = parse_jwk(issuer.keys["rsa-1"].jwk, {"RS256"})[0]
    return CachedToken(payload, key, valid_until, cache.cost(token, payload))


def test_least_recently_used_entries_make_room_by_count(issuer):
    cache = VerifiedTokenCache(max_entries=3)
    for name in ("a", "b", "c"):
        cache.put(name, _entry(issuer, cache, name, b"{}"))
    cache.get("a", 0)  # "b" is now the least recently used

    cache.put("d", _entry(issuer, cache, "d", b"{}"))

    assert [name for name in "abcd" if cache.get(name, 0)] == ["a", "c", "d"]


def test_entries_make_room_by_bytes(issuer):
    cache = VerifiedTokenCache(max_entries=100, max_bytes=3 * VerifiedTokenCache.cost("x" * 100, b"") + 10)
    for n in range(10):
        token = f"{n:03d}" + "x" * 97
        cache.put(token, _entry(issuer, cache, token, b""))

    assert len(cache) == 3 and cache.size_bytes <= cache.max_bytes


def test_memory_stays_bounded_under_a_million_distinct_tokens(issuer):
    """1,000,000 distinct token-sized entries through the cache: the count and the byte
    estimate never pass their bounds, and what Python really holds for the entries at
    the end (traced by tracemalloc over the last inserts, more than the cache can hold,
    so every entry left was traced) stays within the byte bound: the estimate does not
    under-count."""
    max_entries, max_bytes = 50_000, 8 * 1024 * 1024
    cache = VerifiedTokenCache(max_entries=max_entries, max_bytes=max_bytes)
    key = parse_jwk(issuer.keys["rsa-1"].jwk, {"RS256"})[0]
    prefix = "eyJ" + "x" * 650
    total, traced_from = 1_000_000, 1_000_000 - 2 * max_entries
    held = 0
    for n in range(total):
        if n == traced_from:
            tracemalloc.start()
            baseline = tracemalloc.get_traced_memory()[0]
        token = f"{prefix}{n}"
        jti = f"{n:022d}"
        payload = b'{"iss":"https://auth.example","sub":"client","aud":"https://api.example","scope":"a b","jti":"%s"}' % jti.encode()
        cache.put(token, CachedToken(payload, key, 2e9, cache.cost(token, payload)))
        if n % 10_000 == 0:
            assert len(cache) <= max_entries and cache.size_bytes <= max_bytes
    try:
        held = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()

    assert len(cache) <= max_entries and cache.size_bytes <= max_bytes
    assert held <= max_bytes, f"{held} bytes really held for an estimate of {cache.size_bytes}"
    assert cache.get(f"{prefix}{total - 1}", 0) is not None and cache.get(f"{prefix}0", 0) is None
