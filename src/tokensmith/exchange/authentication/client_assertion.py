"""Client authentication by a signed JWT in `client_assertion` (RFC 7521 §4.2,
RFC 7523 §2.2): the client's own assertion under one of its registered keys
(private_key_jwt), or a platform token of a trusted issuer that one of the client's
federated credentials matches (federated). The rules on the claims are in
domain/assertions.py; this module reads the request and checks the signature with
the key the assertion's header names, pinned to that key's algorithm."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from tokensmith.domain.assertions import (
    JWT_BEARER_ASSERTION,
    JWT_BEARER_GRANT,
    MAX_ASSERTION_LENGTH,
    AssertionRefused,
    check_client_assertion,
    check_platform_token,
    check_type,
    replay_key,
)
from tokensmith.domain.client_keys import AuthMethod, key_credential_id
from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH, Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.trusts import Trust
from tokensmith.exchange.authentication.methods import Checks
from tokensmith.exchange.needs import ClientKeys, FirstUse, Need, TrustKeys, TrustOf
from tokensmith.http.parsing import malformed
from tokensmith.jose import jws
from tokensmith.jose.jwk import ALGORITHMS, FULLY_SPECIFIED, VerificationKey


class AssertionCredential:
    """What a request's client_assertion claims, parsed but not yet trusted."""

    __slots__ = ("_claims", "_grant", "_jws", "client_id", "method", "reason", "used")

    def __init__(self, assertion_type: str | None, assertion: str | None, client_id: str | None, *, grant: bool = False) -> None:
        self._grant = grant  # a JWT-bearer grant's assertion: a platform token only
        self.used: str | None = None
        self.reason = "malformed"
        self._jws: jws.CompactJWS | None = None
        self._claims: dict[str, Any] = {}
        if assertion_type == JWT_BEARER_ASSERTION and assertion and len(assertion) <= MAX_ASSERTION_LENGTH:
            try:
                self._jws = jws.parse(assertion)
                self._claims = self._jws.payload_object()
            except jws.MalformedJWS:
                self._jws = None
        subject = self._claims.get("sub")
        # A federated client names itself (the platform token's sub is the workload);
        # a private_key_jwt client may, and its assertion's sub must then agree.
        self.client_id = client_id if client_id is not None else (subject if isinstance(subject, str) else "")
        self.method = AuthMethod.FEDERATED.value if client_id is not None and client_id != subject else AuthMethod.PRIVATE_KEY_JWT.value

    def __repr__(self) -> str:  # never show the assertion, even in a traceback
        return f"AssertionCredential(client_id={self.client_id!r})"

    def is_plausible(self) -> bool:
        return self._jws is not None and 0 < len(self.client_id) <= MAX_CLIENT_ID_LENGTH

    def waits(self, client: Client | None, checks: Checks, now: int) -> bool:
        return False  # no guessing a signature: nothing to count ahead

    def verify(self, client: Client | None, checks: Checks, now: int) -> Generator[Need, Any, bool]:
        try:
            if client is None:
                raise AssertionRefused("unknown_client")
            self.method = client.auth_method.value
            if not client.enabled:
                raise AssertionRefused("disabled")
            if client.auth_method is AuthMethod.PRIVATE_KEY_JWT and not self._grant:
                yield from self._own_assertion(client, checks, now)
                return True
            if client.auth_method is AuthMethod.FEDERATED:
                yield from self._platform_token(client, checks, now)
                return True
            raise AssertionRefused("wrong_method")
        except AssertionRefused as refused:
            self.reason = refused.reason
            return False

    def _own_assertion(self, client: Client, checks: Checks, now: int) -> Generator[Need, Any, None]:
        token = self._jws
        assert token is not None  # is_plausible
        key = yield from _signing_key(token, ClientKeys(client, _kid(token.header)))
        jti, expires_at = check_client_assertion(self._claims, client.client_id, checks.assertions, now)
        yield from _first_use(replay_key("client:" + client.client_id, jti), expires_at)
        self.used = key_credential_id(key.kid)

    def _platform_token(self, client: Client, checks: Checks, now: int) -> Generator[Need, Any, None]:
        """A trusted issuer's token matched by one of the client's federated
        credentials: the trust is the one whose issuer the token names (among the
        client's), its keys signed it, and its claims meet a credential's subject
        and conditions."""
        token = self._jws
        assert token is not None  # is_plausible
        issuer = self._claims.get("iss")
        for name in dict.fromkeys(federation.trust for federation in client.federations):
            trust: Trust | None = yield TrustOf(name)
            if trust is None or trust.issuer != issuer:
                continue
            yield from _signing_key(token, TrustKeys(trust, _kid(token.header)))
            jti = check_platform_token(self._claims, trust, checks.issuer, checks.assertions, now)
            matched = [f for f in client.federations if f.accepts(trust.name, self._claims)]
            if not matched:
                raise AssertionRefused("no_federation")
            if jti is not None:
                expires_at = self._claims["exp"]  # checked: a number
                yield from _first_use(replay_key("trust:" + trust.name, jti), int(expires_at))
            self.used = matched[0].federation_id
            return
        raise AssertionRefused("issuer")


def _kid(header: Mapping[str, Any]) -> str | None:
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise AssertionRefused("malformed")
    return kid


def _signing_key(token: jws.CompactJWS, need: Need) -> Generator[Need, Any, VerificationKey]:
    """The key that signed `token`, among those `need` answers: the header's alg
    must be asymmetric and the key's own (RFC 8725 §3.1: no none, no HS* with a
    public key as the secret), and the header's kid, when given, the key's."""
    alg = token.header.get("alg")
    alg = FULLY_SPECIFIED.get(alg, alg) if isinstance(alg, str) else alg
    if alg not in ALGORITHMS:
        raise AssertionRefused("algorithm")
    check_type(token.header)
    kid = token.header.get("kid")
    keys: tuple[VerificationKey, ...] | None = yield need
    if keys is None:
        raise AssertionRefused("keys_unavailable")
    candidates = [key for key in keys if key.alg == alg and (kid is None or key.kid == kid)]
    if not candidates:
        raise AssertionRefused("unknown_key")
    for key in candidates:
        # Any valid s: other software signs these, and replay is keyed on the jti.
        if jws.verify_signature(key, alg, token.signing_input, token.signature, low_s_only=False):
            return key
    raise AssertionRefused("signature")


def _first_use(key: str, expires_at: int) -> Generator[Need, Any, None]:
    first: bool | None = yield FirstUse(key, expires_at)
    if first is None:  # the replay cache cannot answer: refused for now, not accepted
        raise TokensmithError(Problem.UNAVAILABLE, "Client assertions cannot be checked for replay right now")
    if not first:
        raise AssertionRefused("replayed")


class ClientAssertion:
    name = "client_assertion"

    def presented(self, authorization: str | None, form: Mapping[str, str]) -> AssertionCredential | None:
        if "client_assertion" not in form and "client_assertion_type" not in form:
            return None
        if authorization is not None or "client_secret" in form:
            raise malformed("Use one client authentication method, not two")
        return AssertionCredential(form.get("client_assertion_type"), form.get("client_assertion"), form.get("client_id"))


class JwtBearerGrant:
    """RFC 7523 §2.1: a platform token as the grant itself (`grant_type` jwt-bearer,
    `assertion`), with the `client_id` of the federated client it is for. The same
    trusts and federated credentials decide it as a federated client_assertion."""

    name = "jwt_bearer_grant"

    def presented(self, authorization: str | None, form: Mapping[str, str]) -> AssertionCredential | None:
        if form.get("grant_type") != JWT_BEARER_GRANT:
            return None
        if authorization is not None or "client_secret" in form or "client_assertion" in form:
            raise malformed("The JWT-bearer grant authenticates by its assertion alone")
        if "client_id" not in form:
            raise malformed("client_id is required with the JWT-bearer grant")
        return AssertionCredential(JWT_BEARER_ASSERTION, form.get("assertion"), form["client_id"], grant=True)


ASSERTION_METHODS = (ClientAssertion(),)
GRANT_METHODS = (JwtBearerGrant(),)  # the token endpoints only
