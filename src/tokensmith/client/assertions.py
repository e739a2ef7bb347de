"""Client authentication by assertion instead of a shared secret.

* :class:`PrivateKeyJWT`: ``private_key_jwt`` (RFC 7523 §2.2, OpenID Connect Core §9,
  draft-ietf-oauth-rfc7523bis): a JWT signed with the client's own private key, made
  fresh for every token request.
* :class:`PlatformToken`: workload identity federation: a JWT the platform issued to
  the workload (a Kubernetes projected service-account token, a CI job's OIDC token),
  read from its file for every token request because the platform rotates it there.

Both are sent as ``client_assertion`` with ``client_assertion_type`` =
``urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` (RFC 7521 §4.2) and
``client_id``. Neither object ever shows a key or an assertion in its repr.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tokensmith.client.errors import ClientAssertionError
from tokensmith.jose.jwk import MIN_RSA_BITS, public_jwk, thumbprint
from tokensmith.jose.jws import PrivateKey, Signer

#: RFC 7523 §2.2: the one client_assertion_type for a JWT.
JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: draft-ietf-oauth-rfc7523bis §5: explicit typing, so a client assertion cannot be
#: passed off as another kind of JWT (or another JWT as one).
CLIENT_AUTHENTICATION_TYP = "client-authentication+jwt"
#: Servers bound how far in the future `exp` may lie (tokensmith: 300 s by default).
MAX_LIFETIME = 300
#: A platform token is a few kilobytes; anything far larger is the wrong file.
MAX_PLATFORM_TOKEN_BYTES = 64 * 1024

_DEFAULT_PORTS = {"http": 80, "https": 443}


def issuer_of(token_url: str) -> str:
    """The origin of the token URL (``scheme://host[:port]``, default port left out):
    tokensmith's issuer identifier when it is served at the root of its host."""
    parts = urlsplit(token_url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("the token URL must be an absolute http(s) URL to derive the audience from it")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal (RFC 3986 §3.2.2)
    port = parts.port
    return f"{scheme}://{host}" if port is None or port == _DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"


def _load_key(key: PrivateKey | bytes | str, password: bytes | None) -> PrivateKey:
    loaded: object = key
    if isinstance(key, (bytes, str)):
        pem = key.encode("ascii", "replace") if isinstance(key, str) else key
        try:
            loaded = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError):
            loaded = None
        if loaded is None:
            # Raised outside the except block: cryptography's error, which may describe
            # the input, is not kept as this one's __context__.
            raise ValueError("key is not a readable PEM private key (wrong password, or not PKCS#8/PKCS#1/SEC1 PEM)")
    if not isinstance(loaded, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
        raise ValueError("key must be an RSA, EC P-256 or Ed25519 private key")
    return loaded


def _default_alg(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256"
    return "EdDSA"


class PrivateKeyJWT:
    """``private_key_jwt``: signs a fresh client assertion for every token request.

    * ``key``: an RSA (≥ 2048 bits), EC P-256 or Ed25519 private key from
      ``cryptography``, or its PEM text (``password`` for an encrypted PEM).
    * ``alg``: RS256, ES256 or EdDSA by key type; ``"PS256"`` for an RSA key on request.
    * ``kid``: the key id registered with the server; default the key's RFC 7638
      thumbprint, which is what :meth:`public_jwk` puts in the JWK to register.
    * ``audience``: the authorization server's issuer identifier (rfc7523bis: the sole
      audience, a string). Default: the token URL's origin, which is tokensmith's
      issuer when it is served at the root of its host; pass it when the issuer has a
      path or differs from the URL the client reaches (a proxy).
    * ``lifetime``: seconds until ``exp`` (1..300, default 60).
    * ``typ``: the JWS ``typ`` header, ``client-authentication+jwt`` (rfc7523bis) by
      default, which tokensmith accepts; ``None`` leaves it out for servers that
      predate the draft.
    """

    auth_method = "private_key_jwt"

    def __init__(
        self,
        key: PrivateKey | bytes | str,
        *,
        kid: str | None = None,
        alg: str | None = None,
        audience: str | None = None,
        lifetime: int = 60,
        typ: str | None = CLIENT_AUTHENTICATION_TYP,
        password: bytes | None = None,
    ) -> None:
        private_key = _load_key(key, password)
        if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits (RFC 7518 §3.3)")
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("EC keys must be on P-256 (ES256)")
        self.alg = alg or _default_alg(private_key)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 0 < lifetime <= MAX_LIFETIME:
            raise ValueError(f"lifetime must be a whole number of seconds from 1 to {MAX_LIFETIME}")
        if kid is not None and not (isinstance(kid, str) and kid):
            raise ValueError("kid must be a non-empty string")
        if audience is not None and not (isinstance(audience, str) and audience):
            raise ValueError("audience must be a non-empty string (the server's issuer identifier)")
        self.kid = kid or thumbprint(private_key.public_key())
        self.audience = audience
        self.lifetime = lifetime
        self.typ = typ
        header: dict[str, str] = {"alg": self.alg, "kid": self.kid}
        if typ:
            header["typ"] = typ
        try:
            # Checks alg against the key type: PS256 with an EC key, RS256 with Ed25519... refused.
            self._signer = Signer(private_key, header)
        except ValueError:
            raise ValueError(f"alg {self.alg!r} cannot be used with this key (RS256/PS256: RSA, ES256: P-256, EdDSA: Ed25519)") from None
        self._public_key = private_key.public_key()

    def __repr__(self) -> str:
        return f"PrivateKeyJWT(alg={self.alg!r}, kid={self.kid!r}, audience={self.audience!r}, lifetime={self.lifetime})"

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK with this ``kid`` and ``alg``: what to register
        (``tokensmith clients create … --jwks-file`` takes ``{"keys": [this]}``)."""
        return {**public_jwk(self._public_key), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def client_assertion(self, client_id: str, token_url: str, now: float) -> str:
        """A new signed assertion for one token request (RFC 7523 §3)."""
        issued_at = int(now)
        claims: dict[str, Any] = {
            "iss": client_id,  # RFC 7523 §3 items 1-2: the client is both issuer and subject
            "sub": client_id,
            "aud": self.audience or issuer_of(token_url),
            # 192 random bits: the server keeps every jti until exp and refuses a second use.
            "jti": secrets.token_urlsafe(24),
            "iat": issued_at,
            "exp": issued_at + self.lifetime,
        }
        return self._signer.sign_claims(claims)


class PlatformToken:
    """A platform-issued JWT read from ``path`` for every token request.

    Kubernetes rewrites a projected service-account token in place well before it
    expires (kubelet renews at 80% of its life), so the file is read each time, never
    cached. Surrounding whitespace is stripped. A missing, unreadable, empty or
    oversized file, or one that does not hold a compact JWT, raises
    :class:`~tokensmith.client.ClientAssertionError`, whose message names the path but
    never the contents.
    """

    auth_method = "federated"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"PlatformToken(path={str(self.path)!r})"

    def client_assertion(self, client_id: str, token_url: str, now: float) -> str:
        # The platform token is presented as it is (RFC 7521 §4.2): who it names and for
        # which audience was settled by the platform when it issued it.
        return self.read()

    def read(self) -> str:
        try:
            with self.path.open("rb") as file:
                raw = file.read(MAX_PLATFORM_TOKEN_BYTES + 1)
        except FileNotFoundError:
            raise ClientAssertionError(f"platform token file {self.path} does not exist") from None
        except IsADirectoryError:
            raise ClientAssertionError(f"platform token file {self.path} is a directory") from None
        except OSError as exc:
            raise ClientAssertionError(f"platform token file {self.path} could not be read: {exc.strerror or type(exc).__name__}") from None
        if len(raw) > MAX_PLATFORM_TOKEN_BYTES:
            raise ClientAssertionError(f"platform token file {self.path} is larger than {MAX_PLATFORM_TOKEN_BYTES} bytes")
        # Checked rather than caught: a UnicodeDecodeError would carry the bytes along
        # as the new exception's __context__.
        if not raw.isascii():
            raise ClientAssertionError(f"platform token file {self.path} does not hold a JWT (not ASCII text)")
        token = raw.decode("ascii").strip()
        if not token:
            raise ClientAssertionError(f"platform token file {self.path} is empty")
        if token.count(".") != 2 or any(c.isspace() for c in token):
            raise ClientAssertionError(f"platform token file {self.path} does not hold a compact JWT")
        return token


ClientAssertion = PrivateKeyJWT | PlatformToken
