"""Compact JWS: one spelling per token, and the algorithm pinned to the key."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.jose import base64url, jws
from tokensmith.jose.jwk import VerificationKey

RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
KEYS = {"RS256": RSA_KEY, "PS256": RSA_KEY, "ES256": EC_KEY, "EdDSA": ED_KEY}


def verification_key(alg: str) -> VerificationKey:
    return VerificationKey("k", alg, KEYS[alg].public_key())


def signed(alg: str, payload: bytes = b'{"sub":"a"}') -> jws.CompactJWS:
    return jws.parse(jws.Signer(KEYS[alg], {"alg": alg, "kid": "k"}).sign(payload))


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_a_signed_token_parses_and_verifies_with_its_key_and_alg_only(alg: str) -> None:
    token = signed(alg)

    assert token.header == {"alg": alg, "kid": "k"} and token.payload_object() == {"sub": "a"}
    assert jws.verify_signature(verification_key(alg), alg, token.signing_input, token.signature)
    for other in sorted(set(KEYS) - {alg}):
        # RFC 8725 §3.1: another algorithm never verifies, even with the same RSA key.
        assert not jws.verify_signature(verification_key(alg), other, token.signing_input, token.signature)
        assert not jws.verify_signature(VerificationKey("k", other, KEYS[alg].public_key()), other, token.signing_input, token.signature)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_es256_signatures_are_always_low_s(payload: bytes) -> None:
    s = int.from_bytes(signed("ES256", payload).signature[32:], "big")

    assert 0 < s <= jws.P256_HALF_ORDER


def test_es256_high_s_is_refused() -> None:
    token = signed("ES256")
    r, s = token.signature[:32], int.from_bytes(token.signature[32:], "big")
    high = r + (jws.P256_ORDER - s).to_bytes(32, "big")

    assert not jws.verify_signature(verification_key("ES256"), "ES256", token.signing_input, high)


def test_ed25519_s_plus_the_group_order_is_refused() -> None:
    token = signed("EdDSA")
    s = int.from_bytes(token.signature[32:], "little") + jws.ED25519_ORDER
    assert s < 2**256

    assert not jws.verify_signature(verification_key("EdDSA"), "EdDSA", token.signing_input, token.signature[:32] + s.to_bytes(32, "little"))


def segment(value: object) -> str:
    return base64url.encode_text(value if isinstance(value, bytes) else json.dumps(value).encode())


DUPLICATE_ALG = segment(b'{"alg":"RS256","alg":"none"}')
DUPLICATE_SUB = segment(b'{"sub":"a","sub":"b"}')


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param("a.b", "3 segments", id="two-segments"),
        pytest.param(f"{segment({'alg': 'RS256'})}.e30.AA.AA", "3 segments", id="four-segments"),
        pytest.param(f"{segment({'alg': 'RS256'})}==.e30.AA", "header", id="padded-header"),
        pytest.param(f"{segment([1])}.e30.AA", "header", id="header-not-an-object"),
        pytest.param(f"{DUPLICATE_ALG}.e30.AA", "header", id="duplicate-header-member"),
        pytest.param(f"{segment({'alg': 'RS256'})}.e30.", "no signature", id="empty-signature"),
        pytest.param(f"{segment({'alg': 'RS256'})}.e30=.AA", "payload", id="padded-payload"),
        pytest.param(f"{segment({'alg': 'RS256'})}.e30.AB", "signature", id="non-canonical-signature"),
    ],
)
def test_malformed_compact_serialisations_are_refused_naming_the_part(token: str, reason: str) -> None:
    with pytest.raises(jws.MalformedJWS, match=reason):
        jws.parse(token)


def test_a_payload_with_duplicate_members_is_refused_when_read() -> None:
    token = jws.parse(f"{segment({'alg': 'RS256'})}.{DUPLICATE_SUB}.AA")

    with pytest.raises(jws.MalformedJWS, match="payload"):
        token.payload_object()
