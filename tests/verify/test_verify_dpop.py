"""TokenVerifier and DPoP-bound tokens of a real tokensmith, called directly: without a
presentation (a framework that passes none) a bound token is refused, never accepted
as bearer; the verified-token cache does not skip the proof; and the replay memory
fails closed when full. Over HTTP: tests/e2e/other_side/test_accounts_api_dpop.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.wire import auth_header
from tests.support.dpop import ProofKey, ath
from tests.support.server import Tokensmith
from tokensmith.verify import DPoPChecker, InvalidDPoPProof, Presentation, TokenVerifier, VerifierUnavailable

API = "https://api.example.test/orders"


@pytest.fixture(scope="module")
def client(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("verify-dpop")


def bound_token(tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> str:
    headers = {**auth_header(client), "DPoP": key.proof(tokensmith.issuer + "/oauth2/token")}
    response = httpx.post(f"{tokensmith.url}/oauth2/token", headers=headers, data={"grant_type": "client_credentials"})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def presented(key: ProofKey, token: str, method: str = "GET") -> Presentation:
    return Presentation("DPoP", key.proof(API, method, ath=ath(token)), method, API)


def test_a_bound_token_needs_its_proof_on_every_verification(tokensmith: Tokensmith, client: dict[str, Any]) -> None:
    key = ProofKey.es256()
    token = bound_token(tokensmith, client, key)
    verifier = TokenVerifier(tokensmith.issuer, tokensmith.issuer)
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(token)  # no presentation: Bearer
    assert verifier.verify(token, presentation=presented(key, token))["cnf"] == {"jkt": key.jkt}
    # Now in the verified-token cache: the proof is still checked, and once only.
    again = presented(key, token)
    verifier.verify(token, presentation=again)
    with pytest.raises(InvalidDPoPProof, match="used before"):
        verifier.verify(token, presentation=again)
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(token, presentation=Presentation("DPoP", None, "GET", API))


@pytest.mark.anyio
async def test_the_async_path_checks_alike(tokensmith: Tokensmith, client: dict[str, Any]) -> None:
    key = ProofKey.es256()
    token = bound_token(tokensmith, client, key)
    verifier = TokenVerifier(tokensmith.issuer, tokensmith.issuer)
    with pytest.raises(InvalidDPoPProof):
        await verifier.verify_async(token, presentation=presented(ProofKey.es256(), token))
    assert (await verifier.verify_async(token, presentation=presented(key, token)))["client_id"] == "verify-dpop"


def test_a_full_replay_memory_refuses_rather_than_forgets(tokensmith: Tokensmith, client: dict[str, Any]) -> None:
    key = ProofKey.es256()
    token = bound_token(tokensmith, client, key)
    verifier = TokenVerifier(tokensmith.issuer, tokensmith.issuer, dpop=DPoPChecker(replay_entries=2))
    first = presented(key, token)
    verifier.verify(token, presentation=first)
    verifier.verify(token, presentation=presented(key, token))
    with pytest.raises(VerifierUnavailable):
        verifier.verify(token, presentation=presented(key, token))
    with pytest.raises(InvalidDPoPProof, match="used before"):
        verifier.verify(token, presentation=first)
