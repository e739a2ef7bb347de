"""Where a token is built: RFC 9068 claims, signed so that a standard JWT library
verifies them with the published key."""

from __future__ import annotations

import base64

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.domain.clients import REGISTERED_CLAIMS, Client, check_custom_claims
from tokensmith.domain.keys import ALGORITHMS, KeyState, new_signing_key
from tokensmith.domain.lifetimes import FixedLifetime
from tokensmith.domain.registration import build_client
from tokensmith.domain.tokens import TokenSigner, build_claims, issue_token

NOW = 1_750_000_000
ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"
CLIENT = Client(client_id="POC_NAB_Dev", scopes=("edit",), claims={"firstVisionId": "00000AUNAB"}, lifetime=FixedLifetime(600))


def decode(token: str, signer_key, algorithm: str) -> dict:  # type: ignore[no-untyped-def]
    # Verify with the key as published in the JWKS, not the in-memory object.
    public = jwt.PyJWK(signer_key.public_jwk()).key
    return jwt.decode(
        token,
        public,
        algorithms=[algorithm],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"], "verify_exp": False},
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signed_token_verifies_with_pyjwt_and_has_the_rfc_9068_header(algorithm: str) -> None:
    key = new_signing_key(algorithm, KeyState.ACTIVE, NOW)
    issued = issue_token(TokenSigner(key), CLIENT, issuer=ISSUER, audience=AUDIENCE, scopes=("edit",), now=NOW)
    header = jwt.get_unverified_header(issued.access_token)
    assert header == {"alg": algorithm, "typ": "at+jwt", "kid": key.kid}
    claims = decode(issued.access_token, key, algorithm)
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["sub"] == claims["client_id"] == "POC_NAB_Dev"
    assert claims["scope"] == "edit"
    assert claims["iat"] == NOW and claims["exp"] == NOW + 600
    assert claims["firstVisionId"] == "00000AUNAB"


def test_token_signed_by_one_key_does_not_verify_with_another() -> None:
    signer_key, other = new_signing_key("ES256", KeyState.ACTIVE, NOW), new_signing_key("ES256", KeyState.NEXT, NOW)
    token = TokenSigner(signer_key).sign({"iss": ISSUER})
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWK(other.public_jwk()).key, algorithms=["ES256"], options={"verify_aud": False})


def test_issued_token_reports_what_it_holds() -> None:
    key = new_signing_key("ES256", KeyState.ACTIVE, NOW)
    issued = issue_token(TokenSigner(key), CLIENT, issuer=ISSUER, audience=AUDIENCE, scopes=("edit", "read"), now=NOW)
    claims = decode(issued.access_token, key, "ES256")
    assert (issued.issued_at, issued.expires_at, issued.scope, issued.audience, issued.jti) == (
        NOW, NOW + 600, "edit read", AUDIENCE, claims["jti"],
    )
    assert issued.seconds_left(NOW + 100) == 500
    assert issued.seconds_left(NOW + 10_000) == 0


def test_every_token_has_its_own_jti() -> None:
    signer = TokenSigner(new_signing_key("ES256", KeyState.ACTIVE, NOW))
    jtis = {issue_token(signer, CLIENT, issuer=ISSUER, audience=AUDIENCE, scopes=("edit",), now=NOW).jti for _ in range(50)}
    assert len(jtis) == 50


def test_custom_claims_cannot_override_registered_claims_even_if_stored() -> None:
    # A client that slipped past registration (e.g. edited in the store) still cannot
    # change who issued the token, whom it is for, or when it expires.
    forged = {name: "forged" for name in REGISTERED_CLAIMS} | {"firstVisionId": "x"}
    client = Client(client_id="svc", scopes=("edit",), claims=forged, lifetime=FixedLifetime(60))
    claims = build_claims(client, issuer=ISSUER, audience=AUDIENCE, scopes=("edit",), now=NOW, jti="j1")
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE and claims["sub"] == "svc"
    assert claims["client_id"] == "svc" and claims["scope"] == "edit"
    assert claims["iat"] == NOW and claims["exp"] == NOW + 60 and claims["jti"] == "j1"
    assert claims["firstVisionId"] == "x"


@pytest.mark.parametrize("name", sorted(REGISTERED_CLAIMS))
def test_registration_refuses_a_custom_claim_named_like_a_registered_one(name: str) -> None:
    with pytest.raises(ValueError, match="registered claim"):
        check_custom_claims({name: "x"})
    with pytest.raises(ValueError, match="registered claim"):
        build_client(
            client_id="svc", name="", scopes=("edit",), default_scopes=None, audiences=(),
            claims={name: "x"}, lifetime=FixedLifetime(60), now=NOW,
        )


def test_rfc_9068_claims_are_all_registered() -> None:
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} <= REGISTERED_CLAIMS


ES256_KEY = new_signing_key("ES256", KeyState.ACTIVE, NOW)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@settings(max_examples=300, deadline=None)
@given(scopes=st.lists(st.sampled_from(["edit", "read", "write"]), min_size=1, unique=True), now=st.integers(0, 2**31))
def test_es256_tokens_are_always_signed_with_low_s(scopes: list[str], now: int) -> None:
    """OpenSSL's ECDSA picks s from either half; every verifier (tokensmith.verify and
    introspection) accepts only s <= n/2, so the issuer must always write that one."""
    client = Client(client_id="c", scopes=("edit", "read", "write"), lifetime=FixedLifetime(600))
    token = issue_token(TokenSigner(ES256_KEY), client, issuer=ISSUER, audience=AUDIENCE, scopes=tuple(scopes), now=now).access_token
    signature = base64.urlsafe_b64decode(token.split(".")[2] + "==")

    assert len(signature) == 64
    assert 0 < int.from_bytes(signature[32:], "big") <= P256_ORDER // 2
