"""DPoP proofs (RFC 9449 §4.2) made by hand for the tests, good or forged: any header,
any claim, any signer, so that each refusal is proven by the proof it forbids."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.support.jws import Signer, compact, es256, ps256, rs256
from tests.support.server import Tokensmith
from tokensmith.jose.jwk import public_jwk, thumbprint

_PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def ath(access_token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()


@dataclass
class ProofKey:
    private: _PrivateKey
    alg: str

    @classmethod
    def es256(cls) -> ProofKey:
        return cls(ec.generate_private_key(ec.SECP256R1()), "ES256")

    @classmethod
    def rs256(cls) -> ProofKey:
        return cls(rsa.generate_private_key(65537, 2048), "RS256")

    @classmethod
    def ps256(cls) -> ProofKey:
        return cls(rsa.generate_private_key(65537, 2048), "PS256")

    @classmethod
    def ed25519(cls) -> ProofKey:
        return cls(ed25519.Ed25519PrivateKey.generate(), "EdDSA")

    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private.public_key())

    @property
    def jkt(self) -> str:
        return thumbprint(self.private.public_key())

    @property
    def signer(self) -> Signer:
        key = self.private
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return es256(key)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign
        return rs256(key) if self.alg == "RS256" else ps256(key)

    def proof(
        self,
        htu: str,
        htm: str = "POST",
        *,
        header: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        sign: Signer | None = None,
        **claims: Any,
    ) -> str:
        """A proof for `htm htu` made now with a fresh jti: `claims` override or add
        (iat, nonce, ath…), `drop` removes, `header` overrides (None drops a member),
        `sign` signs instead of this key."""
        body: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": htm, "htu": htu, "iat": int(time.time())}
        body.update(claims)
        for name in drop:
            body.pop(name, None)
        head = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk(), **(header or {})}
        head = {name: value for name, value in head.items() if value is not None}
        return compact(head, body, sign or self.signer)


def serving(workdir: Path, **env: str) -> Iterator[Tokensmith]:
    """A tokensmith with these settings for a module's fixture: started, then stopped."""
    server = Tokensmith(workdir, env_overrides=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


NONCES_ON = {"TOKENSMITH_DPOP_NONCES": "true"}
