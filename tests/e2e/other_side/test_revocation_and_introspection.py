"""Revocation (RFC 7009) and introspection (RFC 7662) on the real server, and the
example API's revocation-honouring mode built on them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.other_side.conftest import AUDIENCE, INTROSPECT_PATH, REVOKE_PATH, AccountsApi, fetch_token, introspect
from tests.support.jws import claims_of, compact, header_of, rs256, server_signing_key
from tests.support.server import Tokensmith
from tokensmith.verify import IntrospectionRevocationCheck, InvalidToken, TokenVerifier

INACTIVE = {"active": False}
REPORTED = {"active", "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "token_type"}


@pytest.fixture(scope="module")
def introspector(tokensmith: Tokensmith) -> dict[str, Any]:
    """The accounts API's own client: it only introspects."""
    return tokensmith.create_client("accounts-api", scopes=("introspect",))


@pytest.fixture(scope="module")
def revocation_api(start_accounts_api, introspector) -> AccountsApi:
    """The example API in its revocation-honouring mode, started the other documented
    way (`python -m examples.accounts_api`); answers are not cached, so the test needs
    no waiting."""
    return start_accounts_api(
        via_python_m=True,
        ACCOUNTS_INTROSPECTION_CLIENT_ID=introspector["client_id"],
        ACCOUNTS_INTROSPECTION_CLIENT_SECRET=introspector["client_secret"],
        ACCOUNTS_REVOCATION_CACHE_SECONDS="0",
    )


def revoke(server: Tokensmith, token: str, client: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}{REVOKE_PATH}", data={"token": token}, auth=(client["client_id"], client["client_secret"]))


def call_api(api: AccountsApi, token: str) -> httpx.Response:
    return httpx.get(f"{api.url}/accounts", headers={"Authorization": f"Bearer {token}"})


def test_live_token_introspects_as_active_with_exactly_its_claims(tokensmith, caller, introspector):
    token = fetch_token(tokensmith, caller, "read edit")

    response = introspect(tokensmith, token, introspector)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == REPORTED
    claims = claims_of(token)
    assert body == {"active": True, "token_type": "Bearer", **{name: claims[name] for name in REPORTED - {"active", "token_type"}}}
    assert body["aud"] == AUDIENCE and body["client_id"] == body["sub"] == "accounts-caller"
    assert body["iss"] == tokensmith.issuer


def test_revoked_token_turns_inactive_and_the_revocation_honouring_api_refuses_it(
    tokensmith, caller, introspector, accounts_api, revocation_api
):
    token = fetch_token(tokensmith, caller, "read")
    assert call_api(revocation_api, token).status_code == 200
    assert introspect(tokensmith, token, introspector).json()["active"] is True

    revoked = revoke(tokensmith, token, caller)

    assert revoked.status_code == 200
    assert revoked.headers["cache-control"] == "no-store"
    after = introspect(tokensmith, token, introspector)
    assert after.status_code == 200 and after.json() == INACTIVE
    refused = call_api(revocation_api, token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "revoked" in refused.json()["error_description"]
    # Without the revocation check a JWT stays valid until exp: that is the mode's point.
    assert call_api(accounts_api, token).status_code == 200


def test_revocation_honouring_api_still_accepts_live_tokens(tokensmith, caller, revocation_api):
    kept = fetch_token(tokensmith, caller, "read")
    other = fetch_token(tokensmith, caller, "read")
    assert revoke(tokensmith, other, caller).status_code == 200

    assert call_api(revocation_api, kept).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param("a.b.c", id="three-dots"),
        pytest.param("eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.", id="unsigned-jwt"),
    ],
)
def test_revoking_an_unknown_or_invalid_token_answers_200(tokensmith, caller, token):
    # RFC 7009 §2.2: an invalid token is answered like a revoked one.
    response = revoke(tokensmith, token, caller)

    assert response.status_code == 200
    assert response.content == b""


def test_revoking_a_forged_token_answers_200_and_revokes_nothing(tokensmith, caller, introspector):
    real = fetch_token(tokensmith, caller, "read")
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Same jti as the real token: a forgery must not be able to revoke someone's token.
    forged = compact(header_of(real), claims_of(real), rs256(attacker))

    assert revoke(tokensmith, forged, caller).status_code == 200
    assert introspect(tokensmith, real, introspector).json()["active"] is True


def test_a_client_cannot_revoke_another_clients_token(tokensmith, caller, introspector, revocation_api):
    token = fetch_token(tokensmith, caller, "read")
    intruder = tokensmith.create_client("intruder", scopes=("read",))

    response = revoke(tokensmith, token, intruder)

    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert introspect(tokensmith, token, introspector).json()["active"] is True
    assert call_api(revocation_api, token).status_code == 200


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(None, id="no-credentials"),
        pytest.param(("accounts-api", "wrong-secret"), id="wrong-secret"),
        pytest.param(("nobody", "whatever"), id="unknown-client"),
    ],
)
def test_introspection_without_client_authentication_is_401_with_a_challenge(tokensmith, caller, auth):
    token = fetch_token(tokensmith, caller, "read")

    response = httpx.post(f"{tokensmith.url}{INTROSPECT_PATH}", data={"token": token}, auth=auth)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["error"] == "invalid_client"
    assert "active" not in response.text and "accounts-caller" not in response.text


@pytest.mark.parametrize("path", [INTROSPECT_PATH, REVOKE_PATH])
def test_unauthenticated_request_without_a_token_is_401_not_a_hint_about_the_form(tokensmith, path):
    response = httpx.post(f"{tokensmith.url}{path}", data={"token_type_hint": "access_token"})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_revocation_without_client_authentication_is_401_and_revokes_nothing(tokensmith, caller, introspector):
    token = fetch_token(tokensmith, caller, "read")

    response = httpx.post(f"{tokensmith.url}{REVOKE_PATH}", data={"token": token})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert introspect(tokensmith, token, introspector).json()["active"] is True


def test_expired_forged_and_foreign_tokens_introspect_as_exactly_inactive(
    tokensmith, es256_tokensmith, caller, introspector
):
    real = fetch_token(tokensmith, caller, "read")
    now = int(time.time())
    insider = rs256(server_signing_key(tokensmith, header_of(real)["kid"]))
    attacker = rs256(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    other_client = es256_tokensmith.create_client("accounts-caller", "--audience", AUDIENCE, scopes=("read",))
    cases = {
        # Genuine in every way (the server's own key) except that it has expired.
        "expired": compact(header_of(real), {**claims_of(real), "iat": now - 7200, "exp": now - 3600}, insider),
        "forged": compact(header_of(real), claims_of(real), attacker),
        # Issued by another tokensmith, for the same client id and audience.
        "other-issuer": fetch_token(es256_tokensmith, other_client, "read"),
    }
    # The insider signature is good: the same claims unexpired are live.
    assert introspect(tokensmith, compact(header_of(real), claims_of(real), insider), introspector).json()["active"] is True

    for name, token in cases.items():
        response = introspect(tokensmith, token, introspector)
        assert response.status_code == 200, name
        assert response.content == b'{"active":false}', name


def _too_large_to_introspect(real: str, key: Any, form_overhead: int, limit: int) -> str:
    """The real token plus padding, signed by the server's key: small enough to be
    revoked (`token=…` fits the server's body limit), too large for a verifier's
    introspection request (`token=…&token_type_hint=access_token`)."""
    header, claims = header_of(real), claims_of(real)
    for size in range(limit):
        token = compact(header, {**claims, "padding": "A" * size}, rs256(key))
        if len(token) + form_overhead > limit:
            assert len("token=") + len(token) <= limit
            return token
    raise AssertionError("no size fits")


def test_a_revoked_token_too_large_to_introspect_is_refused_even_with_fail_open(tokensmith, caller, introspector):
    """The outside audit: the size limits did not line up, and with fail_open=True the
    verifier took the 413 for an outage and accepted a revoked token. Only a real outage
    (connection failure, timeout, 5xx) may fail open."""
    real = fetch_token(tokensmith, caller, "read")
    key = server_signing_key(tokensmith, header_of(real)["kid"])
    big = _too_large_to_introspect(real, key, len("token=&token_type_hint=access_token"), 8192)  # TOKENSMITH_MAX_BODY_BYTES
    assert revoke(tokensmith, big, caller).status_code == 200
    assert introspect(tokensmith, real, introspector).json() == INACTIVE  # same jti: revoked

    check = IntrospectionRevocationCheck(
        f"{tokensmith.url}{INTROSPECT_PATH}", introspector["client_id"], introspector["client_secret"], fail_open=True
    )
    # An operator who raised the verifier's limit past the server's gets a refusal, not an acceptance.
    with pytest.raises(InvalidToken, match="too large"):
        TokenVerifier(tokensmith.issuer, AUDIENCE, max_token_bytes=16384, revocation_check=check).verify(big)
    # With the default limit the token never gets that far: every token the verifier
    # accepts fits the server's introspection request.
    with pytest.raises(InvalidToken, match="larger than"):
        TokenVerifier(tokensmith.issuer, AUDIENCE, revocation_check=check).verify(big)
