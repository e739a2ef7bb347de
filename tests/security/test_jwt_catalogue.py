"""The JWT attack harness: every case of every catalogue (tests/security/jwt_catalogues/)
is refused twice, by introspection at a real server (exactly `{"active": false}`) and
by `TokenVerifier` pointed at the same server (keys by discovery; `InvalidToken`).

Cases start from a real token (tests/support/jwt_lab.py). Attacks on the signature use
an attacker's key; attacks on a header field or a claim are signed with the server's
own key, read from its store as only an insider could, so only the check under attack
can refuse them. The controls prove such insider tokens are otherwise accepted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.e2e.other_side.conftest import AUDIENCE, es256_tokensmith, fetch_token, introspect  # noqa: F401 (fixture)
from tests.e2e.wire import oauth_error
from tests.security.jwt_catalogues import CATALOGUES, audit, playbook
from tests.support.jws import P256_ORDER, b64url, claims_of, compact, es256, header_of, respelled_s, signature_of
from tests.support.jwt_lab import Lab, Recorder, attacker_jwk, make_lab
from tests.support.server import Tokensmith
from tokensmith.verify import InvalidToken, TokenVerifier

INACTIVE = b'{"active":false}'
ATTACKS = {**audit.ATTACKS, **playbook.ATTACKS}
CASES = [pytest.param(name, id=name) for catalogue in CATALOGUES.values() for name in catalogue]


@pytest.fixture(scope="module")
def caller(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("catalogue-caller", "--audience", AUDIENCE, scopes=("read", "edit"))


@pytest.fixture(scope="module")
def introspector(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("catalogue-introspector", scopes=("introspect",))


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def recorder(attacker_key: rsa.RSAPrivateKey) -> Iterator[Recorder]:
    recorder = Recorder({"keys": [attacker_jwk(attacker_key)]})
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def lab(tokensmith, caller, attacker_key, recorder, tmp_path_factory) -> Lab:
    token = fetch_token(tokensmith, caller, "read edit")
    return make_lab(tokensmith, token, attacker_key, recorder, tmp_path_factory.mktemp("catalogue") / "pwned")


@pytest.fixture(scope="module")
def verifier(tokensmith: Tokensmith) -> TokenVerifier:
    """What a resource server would run: discovery from the issuer, nothing injected."""
    return TokenVerifier(tokensmith.issuer, AUDIENCE)


def revoke(server: Tokensmith, token: str, client: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/oauth2/revoke", data={"token": token}, auth=(client["client_id"], client["client_secret"]))


# -- controls: what is not an attack is accepted ----------------------------------------


def test_control_the_real_token_is_active_and_verifies(tokensmith, lab, introspector, verifier):
    assert introspect(tokensmith, lab.token, introspector).json()["active"] is True
    assert verifier.verify(lab.token, scopes="read edit")["client_id"] == "catalogue-caller"


def test_control_insider_tokens_are_accepted_when_nothing_is_wrong(tokensmith, lab, introspector, verifier):
    for token in (
        lab.doctored(),
        compact(lab.header_json('{"alg":"RS256","typ":"at+jwt","kid":"KID"}'), lab.payload_json(), lab.insider),
    ):
        assert introspect(tokensmith, token, introspector).json()["active"] is True
        assert verifier.verify(token)["jti"] == lab.claims["jti"]


def test_time_is_not_what_refuses_the_catalogue(lab: Lab) -> None:
    # The real token has at least ten minutes to live, so expiry cannot be the reason.
    assert lab.claims["exp"] > time.time() + 600


def test_the_catalogues_do_not_repeat_each_other() -> None:
    assert not set(audit.ATTACKS) & set(playbook.ATTACKS)
    assert len(CASES) == len(ATTACKS) >= 160


# -- the catalogues -------------------------------------------------------------------


@pytest.mark.parametrize("attack", CASES)
def test_introspection_answers_only_inactive(tokensmith, lab, introspector, attack):
    response = introspect(tokensmith, ATTACKS[attack](lab), introspector)

    assert response.status_code == 200, response.text
    assert response.content == INACTIVE


@pytest.mark.parametrize("attack", CASES)
def test_verifier_refuses_with_invalid_token(lab, verifier, attack):
    with pytest.raises(InvalidToken):
        verifier.verify(ATTACKS[attack](lab))


# -- what the cases must not cause ------------------------------------------------------


def test_key_urls_in_a_token_are_never_fetched(tokensmith, lab, introspector, verifier, recorder):
    for attack in audit.NEVER_FETCHED:
        token = ATTACKS[attack](lab)
        assert introspect(tokensmith, token, introspector).content == INACTIVE
        with pytest.raises(InvalidToken):
            verifier.verify(token)

    assert recorder.paths == []


def test_no_kid_ever_ran_as_a_command(lab, tokensmith, introspector):
    for attack in (name for name in playbook.ATTACKS if name.startswith("kid-command-")):
        introspect(tokensmith, ATTACKS[attack](lab), introspector)

    assert not lab.marker.exists()
    assert tokensmith.is_running()


def test_revocation_of_a_respelled_token_revokes_nothing(tokensmith, lab, caller, introspector):
    """RFC 7009 §2.2: a token that is not one (here: the real one padded) is answered
    200 and nothing happens; the real token stays active."""
    response = revoke(tokensmith, ATTACKS["padded-signature"](lab), caller)

    assert response.status_code == 200
    assert introspect(tokensmith, lab.token, introspector).json()["active"] is True


def test_a_1mb_token_gets_a_clean_413_from_introspection(tokensmith, lab, introspector):
    # Genuinely signed: only the size can be held against it.
    token = lab.doctored(padding="A" * 1_000_000)

    response = introspect(tokensmith, token, introspector)

    # The server's form-body limit (TOKENSMITH_MAX_BODY_BYTES, default 8192) comes
    # first: an RFC 6749 §5.2 error object, not a 500 and not a parse of 1 MB.
    oauth_error(response, error="invalid_request", status=413)
    assert tokensmith.is_running()
    assert introspect(tokensmith, lab.doctored(), introspector).json()["active"] is True


def test_a_1mb_token_is_refused_by_the_verifier_before_parsing(lab, verifier):
    with pytest.raises(InvalidToken, match="larger than"):
        verifier.verify(lab.doctored(padding="A" * 1_000_000))


# -- what the two readers deliberately treat differently --------------------------------


@pytest.mark.parametrize("typ", ["AT+JWT", "at+JWT", "application/at+jwt"])
def test_typ_is_compared_case_insensitively_by_the_verifier_only(tokensmith, lab, introspector, verifier, typ):
    """Not an attack: RFC 7515 §4.1.9 makes typ case-insensitive and RFC 9068 §2.1
    allows the `application/` prefix, so a resource server must accept these spellings
    of a genuinely signed token. Introspection, which reads back only what this server
    issued (always `at+jwt`), refuses any other spelling: it fails closed."""
    token = lab.doctored(lab.with_header(typ=typ))

    assert verifier.verify(token)["jti"] == lab.claims["jti"]
    assert introspect(tokensmith, token, introspector).content == INACTIVE


def test_an_audience_list_with_ours_among_garbage_is_a_valid_audience(tokensmith, lab, introspector, verifier):
    """Not an attack either: RFC 7519 §4.1.3 lets `aud` be a list, and the token is for
    us when our audience is one of them; this server never issues such a token, so only
    its signing key could make one. Introspection reports `aud` (RFC 7662 §2.2) and
    leaves the audience check to the resource server."""
    token = lab.doctored(aud=["https://elsewhere.example", AUDIENCE, "\x00" * 3, "x" * 1000])

    assert verifier.verify(token)["aud"][1] == AUDIENCE
    with pytest.raises(InvalidToken, match="aud"):
        TokenVerifier(tokensmith.issuer, AUDIENCE + "\x00").verify(token)
    assert introspect(tokensmith, token, introspector).json()["aud"][1] == AUDIENCE


# -- ES256: CVE-2022-21449 and signature malleability -----------------------------------


@pytest.fixture(scope="module")
def es256_setup(es256_tokensmith: Tokensmith) -> tuple[str, dict[str, Any], TokenVerifier]:
    client = es256_tokensmith.create_client("es256-caller", "--audience", AUDIENCE, scopes=("read",))
    token = fetch_token(es256_tokensmith, client, "read")
    assert header_of(token)["alg"] == "ES256"
    return token, client, TokenVerifier(es256_tokensmith.issuer, AUDIENCE)


def test_control_a_real_es256_token_is_active_and_verifies(es256_tokensmith, es256_setup):
    token, client, verifier = es256_setup

    assert introspect(es256_tokensmith, token, client).json()["active"] is True
    assert verifier.verify(token)["client_id"] == "es256-caller"


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(b"\x00" * 64, id="64-zero-bytes"),
        pytest.param(P256_ORDER.to_bytes(32, "big") * 2, id="r-and-s-equal-the-group-order"),
        pytest.param(b"\x00" * 32 + b"\x01" + b"\x00" * 31, id="r-zero"),
    ],
)
def test_es256_psychic_signature_is_refused(es256_tokensmith, es256_setup, signature):
    token, client, verifier = es256_setup
    header_and_claims = token.rsplit(".", 1)[0]
    forged = f"{header_and_claims}.{b64url(signature)}"

    response = introspect(es256_tokensmith, forged, client)

    assert response.status_code == 200
    assert response.content == INACTIVE
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_es256_token_resigned_by_another_p256_key_is_refused(es256_tokensmith, es256_setup):
    token, client, verifier = es256_setup
    forged = compact(header_of(token), claims_of(token), es256(ec.generate_private_key(ec.SECP256R1())))

    assert introspect(es256_tokensmith, forged, client).content == INACTIVE
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_the_server_signs_es256_with_low_s(es256_setup):
    token, _, _ = es256_setup

    assert int.from_bytes(signature_of(token)[32:], "big") <= P256_ORDER // 2


def test_es256_token_with_s_respelled_as_n_minus_s_is_a_second_spelling_refused(es256_tokensmith, es256_setup):
    """The outside audit: (r, n - s) is as valid an ECDSA signature as (r, s), so
    without the low-s rule one token had two accepted spellings (RFC 8725 §3.4 asks
    for signature checks that leave no such room). Only the low one is accepted."""
    token, client, verifier = es256_setup
    respelled = respelled_s(token)
    assert respelled != token

    response = introspect(es256_tokensmith, respelled, client)

    assert response.status_code == 200
    assert response.content == INACTIVE
    with pytest.raises(InvalidToken, match="signature"):
        verifier.verify(respelled)


def test_revoking_the_respelled_es256_token_revokes_nothing(es256_tokensmith, es256_setup):
    token, client, _ = es256_setup
    other = fetch_token(es256_tokensmith, client, "read")

    assert revoke(es256_tokensmith, respelled_s(other), client).status_code == 200
    assert introspect(es256_tokensmith, other, client).json()["active"] is True
    assert introspect(es256_tokensmith, token, client).json()["active"] is True
