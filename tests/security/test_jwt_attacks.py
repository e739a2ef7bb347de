"""The JWT attack catalogue against the real server: every forged or doctored token
gets exactly `{"active": false}` from introspection, and `TokenVerifier` (pointed at
the same server, keys by discovery) refuses it with `InvalidToken`.

Each token starts from a real token's header and claims. Attacks on the signature
use an attacker's key; attacks on a header field or a claim are signed with the
server's own key (tests/support/jws.py), so only the check under attack can
refuse them. The two control tests prove that such insider tokens are otherwise
accepted."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import PublicFormat

from tests.e2e.wire import oauth_error
from tests.e2e.other_side.conftest import AUDIENCE, caller, es256_tokensmith, fetch_token, introspect  # noqa: F401 (fixtures)
from tests.support.jws import (
    b64url,
    claims_of,
    compact,
    es256,
    header_of,
    hs256,
    jwk_pem,
    ps256,
    rs256,
    rsa_public_jwk,
    segment,
    server_signing_key,
)
from tests.support.server import Tokensmith
from tokensmith.verify import InvalidToken, TokenVerifier

INACTIVE = b'{"active":false}'
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class Recorder:
    """Another server on loopback, standing by with the attacker's JWKS; it records
    every request so a test can prove nobody fetched anything from it."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.paths: list[str] = []
        recorder = self
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                recorder.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Lab:
    """Everything an attacker (or an insider) builds forgeries from."""

    header: dict[str, Any]  # the real token's header
    claims: dict[str, Any]  # the real token's claims
    signature: str  # the real token's signature segment
    server_jwk: dict[str, Any]  # as published in the JWKS
    insider: Callable[[bytes], bytes]  # signs with the server's private key
    insider_key: rsa.RSAPrivateKey
    attacker: Callable[[bytes], bytes]
    attacker_jwk: dict[str, Any]
    recorder: Recorder
    now: int

    def doctored(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """The real token with some header fields or claims changed, re-signed by the
        server's own key. A claim set to `...` is removed."""
        new_claims = {k: v for k, v in {**self.claims, **claims}.items() if v is not ...}
        return compact(header or self.header, new_claims, self.insider)

    def with_header(self, **fields: Any) -> dict[str, Any]:
        return {k: v for k, v in {**self.header, **fields}.items() if v is not ...}

    def original_signature(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        return f"{segment(header)}.{segment(claims)}.{self.signature}"

    def tampered(self, **claims: Any) -> str:
        """Claims changed, the real token's signature kept."""
        return self.original_signature(self.header, {**self.claims, **claims})


ATTACKS: dict[str, Callable[[Lab], str]] = {
    # RFC 8725 §2.1, §3.1: the algorithm is never the token's choice.
    "alg-none": lambda lab: compact(lab.with_header(alg="none"), lab.claims, None),
    "alg-None": lambda lab: compact(lab.with_header(alg="None"), lab.claims, None),
    "alg-NONE": lambda lab: compact(lab.with_header(alg="NONE"), lab.claims, None),
    "alg-none-keeping-the-original-signature": lambda lab: lab.original_signature(lab.with_header(alg="none"), lab.claims),
    # Key confusion: the RSA public key used as an HMAC secret (RFC 8725 §2.1).
    "hs256-with-public-key-spki-pem": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(jwk_pem(lab.server_jwk, PublicFormat.SubjectPublicKeyInfo))
    ),
    "hs256-with-public-key-pkcs1-pem": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(jwk_pem(lab.server_jwk, PublicFormat.PKCS1))
    ),
    "hs256-with-public-jwk-as-published": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(json.dumps(lab.server_jwk).encode())
    ),
    "hs256-with-public-jwk-compact": lambda lab: compact(
        lab.with_header(alg="HS256"), lab.claims, hs256(json.dumps(lab.server_jwk, separators=(",", ":")).encode())
    ),
    "ps256-with-the-rs256-key": lambda lab: compact(lab.with_header(alg="PS256"), lab.claims, ps256(lab.insider_key)),
    # The signature must cover exactly what was signed.
    "tampered-scope-original-signature": lambda lab: lab.tampered(scope="read edit admin"),
    "tampered-client-original-signature": lambda lab: lab.tampered(sub="someone-else", client_id="someone-else"),
    "tampered-exp-original-signature": lambda lab: lab.tampered(exp=lab.claims["exp"] + 86400 * 365),
    # Keys named by the token itself (RFC 8725 §3.10) must never be trusted or fetched.
    "embedded-jwk-with-the-servers-kid": lambda lab: compact(lab.with_header(jwk=lab.attacker_jwk), lab.claims, lab.attacker),
    "embedded-jwk-with-its-own-kid": lambda lab: compact(
        lab.with_header(jwk=lab.attacker_jwk, kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    "jku-to-another-server": lambda lab: compact(
        lab.with_header(jku=f"{lab.recorder.url}/jwks.json", kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    "jku-with-the-servers-kid": lambda lab: compact(
        lab.with_header(jku=f"{lab.recorder.url}/jwks.json"), lab.claims, lab.attacker
    ),
    "x5u-to-another-server": lambda lab: compact(
        lab.with_header(x5u=f"{lab.recorder.url}/cert.pem", kid=lab.attacker_jwk["kid"]), lab.claims, lab.attacker
    ),
    # kid is a lookup key, nothing more.
    "unknown-kid": lambda lab: compact(lab.with_header(kid="no-such-key"), lab.claims, lab.attacker),
    "path-traversal-kid": lambda lab: compact(lab.with_header(kid="../../../../../../etc/passwd"), lab.claims, lab.attacker),
    "dev-null-kid-hs256-empty-secret": lambda lab: compact(lab.with_header(kid="/dev/null", alg="HS256"), lab.claims, hs256(b"")),
    "sql-injection-kid-hs256": lambda lab: compact(
        lab.with_header(kid="x' UNION SELECT 'secret' --", alg="HS256"), lab.claims, hs256(b"secret")
    ),
    "url-kid": lambda lab: compact(lab.with_header(kid=f"{lab.recorder.url}/key"), lab.claims, lab.attacker),
    "missing-kid": lambda lab: compact(lab.with_header(kid=...), lab.claims, lab.insider),
    "kid-as-number": lambda lab: compact(lab.with_header(kid=7), lab.claims, lab.insider),
    # Signatures that are not signatures.
    "empty-signature": lambda lab: compact(lab.header, lab.claims, None),
    "signature-of-zero-bytes": lambda lab: compact(lab.header, lab.claims, lambda data: b"\x00" * 256),
    "signature-by-the-attackers-key": lambda lab: compact(lab.header, lab.claims, lab.attacker),
    "two-segments-only": lambda lab: f"{segment(lab.header)}.{segment(lab.claims)}",
    # Time (server's own key: only the time check can refuse these).
    "expired-an-hour-ago": lambda lab: lab.doctored(iat=lab.now - 7200, exp=lab.now - 3600),
    "expired-two-minutes-ago": lambda lab: lab.doctored(iat=lab.now - 3600, exp=lab.now - 120),
    "nbf-in-an-hour": lambda lab: lab.doctored(nbf=lab.now + 3600),
    "iat-in-an-hour": lambda lab: lab.doctored(iat=lab.now + 3600, exp=lab.now + 7200),
    "missing-exp": lambda lab: lab.doctored(exp=...),
    "missing-iat": lambda lab: lab.doctored(iat=...),
    # Issuer: exact match only (RFC 9068 §4), no prefix, substring or normalisation.
    "iss-prefix-of-the-real-one": lambda lab: lab.doctored(iss=lab.claims["iss"][:-1]),
    "iss-substring-of-the-real-one": lambda lab: lab.doctored(iss="127.0.0.1"),
    "iss-real-one-as-prefix": lambda lab: lab.doctored(iss=lab.claims["iss"] + "0"),
    "iss-with-trailing-slash": lambda lab: lab.doctored(iss=lab.claims["iss"] + "/"),
    "iss-on-another-host": lambda lab: lab.doctored(iss=lab.claims["iss"] + ".evil.example"),
    "iss-https-instead-of-http": lambda lab: lab.doctored(iss=lab.claims["iss"].replace("http://", "https://")),
    "missing-iss": lambda lab: lab.doctored(iss=...),
    "missing-aud": lambda lab: lab.doctored(aud=...),
    # Header: typ and crit (RFC 9068 §4, RFC 7515 §4.1.11).
    "typ-JWT": lambda lab: lab.doctored(lab.with_header(typ="JWT")),
    "typ-missing": lambda lab: lab.doctored(lab.with_header(typ=...)),
    "typ-application-jwt": lambda lab: lab.doctored(lab.with_header(typ="application/jwt")),
    "crit-unknown-extension": lambda lab: lab.doctored(
        lab.with_header(**{"crit": ["urn:example:must-know"], "urn:example:must-know": True})
    ),
    "crit-naming-a-registered-claim": lambda lab: lab.doctored(lab.with_header(crit=["exp"])),
    # Claims of the wrong type (RFC 7519 §2, §4.1; RFC 9068 §2.2).
    "exp-as-string": lambda lab: lab.doctored(exp=str(lab.claims["exp"])),
    "iat-as-string": lambda lab: lab.doctored(iat=str(lab.claims["iat"])),
    "nbf-as-string": lambda lab: lab.doctored(nbf="0"),
    "iat-as-boolean": lambda lab: lab.doctored(iat=True),
    "exp-as-list": lambda lab: lab.doctored(exp=[lab.claims["exp"]]),
    "exp-beyond-2-to-the-53": lambda lab: lab.doctored(exp=10**30),
    "scope-as-list": lambda lab: lab.doctored(scope=lab.claims["scope"].split(" ")),
    "scope-as-number": lambda lab: lab.doctored(scope=1),
    "aud-as-number": lambda lab: lab.doctored(aud=1),
    "aud-as-empty-list": lambda lab: lab.doctored(aud=[]),
    "aud-list-with-a-number": lambda lab: lab.doctored(aud=[AUDIENCE, 1]),
    "aud-as-object": lambda lab: lab.doctored(aud={"aud": AUDIENCE}),
    "sub-as-number": lambda lab: lab.doctored(sub=1),
    "client-id-as-list": lambda lab: lab.doctored(client_id=[lab.claims["client_id"]]),
    "jti-as-number": lambda lab: lab.doctored(jti=1),
    "iss-as-list": lambda lab: lab.doctored(iss=[lab.claims["iss"]]),
    "payload-is-a-json-array": lambda lab: compact(lab.header, [lab.claims], lab.insider),
    "payload-not-json": lambda lab: compact(lab.header, b"not json", lab.insider),
}
CATALOGUE = [pytest.param(name, id=name) for name in ATTACKS]
NEVER_FETCHED = ["jku-to-another-server", "jku-with-the-servers-kid", "x5u-to-another-server", "url-kid"]


@pytest.fixture(scope="module")
def real_token(tokensmith: Tokensmith, caller: dict[str, Any]) -> str:
    return fetch_token(tokensmith, caller, "read edit")


@pytest.fixture(scope="module")
def introspector(tokensmith: Tokensmith) -> dict[str, Any]:
    return tokensmith.create_client("attack-introspector", scopes=("introspect",))


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def recorder(attacker_key: rsa.RSAPrivateKey) -> Iterator[Recorder]:
    recorder = Recorder({"keys": [rsa_public_jwk(attacker_key.public_key(), "attacker-key")]})
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def lab(tokensmith: Tokensmith, real_token: str, recorder: Recorder, attacker_key: rsa.RSAPrivateKey) -> Lab:
    header = header_of(real_token)
    jwks = httpx.get(f"{tokensmith.url}/.well-known/jwks.json").json()
    server_jwk = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    insider_key = server_signing_key(tokensmith, header["kid"])
    return Lab(
        header=header,
        claims=claims_of(real_token),
        signature=real_token.split(".")[2],
        server_jwk=server_jwk,
        insider=rs256(insider_key),
        insider_key=insider_key,
        attacker=rs256(attacker_key),
        attacker_jwk=rsa_public_jwk(attacker_key.public_key(), "attacker-key"),
        recorder=recorder,
        now=int(time.time()),
    )


@pytest.fixture(scope="module")
def verifier(tokensmith: Tokensmith) -> TokenVerifier:
    """What a resource server would run: discovery from the issuer, nothing injected."""
    return TokenVerifier(tokensmith.issuer, AUDIENCE)


# -- controls: what is not an attack is accepted --------------------------------


def test_control_the_real_token_is_active_and_verifies(tokensmith, real_token, introspector, verifier):
    assert introspect(tokensmith, real_token, introspector).json()["active"] is True
    assert verifier.verify(real_token, scopes="read edit")["client_id"] == "accounts-caller"


def test_control_the_real_claims_resigned_by_the_servers_key_are_accepted(tokensmith, lab, introspector, verifier):
    token = lab.doctored()

    assert introspect(tokensmith, token, introspector).json()["active"] is True
    assert verifier.verify(token)["jti"] == lab.claims["jti"]


# -- the catalogue -----------------------------------------------------------------


@pytest.mark.parametrize("attack", CATALOGUE)
def test_introspection_answers_only_inactive(tokensmith, lab, introspector, attack):
    response = introspect(tokensmith, ATTACKS[attack](lab), introspector)

    assert response.status_code == 200, response.text
    assert response.content == INACTIVE


@pytest.mark.parametrize("attack", CATALOGUE)
def test_verifier_refuses_with_invalid_token(lab, verifier, attack):
    with pytest.raises(InvalidToken):
        verifier.verify(ATTACKS[attack](lab))


def test_key_urls_in_a_token_are_never_fetched(tokensmith, lab, introspector, verifier, recorder):
    for attack in NEVER_FETCHED:
        token = ATTACKS[attack](lab)
        assert introspect(tokensmith, token, introspector).content == INACTIVE
        with pytest.raises(InvalidToken):
            verifier.verify(token)

    assert recorder.paths == []


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


# -- CVE-2022-21449: ECDSA signatures with r = 0 or s = 0 ---------------------------


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
