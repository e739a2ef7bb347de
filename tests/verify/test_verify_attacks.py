"""The JWT attack catalogue: every token here must be refused with a TokenError.

Each test also pins the *reason* (message fragment) so a refusal for an
unrelated cause cannot make it pass by accident.
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.jws import P256_ORDER, b64url, compact, hs256, respelled_s, signature_of
from tokensmith.verify import ExpiredToken, InvalidToken, TokenError, TokenVerifier, VerifierUnavailable


@pytest.fixture
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def hmac_token(issuer, header: dict, secret: bytes) -> str:
    return compact(header, issuer.claims(), hs256(secret))


# -- algorithm attacks -------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused_with_or_without_a_signature(issuer, alg):
    header = {"alg": alg, "typ": "at+jwt", "kid": "rsa-1"}
    verifier = issuer.verifier()

    for signature in (b"", b"\x00" * 32):
        with pytest.raises(InvalidToken, match="algorithm"):
            verifier.verify(issuer.raw_token(header, issuer.claims(), signature))


def test_hs256_signed_with_the_rsa_public_key_pem_is_refused(issuer, rsa_private):
    pem = rsa_private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    token = hmac_token(issuer, {"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"}, pem)

    with pytest.raises(InvalidToken, match="algorithm"):
        issuer.verifier().verify(token)


def test_hs256_signed_with_the_published_jwk_is_refused(issuer):
    jwk_json = json.dumps(issuer.keys["rsa-1"].jwk).encode()
    token = hmac_token(issuer, {"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"}, jwk_json)

    with pytest.raises(InvalidToken, match="algorithm"):
        issuer.verifier().verify(token)


def test_symmetric_key_published_in_the_jwks_is_never_used(issuer):
    secret = b"s" * 32
    issuer.published.append({"kty": "oct", "kid": "hmac-1", "k": issuer.b64url(secret), "alg": "HS256"})
    token = hmac_token(issuer, {"alg": "HS256", "typ": "at+jwt", "kid": "hmac-1"}, secret)

    with pytest.raises(InvalidToken):
        issuer.verifier().verify(token)


@pytest.mark.parametrize(
    ("kid", "alg", "signer"),
    [
        ("rsa-1", "ES256", "ec"),  # RSA key, EC algorithm
        ("ec-1", "RS256", "rsa"),  # EC key, RSA algorithm
        ("ec-1", "EdDSA", "ed"),  # EC key, EdDSA
        ("rsa-1", "PS256", "rsa"),  # the JWK pins alg=RS256, so PS256 is refused
    ],
)
def test_algorithm_must_match_the_keys_type_and_declared_alg(issuer, rsa_private, kid, alg, signer):
    signing_key = {
        "rsa": rsa_private,
        "ec": issuer.keys["ec-1"].private,
        "ed": issuer.keys["ed-1"].private,
    }[signer]
    header = {"alg": alg, "typ": "at+jwt", "kid": kid}
    token = issuer.sign_raw(header, issuer.claims(), signing_key, alg)

    with pytest.raises(InvalidToken, match="does not match the signing key"):
        issuer.verifier().verify(token)


# -- signature attacks ---------------------------------------------------------------


def test_tampered_payload_with_original_signature_is_refused(issuer):
    header_segment, _, signature_segment = issuer.mint(scope="orders:read").split(".")
    forged_payload = issuer.b64url(json.dumps(issuer.claims(scope="admin")).encode())

    with pytest.raises(InvalidToken, match="signature is invalid"):
        issuer.verifier().verify(f"{header_segment}.{forged_payload}.{signature_segment}")


def test_token_signed_by_another_key_reusing_a_published_kid_is_refused(issuer, other_rsa_private):
    token = issuer.sign_raw(issuer.header("rsa-1"), issuer.claims(), other_rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="signature is invalid"):
        issuer.verifier().verify(token)


@pytest.mark.parametrize(
    "signature",
    [
        bytes(64),  # CVE-2022-21449 "psychic signature": r = s = 0
        P256_ORDER.to_bytes(32, "big") * 2,  # r = s = n, equivalent to 0 mod n
        bytes(63) + b"\x01" + bytes(32),  # r = 1, s = 0
    ],
    ids=["zeros", "order", "s-zero"],
)
def test_degenerate_ecdsa_signatures_are_refused(issuer, signature):
    token = issuer.raw_token(issuer.header("ec-1"), issuer.claims(), signature)

    with pytest.raises(InvalidToken, match="signature is invalid"):
        issuer.verifier().verify(token)


def test_ecdsa_high_s_respelling_of_a_valid_signature_is_refused(issuer):
    """(r, n - s) verifies whenever (r, s) does: only the low-s spelling is accepted,
    so one token has one spelling."""
    token = issuer.mint("ec-1")
    assert issuer.verifier().verify(token)

    with pytest.raises(InvalidToken, match="signature is invalid"):
        issuer.verifier().verify(respelled_s(token))


@pytest.mark.parametrize("kid", ["rsa-1", "rsa-pss"])
def test_rsa_signature_without_its_leading_zero_octets_is_refused(issuer, kid):
    """RFC 8017 §8.2.2: the signature is exactly as long as the modulus; a shorter
    string naming the same integer would be a second spelling of the token."""
    while (token := issuer.mint(kid)) and signature_of(token)[0] != 0:
        pass
    head, claims, _ = token.split(".")

    with pytest.raises(InvalidToken, match="signature is invalid"):
        issuer.verifier().verify(f"{head}.{claims}.{b64url(signature_of(token).lstrip(bytes(1)))}")


def test_empty_signature_is_refused(issuer):
    header_segment, payload_segment, _ = issuer.mint().split(".")

    with pytest.raises(InvalidToken, match="no signature"):
        issuer.verifier().verify(f"{header_segment}.{payload_segment}.")


# -- key-reference headers -----------------------------------------------------------


def test_embedded_jwk_header_is_refused_even_when_the_signature_matches_it(issuer, attacker_key):
    header = issuer.header("rsa-1", jwk=issuer.public_jwk(attacker_key, "rsa-1", "RS256"))
    token = issuer.sign_raw(header, issuer.claims(), attacker_key, "RS256")

    with pytest.raises(InvalidToken, match="'jwk'"):
        issuer.verifier().verify(token)


@pytest.mark.parametrize("kid", ["rsa-1", "attacker"])
@pytest.mark.parametrize("parameter", ["jku", "x5u"])
def test_jku_and_x5u_headers_are_refused_and_never_fetched(issuer, stub_server, attacker_key, parameter, kid):
    attacker = stub_server()
    attacker.route("GET", "/keys", lambda _r: (200, {"keys": [issuer.public_jwk(attacker_key, kid, "RS256")]}))
    header = issuer.header("rsa-1", kid=kid, **{parameter: attacker.url + "/keys"})
    token = issuer.sign_raw(header, issuer.claims(), attacker_key, "RS256")

    with pytest.raises(InvalidToken, match=f"'{parameter}'"):
        issuer.verifier().verify(token)
    assert attacker.count() == 0


def test_x5c_header_is_refused(issuer, rsa_private):
    header = issuer.header("rsa-1", x5c=["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"])
    token = issuer.sign_raw(header, issuer.claims(), rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="'x5c'"):
        issuer.verifier().verify(token)


@pytest.mark.parametrize("kid", ["no-such-key", "../../etc/passwd", "/etc/passwd", "rsa-1/../../x", "http://evil/"])
def test_unknown_and_path_like_kids_are_refused_without_touching_paths(issuer, attacker_key, kid):
    token = issuer.sign_raw(issuer.header("rsa-1", kid=kid), issuer.claims(), attacker_key, "RS256")

    with pytest.raises(InvalidToken, match="unknown key"):
        issuer.verifier().verify(token)
    assert {r.path for r in issuer.server.requests} <= {
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    }


def test_missing_kid_is_refused(issuer, rsa_private):
    token = issuer.sign_raw(issuer.header("rsa-1", kid=issuer.DROP), issuer.claims(), rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="kid"):
        issuer.verifier().verify(token)


@pytest.mark.parametrize("crit", [["exp"], ["x-custom"], ["b64"], []])
def test_unknown_crit_header_is_refused(issuer, rsa_private, crit):
    header = issuer.header("rsa-1", crit=crit, **{name: True for name in crit})
    token = issuer.sign_raw(header, issuer.claims(), rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="crit"):
        issuer.verifier().verify(token)


# -- token type ---------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", "at+jwt2", "", 1])
def test_typ_other_than_at_jwt_is_refused(issuer, rsa_private, typ):
    token = issuer.sign_raw(issuer.header("rsa-1", typ=typ), issuer.claims(), rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="typ"):
        issuer.verifier().verify(token)


def test_missing_typ_is_refused(issuer, rsa_private):
    token = issuer.sign_raw(issuer.header("rsa-1", typ=issuer.DROP), issuer.claims(), rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="typ"):
        issuer.verifier().verify(token)


# -- claims -------------------------------------------------------------------------


def test_expired_token_is_refused(issuer, clock):
    token = issuer.mint(iat=int(clock.now) - 7200, exp=int(clock.now) - 3600)

    with pytest.raises(ExpiredToken):
        issuer.verifier(clock=clock).verify(token)


def test_token_not_yet_valid_is_refused(issuer, clock):
    token = issuer.mint(nbf=int(clock.now) + 3600)

    with pytest.raises(InvalidToken, match="nbf"):
        issuer.verifier(clock=clock).verify(token)


@pytest.mark.parametrize(
    "bad_issuer",
    [
        lambda url: url[:-1],  # prefix
        lambda url: url.removeprefix("http://"),  # substring
        lambda url: url + "/",  # trailing slash
        lambda url: url + ".evil.test",  # superstring
        lambda url: url.upper(),  # case
        lambda url: url + "/tenant",  # sub-path
    ],
    ids=["prefix", "substring", "trailing-slash", "superstring", "case", "sub-path"],
)
def test_issuer_must_match_exactly(issuer, bad_issuer):
    token = issuer.mint(iss=bad_issuer(issuer.url))

    with pytest.raises(InvalidToken, match="iss"):
        issuer.verifier().verify(token)


@pytest.mark.parametrize(
    "aud",
    ["https://other.example.test", ["https://other.example.test"], "https://api.example.test/", "DROP"],
    ids=["foreign", "foreign-list", "near-miss", "missing"],
)
def test_audience_must_contain_ours(issuer, aud):
    token = issuer.mint(aud=issuer.DROP if aud == "DROP" else aud)

    with pytest.raises(InvalidToken, match="aud"):
        issuer.verifier().verify(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "9999999999"},
        {"exp": True},
        {"exp": None},
        {"exp": 10**30},
        {"exp": "DROP"},
        {"iat": "now"},
        {"iat": "DROP"},
        {"nbf": "0"},
        {"nbf": True},  # bool is an int subclass: must not pass as 1970-01-01T00:00:01
        {"iat": True},
        {"scope": ["orders:read"]},
        {"scope": 1},
        {"aud": 123},
        {"aud": [123]},
        {"aud": []},
        {"iss": 1},
        {"sub": 42},
        {"sub": "DROP"},
        {"client_id": "DROP"},
        {"jti": "DROP"},
    ],
    ids=lambda o: "-".join(f"{k}={v!r}" for k, v in o.items())[:40],
)
def test_claims_of_the_wrong_type_or_missing_are_refused(issuer, rsa_private, overrides):
    claims = issuer.claims(**{k: issuer.DROP if v == "DROP" else v for k, v in overrides.items()})
    token = issuer.sign_raw(issuer.header("rsa-1"), claims, rsa_private, "RS256")

    with pytest.raises(InvalidToken):
        issuer.verifier().verify(token)


def test_duplicate_claim_names_are_refused(issuer, rsa_private):
    payload = json.dumps(issuer.claims())[:-1] + ', "sub": "admin"}'
    token = issuer.sign_raw(issuer.header("rsa-1"), payload.encode(), rsa_private, "RS256")

    with pytest.raises(InvalidToken, match="payload"):
        issuer.verifier().verify(token)


# -- structure and size -------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d.e",  # JWE compact form
        "!!!.e30.c2ln",
        "W10.e30.c2ln",  # header is a JSON array
        "eyJhbGciOiJSUzI1NiIsImFsZyI6Im5vbmUifQ.e30.c2ln",  # duplicate "alg" in header
    ],
)
def test_malformed_tokens_are_refused(issuer, token):
    with pytest.raises(InvalidToken):
        issuer.verifier().verify(token)


def test_non_string_token_is_refused(issuer):
    with pytest.raises(InvalidToken):
        issuer.verifier().verify(b"abc.def.ghi")  # type: ignore[arg-type]


def test_oversized_token_is_refused_before_parsing_or_fetching_keys(issuer):
    huge = issuer.mint(padding="x" * 1024 * 1024)
    verifier = issuer.verifier()

    with pytest.raises(InvalidToken, match="larger than 6144 bytes"):
        verifier.verify(huge)
    assert issuer.server.count() == 0


def test_token_size_limit_is_configurable(issuer):
    token = issuer.mint(padding="x" * 10_000)

    assert issuer.verifier(max_token_bytes=16_384).verify(token)["padding"]
    with pytest.raises(InvalidToken, match="larger than"):
        issuer.verifier().verify(token)


# -- messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_token",
    [
        lambda i: i.mint(exp=1),
        lambda i: i.mint(iss="https://evil"),
        lambda i: i.mint(aud="https://evil"),
        lambda i: i.mint(headers={"typ": "JWT"}),
        lambda i: i.mint().rsplit(".", 1)[0] + ".AAAA",
        lambda i: i.mint(headers={"jku": "https://evil/"}),
    ],
    ids=["expired", "issuer", "audience", "typ", "signature", "jku"],
)
def test_error_messages_never_contain_the_token(issuer, make_token):
    token = make_token(issuer)

    with pytest.raises(TokenError) as caught:
        issuer.verifier().verify(token)

    rendered = f"{caught.value} {caught.value!r} {caught.value.description}"
    for segment in token.split("."):
        assert segment not in rendered


def test_no_keys_at_all_is_reported_as_unavailable_not_invalid(stub_server, rsa_private):
    server = stub_server()  # answers 404 to everything

    with pytest.raises(VerifierUnavailable):
        TokenVerifier(server.url, "aud").verify(
            "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsifQ.e30.c2ln"
        )


def test_ec_key_for_another_curve_is_not_loaded(issuer):
    p384 = ec.generate_private_key(ec.SECP384R1())
    numbers = p384.public_key().public_numbers()
    issuer.published.append(
        {
            "kty": "EC",
            "crv": "P-384",
            "kid": "p384",
            "x": issuer.b64url(numbers.x.to_bytes(48, "big")),
            "y": issuer.b64url(numbers.y.to_bytes(48, "big")),
        }
    )
    token = issuer.raw_token(issuer.header("ec-1", kid="p384"), issuer.claims(), bytes(64))

    with pytest.raises(InvalidToken, match="unknown key"):
        issuer.verifier().verify(token)
