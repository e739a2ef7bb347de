"""Fixtures for verifier tests: a real HTTP issuer stub and token minting helpers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.support.clock import FakeClock
from tests.support.jws import P256_ORDER, b64url, with_low_s
from tests.support.stub_server import Recorded, Response, StubHTTPServer
from tokensmith.verify import TokenVerifier

AUDIENCE = "https://api.example.test"


# -- HTTP stub -----------------------------------------------------------------


Handler = Callable[[Recorded], tuple[int, Any]]


class StubServer(StubHTTPServer):
    """A real HTTP server on 127.0.0.1:<free port>, answering JSON from a route table."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        super().__init__()

    def route(self, method: str, path: str, handler: Handler) -> None:
        with self._lock:
            self.routes[(method, path)] = handler

    def respond(self, request: Recorded) -> Response:
        with self._lock:
            route = self.routes.get((request.method, request.path))
        status, payload = route(request) if route else (404, {"error": "not_found"})
        return status, payload, {}


@pytest.fixture
def stub_server() -> Iterator[Callable[[], StubServer]]:
    servers: list[StubServer] = []

    def start() -> StubServer:
        server = StubServer()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- keys and tokens -------------------------------------------------------------


def _int_b64(value: int, length: int | None = None) -> str:
    length = length or (value.bit_length() + 7) // 8
    return b64url(value.to_bytes(length, "big"))


def public_jwk(private_key: Any, kid: str, alg: str | None = None) -> dict[str, Any]:
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        jwk: dict[str, Any] = {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}
    elif isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32)}
    else:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    jwk |= {"kid": kid, "use": "sig"}
    if alg:
        jwk["alg"] = alg
    return jwk


def raw_token(header: dict[str, Any], payload: dict[str, Any] | bytes, signature: bytes) -> str:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return f"{b64url(json.dumps(header).encode())}.{b64url(body)}.{b64url(signature)}"


def sign_raw(header: dict[str, Any], payload: dict[str, Any] | bytes, private_key: Any, alg: str) -> str:
    """Sign exactly the given header/payload (no defaults added), for crafted tokens."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(body)}".encode()
    if alg == "RS256":
        signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        signature = private_key.sign(signing_input, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + min(s, P256_ORDER - s).to_bytes(32, "big")  # low s
    elif alg == "EdDSA":
        signature = private_key.sign(signing_input)
    else:
        raise ValueError(alg)
    return f"{signing_input.decode()}.{b64url(signature)}"


@dataclass
class KeyPair:
    kid: str
    alg: str
    private: Any
    jwk: dict[str, Any]


@pytest.fixture(scope="session")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


_DROP = object()


@dataclass
class Issuer:
    """The issuer side: metadata + JWKS served over real HTTP, and token minting.

    Tests reach every helper through this fixture object, so no test module
    imports from conftest.
    """

    DROP = _DROP  # pass as a claim/header value to leave that member out
    audience = AUDIENCE
    b64url = staticmethod(b64url)
    raw_token = staticmethod(raw_token)
    sign_raw = staticmethod(sign_raw)
    public_jwk = staticmethod(public_jwk)

    server: StubServer
    keys: dict[str, KeyPair] = field(default_factory=dict)
    published: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def jwks_url(self) -> str:
        return self.url + "/.well-known/jwks.json"

    def add_key(self, kid: str, alg: str, private: Any, *, publish: bool = True, jwk_alg: bool = True) -> KeyPair:
        pair = KeyPair(kid, alg, private, public_jwk(private, kid, alg if jwk_alg else None))
        self.keys[kid] = pair
        if publish:
            self.published.append(pair.jwk)
        return pair

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": "client-1",
            "aud": AUDIENCE,
            "client_id": "client-1",
            "scope": "orders:read orders:write",
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "firstVisionId": "fv-42",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not _DROP}

    def mint(self, kid: str = "rsa-1", *, headers: dict[str, Any] | None = None, **claim_overrides: Any) -> str:
        """A well-formed token minted with PyJWT (an implementation independent of ours);
        ES256 in its low-s spelling, as tokensmith signs it (jose/jws.py)."""
        pair = self.keys[kid]
        all_headers = {"kid": kid, "typ": "at+jwt", **(headers or {})}
        token = jwt.encode(self.claims(**claim_overrides), pair.private, algorithm=pair.alg, headers=all_headers)
        return with_low_s(token) if pair.alg == "ES256" else token

    def header(self, key: str = "rsa-1", **extra: Any) -> dict[str, Any]:
        """Header for the issuer key ``key``; ``extra`` overrides members (kid too)."""
        header = {"alg": self.keys[key].alg, "typ": "at+jwt", "kid": key, **extra}
        return {k: v for k, v in header.items() if v is not _DROP}

    def verifier(self, **kwargs: Any) -> TokenVerifier:
        return TokenVerifier(self.url, AUDIENCE, **kwargs)


@pytest.fixture
def issuer(stub_server: Callable[[], StubServer], rsa_private: rsa.RSAPrivateKey) -> Issuer:
    server = stub_server()
    issuer = Issuer(server)
    issuer.add_key("rsa-1", "RS256", rsa_private)
    issuer.add_key("rsa-pss", "PS256", rsa_private)
    issuer.add_key("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1()))
    issuer.add_key("ed-1", "EdDSA", ed25519.Ed25519PrivateKey.generate())
    server.route(
        "GET",
        "/.well-known/oauth-authorization-server",
        lambda _r: (
            200,
            {
                "issuer": issuer.url,
                "jwks_uri": issuer.jwks_url,
                "token_endpoint": issuer.url + "/oauth2/token",
                "introspection_endpoint": issuer.url + "/oauth2/introspect",
                "revocation_endpoint": issuer.url + "/oauth2/revoke",
            },
        ),
    )
    server.route("GET", "/.well-known/jwks.json", lambda _r: (200, {"keys": list(issuer.published)}))
    return issuer


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting at the real current time (usable for claims and caches)."""
    return FakeClock(time.time())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
