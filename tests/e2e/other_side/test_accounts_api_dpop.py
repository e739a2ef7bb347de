"""DPoP-bound tokens at the example accounts API (its own process, tokensmith.verify):
`POST /transfers` takes them only; the SDK (httpx and requests) and node
openid-client get one from a real tokensmith with nonces on and use it; and a bound
token is refused in every presentation that does not prove its key for this very
request (RFC 9449 §7): as Bearer, without a proof, with a proof for another token,
method, URL or key, an old or replayed proof, or a proof of the wrong type."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from tests.e2e.other_side.conftest import AUDIENCE, OAUTH_PATH, AccountsApi
from tests.e2e.wire import auth_header, jwt_part
from tests.support.assertion_clients import openid_client_dpop, require_openid_client
from tests.support.dpop import NONCES_ON, ProofKey, ath, serving
from tests.support.server import Tokensmith
from tokensmith.client import ClientCredentialsAuth, DPoPKey


@pytest.fixture(scope="module")
def tokensmith(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokensmith]:
    yield from serving(tmp_path_factory.mktemp("tokensmith-dpop-api"), **NONCES_ON)


@pytest.fixture(scope="module")
def payer(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("payer", "--audience", AUDIENCE, scopes=("read", "edit"))


def sdk(tokensmith: Tokensmith, client: dict[str, Any], dpop: DPoPKey | None) -> ClientCredentialsAuth:
    return ClientCredentialsAuth(f"{tokensmith.url}{OAUTH_PATH}", client["client_id"], client["client_secret"], scope="read edit", dpop=dpop)


def bound_token(tokensmith: Tokensmith, client: dict[str, Any], key: ProofKey) -> str:
    """A token bound to `key`, asked for by hand (the server's nonce fetched first)."""
    url = tokensmith.issuer + OAUTH_PATH
    form = {"grant_type": "client_credentials", "scope": "read edit"}
    with httpx.Client(base_url=tokensmith.url) as http:
        challenge = http.post(OAUTH_PATH, headers={**auth_header(client), "DPoP": key.proof(url)}, data=form)
        answer = http.post(OAUTH_PATH, headers={**auth_header(client), "DPoP": key.proof(url, nonce=challenge.headers["dpop-nonce"])}, data=form)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_sdk_moves_money_with_a_dpop_bound_token(tokensmith: Tokensmith, accounts_api: AccountsApi, payer: dict[str, Any]) -> None:
    key = DPoPKey()
    with httpx.Client(auth=sdk(tokensmith, payer, key), base_url=accounts_api.url) as api:
        transfer = api.post("/transfers", json={"amount": 5})
        listed = api.get("/accounts")  # a bound token is good on every route, presented with its proof
    assert transfer.status_code == 201, transfer.text
    assert transfer.json() == {"amount": 5, "by": "payer", "key": key.jkt}
    assert listed.status_code == 200
    session = requests.Session()
    session.auth = sdk(tokensmith, payer, DPoPKey())
    assert session.post(f"{accounts_api.url}/transfers", json={"amount": 7}).status_code == 201


def test_a_bearer_token_cannot_move_money(tokensmith: Tokensmith, accounts_api: AccountsApi, payer: dict[str, Any]) -> None:
    with httpx.Client(auth=sdk(tokensmith, payer, None), base_url=accounts_api.url) as api:
        assert api.get("/accounts").status_code == 200
        refused = api.post("/transfers", json={"amount": 5})
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith('DPoP algs="ES256 EdDSA PS256 RS256"') and 'error="invalid_token"' in challenge  # RFC 9449 §7.1


def test_the_api_follows_its_own_nonce(tokensmith: Tokensmith, start_accounts_api: Any, payer: dict[str, Any]) -> None:
    """ACCOUNTS_DPOP_NONCES=true: the first proof is answered 401 use_dpop_nonce with a
    DPoP-Nonce (RFC 9449 §9); the SDK retries once with it."""
    api = start_accounts_api(ACCOUNTS_DPOP_NONCES="true")
    key = ProofKey.es256()
    token = bound_token(tokensmith, payer, key)
    url = f"{api.url}/transfers"
    first = httpx.post(url, headers={"Authorization": f"DPoP {token}", "DPoP": key.proof(url, ath=ath(token))}, json={"amount": 1})
    assert first.status_code == 401 and 'error="use_dpop_nonce"' in first.headers["www-authenticate"]
    nonce = first.headers["dpop-nonce"]
    second = httpx.post(url, headers={"Authorization": f"DPoP {token}", "DPoP": key.proof(url, ath=ath(token), nonce=nonce)}, json={"amount": 1})
    assert second.status_code == 201, second.text
    with httpx.Client(auth=sdk(tokensmith, payer, DPoPKey()), base_url=api.url) as client:
        assert [client.post("/transfers", json={"amount": 2}).status_code for _ in range(2)] == [201, 201]


def test_a_bound_token_is_refused_without_a_proof_of_its_key_for_this_request(tokensmith: Tokensmith, accounts_api: AccountsApi, payer: dict[str, Any]) -> None:
    key, other = ProofKey.es256(), ProofKey.es256()
    token = bound_token(tokensmith, payer, key)
    another_token = bound_token(tokensmith, payer, key)
    unbound = httpx.post(f"{tokensmith.url}{OAUTH_PATH}", headers=auth_header(payer), data={"grant_type": "client_credentials", "scope": "edit"}).json()["access_token"]
    url = f"{accounts_api.url}/transfers"
    good = key.proof(url, ath=ath(token))
    now = int(time.time())
    presentations: dict[str, tuple[dict[str, str], str]] = {
        "as Bearer (the stolen-token case)": ({"Authorization": f"Bearer {token}"}, "invalid_dpop_proof"),
        "as Bearer with its proof": ({"Authorization": f"Bearer {token}", "DPoP": key.proof(url, ath=ath(token))}, "invalid_dpop_proof"),
        "without a proof": ({"Authorization": f"DPoP {token}"}, "invalid_dpop_proof"),
        "with another token's ath": ({"Authorization": f"DPoP {token}", "DPoP": key.proof(url, ath=ath(another_token))}, "invalid_dpop_proof"),
        "without ath": ({"Authorization": f"DPoP {token}", "DPoP": key.proof(url)}, "invalid_dpop_proof"),
        "for GET": ({"Authorization": f"DPoP {token}", "DPoP": key.proof(url, "GET", ath=ath(token))}, "invalid_dpop_proof"),
        "for another URL": ({"Authorization": f"DPoP {token}", "DPoP": key.proof(f"{accounts_api.url}/accounts", ath=ath(token))}, "invalid_dpop_proof"),
        "by another key": ({"Authorization": f"DPoP {token}", "DPoP": other.proof(url, ath=ath(token))}, "invalid_dpop_proof"),
        "ten minutes old": ({"Authorization": f"DPoP {token}", "DPoP": key.proof(url, ath=ath(token), iat=now - 600)}, "invalid_dpop_proof"),
        "typ JWT": ({"Authorization": f"DPoP {token}", "DPoP": key.proof(url, ath=ath(token), header={"typ": "JWT"})}, "invalid_dpop_proof"),
        "an unbound token as DPoP": ({"Authorization": f"DPoP {unbound}", "DPoP": key.proof(url, ath=ath(unbound))}, "invalid_token"),
    }
    for name, (headers, error) in presentations.items():
        response = httpx.post(url, headers=headers, json={"amount": 1})
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"] == error, name
        assert response.headers["www-authenticate"].startswith("DPoP " if error == "invalid_dpop_proof" else "Bearer "), name
    first = httpx.post(url, headers={"Authorization": f"DPoP {token}", "DPoP": good}, json={"amount": 1})
    assert first.status_code == 201, first.text
    replayed = httpx.post(url, headers={"Authorization": f"DPoP {token}", "DPoP": good}, json={"amount": 1})
    assert replayed.status_code == 401 and replayed.json()["error_description"] == "the DPoP proof has been used before"
    assert jwt_part(token, 1)["cnf"] == {"jkt": key.jkt}


def test_openid_client_calls_the_api_with_its_dpop_token(tokensmith: Tokensmith, accounts_api: AccountsApi) -> None:
    require_openid_client()
    created = tokensmith.create_client("openid-payer", "--audience", AUDIENCE, "--token-binding", "dpop", scopes=("read",))
    results = openid_client_dpop(tokensmith.issuer, created["client_id"], created["client_secret"], resource=f"{accounts_api.url}/accounts")
    assert results[0].get("resource", {}).get("status") == 200, results
