"""Tokens the verifier must accept, and the claim rules that decide acceptance."""

from __future__ import annotations

import pytest

from tokensmith.verify import ExpiredToken, InsufficientScope, InvalidToken, TokenVerifier


@pytest.mark.parametrize("kid", ["rsa-1", "rsa-pss", "ec-1", "ed-1"])
def test_each_supported_algorithm_verifies_and_returns_all_claims(issuer, kid):
    token = issuer.mint(kid)

    claims = issuer.verifier().verify(token)

    assert claims["iss"] == issuer.url
    assert claims["sub"] == "client-1"
    assert claims["client_id"] == "client-1"
    assert claims["firstVisionId"] == "fv-42"


@pytest.mark.anyio
@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
async def test_verify_async_accepts_the_same_tokens(issuer, kid):
    claims = await issuer.verifier().verify_async(issuer.mint(kid), scopes=["orders:read"])

    assert claims["sub"] == "client-1"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_is_compared_case_insensitively_with_optional_application_prefix(issuer, typ):
    token = issuer.mint(headers={"typ": typ})

    assert issuer.verifier().verify(token)["sub"] == "client-1"


def test_audience_list_containing_our_audience_is_accepted(issuer):
    token = issuer.mint(aud=["https://other.example.test", issuer.audience])

    assert issuer.verifier().verify(token)["aud"][1] == issuer.audience


def test_required_scopes_present_are_accepted_in_any_form(issuer):
    verifier = issuer.verifier()
    token = issuer.mint(scope="a orders:read b")

    verifier.verify(token, scopes=["orders:read"])
    verifier.verify(token, scopes="orders:read a")  # a string is a space-separated list


def test_missing_scope_raises_insufficient_scope_naming_the_requirement(issuer):
    token = issuer.mint(scope="orders:read")

    with pytest.raises(InsufficientScope) as caught:
        issuer.verifier().verify(token, scopes=["orders:read", "orders:write"])

    assert caught.value.required_scopes == ("orders:read", "orders:write")
    assert "orders:write" in str(caught.value)


def test_scope_matching_is_exact_not_prefix(issuer):
    token = issuer.mint(scope="orders:read-all orders")

    with pytest.raises(InsufficientScope):
        issuer.verifier().verify(token, scopes=["orders:read"])


def test_token_without_scope_claim_only_passes_when_no_scope_is_required(issuer):
    token = issuer.mint(scope=issuer.DROP)
    verifier = issuer.verifier()

    assert "scope" not in verifier.verify(token)
    with pytest.raises(InsufficientScope):
        verifier.verify(token, scopes=["orders:read"])


def test_expiry_honours_leeway_exactly(issuer, clock):
    token = issuer.mint(exp=int(clock.now))
    verifier = issuer.verifier(clock=clock, leeway=30)

    clock.advance(29)
    verifier.verify(token)
    clock.advance(1)
    with pytest.raises(ExpiredToken):
        verifier.verify(token)


def test_nbf_in_the_future_is_accepted_only_within_leeway(issuer, clock):
    verifier = issuer.verifier(clock=clock, leeway=30)

    verifier.verify(issuer.mint(nbf=int(clock.now) + 30))
    with pytest.raises(InvalidToken, match="nbf"):
        verifier.verify(issuer.mint(nbf=int(clock.now) + 31))


def test_iat_in_the_future_is_refused_beyond_leeway(issuer, clock):
    verifier = issuer.verifier(clock=clock, leeway=30)

    verifier.verify(issuer.mint(iat=int(clock.now) + 30))
    with pytest.raises(InvalidToken, match="iat"):
        verifier.verify(issuer.mint(iat=int(clock.now) + 3600, exp=int(clock.now) + 7200))


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["RS256", "HS256"], []])
def test_constructor_refuses_unsafe_or_empty_algorithm_lists(issuer, algorithms):
    with pytest.raises(ValueError):
        TokenVerifier(issuer.url, issuer.audience, algorithms=algorithms)


def test_algorithm_allowlist_restricts_accepted_tokens(issuer):
    verifier = issuer.verifier(algorithms=["ES256"])

    verifier.verify(issuer.mint("ec-1"))
    with pytest.raises(InvalidToken, match="algorithm"):
        verifier.verify(issuer.mint("rsa-1"))
