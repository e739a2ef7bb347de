"""The seed's request and response, end to end against a real server."""

from __future__ import annotations

import base64
import json

import httpx

from tests.support.server import Tokensmith


def _segment(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_seed_request_returns_exactly_the_seed_response(tokensmith: Tokensmith, http: httpx.Client) -> None:
    client = tokensmith.create_client("POC_NAB_Dev", "--claim", "firstVisionId=00000AUNAB")
    response = http.post("/v1/api/oauth/token?scope=edit", auth=(client["client_id"], client["client_secret"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert list(body) == ["access_token", "expires_in", "token_type"]
    assert body["token_type"] == "Bearer"
    claims = _segment(body["access_token"], 1)
    assert body["expires_in"] == claims["exp"]
    assert claims["scope"] == "edit"
    assert claims["client_id"] == "POC_NAB_Dev"
    assert claims["firstVisionId"] == "00000AUNAB"
    assert _segment(body["access_token"], 0)["alg"] == "RS256"
