"""JWK mapping, RFC 7638 thumbprints, and one VerificationKey per algorithm a JWK may verify."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tokensmith.jose import base64url
from tokensmith.jose.jwk import ALGORITHMS, UnusableKey, VerificationKey, parse_jwk, public_jwk, public_key_from_jwk, thumbprint


def test_rfc_7638_example_thumbprint() -> None:
    # RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91"
        "CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    key = rsa.RSAPublicNumbers(65537, int.from_bytes(base64url.decode(n), "big")).public_key()

    assert thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_rfc_8037_example_ed25519_thumbprint() -> None:
    key = ed25519.Ed25519PublicKey.from_public_bytes(base64url.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))

    assert thumbprint(key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.mark.parametrize(
    "private",
    [rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()],
    ids=["RSA", "EC", "OKP"],
)
def test_a_public_jwk_reads_back_as_the_same_key(private) -> None:  # type: ignore[no-untyped-def]
    jwk = public_jwk(private.public_key())

    assert list(jwk) == sorted(jwk)  # RFC 7638 §3.2 order
    assert thumbprint(public_key_from_jwk(jwk)) == thumbprint(private.public_key())


def test_an_rsa_jwk_without_alg_gives_one_key_per_rsa_algorithm_and_alg_narrows_it() -> None:
    jwk = {**public_jwk(rsa.generate_private_key(65537, 2048).public_key()), "kid": "k"}

    assert [key.alg for key in parse_jwk(jwk, ALGORITHMS)] == ["PS256", "RS256"]
    assert [key.alg for key in parse_jwk({**jwk, "alg": "PS256"}, ALGORITHMS)] == ["PS256"]
    assert all(isinstance(key, VerificationKey) and key.kid == "k" for key in parse_jwk(jwk, ALGORITHMS))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"alg": "ES256"}, id="alg-of-another-key-type"),
        pytest.param({"use": "enc"}, id="encryption-key"),
        pytest.param({"key_ops": ["encrypt"]}, id="key-ops-without-verify"),
        pytest.param({"kid": ""}, id="empty-kid"),
        pytest.param({"kty": "oct", "k": "c2VjcmV0"}, id="symmetric"),
        pytest.param({"n": "AQAB"}, id="tiny-modulus"),
        pytest.param({"e": "AQAB=="}, id="padded-member"),
    ],
)
def test_unusable_jwks_are_refused(change: dict[str, object]) -> None:
    jwk = {**public_jwk(rsa.generate_private_key(65537, 2048).public_key()), "kid": "k", **change}

    with pytest.raises(UnusableKey):
        parse_jwk(jwk, ALGORITHMS)


def test_a_p256_point_off_the_curve_is_refused() -> None:
    jwk = {**public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), "kid": "k"}
    jwk["y"] = base64url.encode_text(bytes(31) + b"\x01")

    with pytest.raises(UnusableKey, match="point"):
        parse_jwk(jwk, ALGORITHMS)
