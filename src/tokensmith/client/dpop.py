"""DPoP (RFC 9449) on the client side: a key pair held by this process, a fresh proof
for each request it makes (the token request, and every call with a DPoP-bound
token, then with `ath`), and the nonces servers hand out (`DPoP-Nonce`, §8), kept
per origin and put in the next proof to that origin.

Used through ``ClientCredentialsAuth(..., dpop=DPoPKey())``: the token comes back
bound to the key (``token_type`` DPoP) and is sent as ``Authorization: DPoP …`` with
its proof. The private key never leaves the object (not in its repr either)."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tokensmith.client.assertions import _default_alg, _load_key
from tokensmith.jose import base64url
from tokensmith.jose.jwk import MIN_RSA_BITS, public_jwk, thumbprint
from tokensmith.jose.jws import PrivateKey, Signer

PROOF_TYPE = "dpop+jwt"
NONCE_HEADER = "dpop-nonce"
SEED_NONCE_CODE = b'"errorCode":"240119"'  # the seed endpoint's use_dpop_nonce (docs/errors.md)
_MAX_ORIGINS = 256  # nonces remembered: one per server this process talks to


def _target(url: str) -> tuple[str, str]:
    """The proof's htu (the URL without query and fragment, §4.2) and the origin the
    nonce belongs to."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", "")), f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class DPoPKey:
    """The key DPoP proofs are signed with: generated (ES256, P-256) unless given.

    * ``key``: an EC P-256, RSA (≥ 2048 bits) or Ed25519 private key from
      ``cryptography``, or its PEM text (``password`` for an encrypted PEM).
    * ``alg``: ES256, RS256 or EdDSA by key type; ``"PS256"`` for an RSA key on request.
    """

    def __init__(self, key: PrivateKey | bytes | str | None = None, *, alg: str | None = None, password: bytes | None = None) -> None:
        private_key = ec.generate_private_key(ec.SECP256R1()) if key is None else _load_key(key, password)
        if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits (RFC 7518 §3.3)")
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("EC keys must be on P-256 (ES256)")
        self.alg = alg or _default_alg(private_key)
        if self.alg not in ("ES256", "RS256", "PS256", "EdDSA"):
            raise ValueError("alg must be ES256, RS256, PS256 or EdDSA: DPoP proofs are signed with asymmetric keys")
        public = private_key.public_key()
        #: RFC 7638 thumbprint of the public key: the bound token's cnf.jkt.
        self.jkt = thumbprint(public)
        self.public_jwk: dict[str, str] = public_jwk(public)
        try:
            self._signer = Signer(private_key, {"typ": PROOF_TYPE, "alg": self.alg, "jwk": self.public_jwk})
        except ValueError:
            raise ValueError(f"alg {self.alg!r} cannot be used with this key (RS256/PS256: RSA, ES256: P-256, EdDSA: Ed25519)") from None
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DPoPKey(alg={self.alg!r}, jkt={self.jkt!r})"

    def proof(self, method: str, url: str, *, now: float, access_token: str | None = None) -> str:
        """A fresh proof for `method url` (RFC 9449 §4.2): a new jti, iat `now`, the
        origin's last nonce if it sent one, and `ath` for a request with a token."""
        htu, origin = _target(url)
        claims: dict[str, object] = {"jti": secrets.token_urlsafe(16), "htm": method.upper(), "htu": htu, "iat": int(now)}
        nonce = self._nonces.get(origin)
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = base64url.encode_text(hashlib.sha256(access_token.encode("ascii")).digest())
        return self._signer.sign_claims(claims)

    def note_nonce(self, url: str, headers: Mapping[str, str]) -> str | None:
        """Keeps the nonce a response from `url` carries (§8.2: any response may), and
        answers it (None without one)."""
        nonce = headers.get(NONCE_HEADER)
        if not nonce:
            return None
        origin = _target(url)[1]
        with self._lock:
            if origin not in self._nonces and len(self._nonces) >= _MAX_ORIGINS:
                self._nonces.pop(next(iter(self._nonces)))
            self._nonces[origin] = nonce
        return nonce


def asks_for_nonce(status: int, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether an answer is a server's demand for a nonce (§8: 400 use_dpop_nonce from
    an authorization server, §9: 401 with a DPoP challenge naming it from a resource
    server) that came with one to use."""
    if not headers.get(NONCE_HEADER):
        return False
    if status == 401:
        return "use_dpop_nonce" in headers.get("www-authenticate", "")
    # RFC 6749 format, or the seed endpoint's list with its code for the same refusal.
    return status == 400 and (b'"use_dpop_nonce"' in body or SEED_NONCE_CODE in body)
