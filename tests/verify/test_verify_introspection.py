"""Optional revocation check via RFC 7662 introspection."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, unquote_plus

import pytest

from tokensmith.verify import (
    ExpiredToken,
    IntrospectionRevocationCheck,
    InvalidToken,
    RevokedToken,
    VerifierUnavailable,
)

RS_ID = "resource:server"  # ":" must survive client_secret_basic encoding
RS_SECRET = "s3cret/with+odd&chars"
INTROSPECT = "/oauth2/introspect"


class IntrospectionEndpoint:
    def __init__(self, issuer):
        self.revoked_jtis: set[str] = set()
        issuer.server.route("POST", INTROSPECT, self.handle)

    def handle(self, request):
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if not self._authenticated(request, form):
            return 401, {"error": "invalid_client"}
        payload = form["token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if claims["jti"] in self.revoked_jtis:
            return 200, {"active": False}
        return 200, {"active": True, "client_id": claims["client_id"], "jti": claims["jti"]}

    @staticmethod
    def _authenticated(request, form):
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            raw_id, _, raw_secret = base64.b64decode(header[6:]).decode().partition(":")
            return (unquote_plus(raw_id), unquote_plus(raw_secret)) == (RS_ID, RS_SECRET)
        return (form.get("client_id"), form.get("client_secret")) == (RS_ID, RS_SECRET)


@pytest.fixture
def endpoint(issuer):
    return IntrospectionEndpoint(issuer)


def revocation_check(issuer, clock, **options):
    return IntrospectionRevocationCheck(issuer.url + INTROSPECT, RS_ID, RS_SECRET, clock=clock, **options)


def test_active_token_passes_and_revoked_token_is_refused(issuer, endpoint, clock):
    verifier = issuer.verifier(revocation_check=revocation_check(issuer, clock))
    revoked = issuer.mint(jti="revoked-1")
    endpoint.revoked_jtis.add("revoked-1")

    assert verifier.verify(issuer.mint())["sub"] == "client-1"
    with pytest.raises(RevokedToken):
        verifier.verify(revoked)


def test_answers_are_cached_for_cache_ttl_then_asked_again(issuer, endpoint, clock):
    verifier = issuer.verifier(revocation_check=revocation_check(issuer, clock, cache_ttl=30))
    token = issuer.mint(jti="t-1")

    for _ in range(10):
        verifier.verify(token)
    assert issuer.server.count(INTROSPECT) == 1

    endpoint.revoked_jtis.add("t-1")
    clock.advance(29)
    verifier.verify(token)  # still cached as active: revocation lag is at most cache_ttl
    clock.advance(1)
    with pytest.raises(RevokedToken):
        verifier.verify(token)
    assert issuer.server.count(INTROSPECT) == 2


@pytest.mark.anyio
async def test_async_check_shares_the_cache(issuer, endpoint, clock):
    verifier = issuer.verifier(revocation_check=revocation_check(issuer, clock))
    token = issuer.mint()

    verifier.verify(token)
    await verifier.verify_async(token)

    assert issuer.server.count(INTROSPECT) == 1


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_resource_server_authenticates_to_the_introspection_endpoint(issuer, endpoint, clock, auth_method):
    verifier = issuer.verifier(revocation_check=revocation_check(issuer, clock, auth_method=auth_method))

    verifier.verify(issuer.mint())  # the stub answers 401 unless the credentials decode exactly

    request = next(r for r in issuer.server.requests if r.path == INTROSPECT)
    assert ("authorization" in request.headers) == (auth_method == "client_secret_basic")


def test_wrong_credentials_fail_closed(issuer, endpoint, clock):
    check = IntrospectionRevocationCheck(issuer.url + INTROSPECT, RS_ID, "wrong", clock=clock)

    with pytest.raises(VerifierUnavailable):
        issuer.verifier(revocation_check=check).verify(issuer.mint())


def test_unreachable_introspection_fails_closed_by_default_and_open_on_request(issuer, stub_server, clock):
    down = stub_server()
    url = down.url + INTROSPECT
    down.stop()
    token = issuer.mint()

    closed = issuer.verifier(revocation_check=IntrospectionRevocationCheck(url, RS_ID, RS_SECRET, clock=clock))
    with pytest.raises(VerifierUnavailable):
        closed.verify(token)

    fail_open = IntrospectionRevocationCheck(url, RS_ID, RS_SECRET, clock=clock, fail_open=True)
    assert issuer.verifier(revocation_check=fail_open).verify(token)["sub"] == "client-1"


def test_introspection_runs_only_for_tokens_that_pass_local_checks(issuer, endpoint, clock):
    verifier = issuer.verifier(revocation_check=revocation_check(issuer, clock))

    with pytest.raises(ExpiredToken):
        verifier.verify(issuer.mint(iat=1, exp=2))
    assert issuer.server.count(INTROSPECT) == 0


def test_repr_hides_the_secret(issuer, clock):
    assert RS_SECRET not in repr(revocation_check(issuer, clock))


@pytest.mark.parametrize(
    ("status", "body", "refusal"),
    [
        pytest.param(413, {"error": "invalid_request"}, InvalidToken, id="413-token-too-large"),
        pytest.param(400, {"error": "invalid_request"}, VerifierUnavailable, id="400"),
        pytest.param(401, {"error": "invalid_client"}, VerifierUnavailable, id="401"),
        pytest.param(429, {"error": "slow_down"}, VerifierUnavailable, id="429"),
        pytest.param(200, ["active", True], VerifierUnavailable, id="200-not-an-object"),
    ],
)
def test_fail_open_accepts_only_an_outage_not_an_answer_without_a_verdict(issuer, clock, status, body, refusal):
    """An endpoint that answers, but not with a verdict, is no outage: a token it
    cannot judge (e.g. one too large for its request limit) is refused even with
    fail_open=True, or a revoked token could be made unjudgeable on purpose."""
    issuer.server.route("POST", INTROSPECT, lambda _request: (status, body))
    check = IntrospectionRevocationCheck(issuer.url + INTROSPECT, RS_ID, RS_SECRET, clock=clock, fail_open=True)

    with pytest.raises(refusal):
        issuer.verifier(revocation_check=check).verify(issuer.mint())


def test_fail_open_accepts_during_a_5xx_outage(issuer, clock):
    issuer.server.route("POST", INTROSPECT, lambda _request: (503, {"error": "temporarily_unavailable"}))
    check = IntrospectionRevocationCheck(issuer.url + INTROSPECT, RS_ID, RS_SECRET, clock=clock, fail_open=True)

    assert issuer.verifier(revocation_check=check).verify(issuer.mint())["sub"] == "client-1"
