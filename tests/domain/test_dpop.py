"""The pure DPoP rules (domain/dpop.py, domain/dpop_nonces.py): the URL comparison
of RFC 9449 §4.3 item 9, ath (§4.2), and the nonce windows (§8). The refusals of
forged proofs are proven against a real server: tests/e2e/test_dpop.py."""

from __future__ import annotations

import time

import pytest

from tests.support.dpop import ProofKey, ath
from tokensmith.domain.dpop import KeyMemo, ProofRefused, ProofRules, check_proof, normalised_url
from tokensmith.domain.dpop_nonces import DpopNonces

URL = "https://as.example/oauth2/token"


@pytest.mark.parametrize(
    "spelling",
    ["https://as.example/oauth2/token", "HTTPS://AS.EXAMPLE/oauth2/token", "https://as.example:443/oauth2/token", "https://as.example/oauth2/token?a=b#c"],
)
def test_equal_urls_normalise_alike(spelling: str) -> None:
    assert normalised_url(spelling) == URL


@pytest.mark.parametrize(
    "other",
    [
        "http://as.example/oauth2/token", "https://as.example:8443/oauth2/token", "https://as.example/OAUTH2/token",
        "https://as.example/oauth2/token/", "https://user@as.example/oauth2/token", "ftp://as.example/oauth2/token",
        "/oauth2/token", "https://as.example:99999/oauth2/token", "",
    ],
)  # fmt: skip
def test_other_urls_differ(other: str) -> None:
    assert normalised_url(other) != URL


def test_percent_escapes_compare_in_any_case_and_an_empty_path_is_the_root() -> None:
    assert normalised_url("https://as.example/a%2fb") == normalised_url("https://as.example/a%2Fb")
    assert normalised_url("https://as.example") == "https://as.example/"


def test_a_resource_proof_must_carry_the_access_tokens_hash() -> None:
    key = ProofKey.es256()
    rules = ProofRules()
    now = int(time.time())
    good = check_proof(key.proof(URL, "GET", ath=ath("token-a")), method="GET", url=URL, now=now, rules=rules, access_token="token-a")
    assert good.jkt == key.jkt and good.expires_at > now + rules.iat_window
    for proof in (key.proof(URL, "GET", ath=ath("token-b")), key.proof(URL, "GET"), key.proof(URL, "GET", ath="é")):
        with pytest.raises(ProofRefused) as refused:
            check_proof(proof, method="GET", url=URL, now=now, rules=rules, access_token="token-a")
        assert refused.value.reason == "ath"


def test_the_iat_window_and_leeway_bound_a_proofs_age() -> None:
    key = ProofKey.es256()
    rules = ProofRules(iat_window=60, leeway=5)
    now = int(time.time())
    for iat in (now - 65, now + 5):
        check_proof(key.proof(URL, iat=iat), method="POST", url=URL, now=now, rules=rules)
    for iat in (now - 66, now + 6):
        with pytest.raises(ProofRefused):
            check_proof(key.proof(URL, iat=iat), method="POST", url=URL, now=now, rules=rules)


def test_a_nonce_is_good_for_its_window_and_the_next_only() -> None:
    nonces = DpopNonces(b"k" * 32, 100)
    nonce = nonces.current(1_000)
    assert nonces.accepts(nonce, 1_099) and nonces.accepts(nonce, 1_199)
    assert not nonces.accepts(nonce, 1_200)
    assert nonces.current(1_100) != nonce
    assert not DpopNonces(b"j" * 32, 100).accepts(nonce, 1_000)  # another deployment's key
    assert not nonces.accepts(None, 1_000) and not nonces.accepts("é", 1_000)


def test_a_remembered_header_still_needs_its_signature_and_claims() -> None:
    """The key memo skips parsing the jwk again, nothing else."""
    key, other = ProofKey.es256(), ProofKey.es256()
    memo = KeyMemo()
    rules = ProofRules()
    now = int(time.time())
    check_proof(key.proof(URL), method="POST", url=URL, now=now, rules=rules, memo=memo)
    for forged, reason in ((key.proof(URL, sign=other.signer), "signature"), (key.proof(URL, "GET"), "htm"), (key.proof(URL, iat=now - 999), "iat")):
        with pytest.raises(ProofRefused) as refused:
            check_proof(forged, method="POST", url=URL, now=now, rules=rules, memo=memo)
        assert refused.value.reason == reason
    with pytest.raises(ProofRefused) as refused:  # a refused header is never remembered
        check_proof(key.proof(URL, header={"typ": "JWT"}), method="POST", url=URL, now=now, rules=rules, memo=memo)
    assert refused.value.reason == "type"
    assert check_proof(key.proof(URL), method="POST", url=URL, now=now, rules=rules, memo=memo).jkt == key.jkt
