"""DPoP proofs (RFC 9449 §4) as pure rules, shared by the token endpoints
(exchange/dpop.py) and the resource server's verifier (tokensmith.verify): parse the
`DPoP` header's JWT and check it for one request (§4.3). What needs a store (the
jti's single use, §11.1) or a secret (server nonces, §8: domain/dpop_nonces.py) is
the caller's, with what `check_proof` answers.

Each refusal names a reason from a fixed set (a metric label) and a message that
names the rule, never the proof's contents."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tokensmith.domain.client_keys import PRIVATE_MEMBERS
from tokensmith.jose import base64url, jws
from tokensmith.jose.jwk import ALGORITHMS, FULLY_SPECIFIED, UnusableKey, VerificationKey, key_algorithms, public_key_from_jwk, thumbprint

PROOF_TYPE = "dpop+jwt"  # RFC 9449 §4.2
# Room for an RSA-4096 jwk and signature; a longer header is no proof of ours.
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
DEFAULT_PORTS = {"http": 80, "https": 443}


class ProofRefused(Exception):
    """A proof that fails a check: `reason` labels metrics, `message` is safe to send."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ProofRules:
    """How a checker accepts proofs: the algorithms, and how old a proof may be."""

    algorithms: frozenset[str] = ALGORITHMS
    # A proof is accepted from iat - leeway (a client clock ahead) to iat + window
    # (§11.1: "a relatively short period"), and its jti remembered as long.
    iat_window: int = 60
    leeway: int = 5


@dataclass(frozen=True, slots=True)
class Proof:
    """A proof that passed every check of `check_proof`."""

    jkt: str  # RFC 7638 thumbprint of its jwk (the token's cnf.jkt, RFC 9449 §6.1)
    jti: str
    expires_at: int  # its jti is single use until then (§11.1)
    nonce: str | None  # as sent; the caller checks it against its own (§8)


def normalised_url(url: str) -> str | None:
    """`url` in the form two equal URLs share (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2
    and §6.2.3): scheme and host lower case, the scheme's default port dropped, an
    empty path "/", percent-escapes upper case; no query or fragment. None for what
    is no absolute http(s) URL (or carries userinfo: never an endpoint's URL)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    host = parts.hostname  # lower case already
    if ":" in host:
        host = f"[{host}]"
    authority = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _PERCENT.sub(lambda escape: escape.group(0).upper(), parts.path) or "/"
    return f"{scheme}://{authority}{path}"


_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")


def access_token_hash(access_token: str) -> str:
    """The `ath` a proof carries for an access token (RFC 9449 §4.2)."""
    return base64url.encode_text(hashlib.sha256(access_token.encode("ascii")).digest())


class KeyMemo:
    """Proof headers already judged, with their key and thumbprint: a client signs every
    proof under one header (typ, alg, jwk), so its key is parsed (a point on the curve
    checked) and hashed once, not per request. Bounded; emptied when full, so made-up
    headers cannot grow it. A plain dict: one entry per key in use."""

    __slots__ = ("_entries", "_size")

    def __init__(self, size: int = 4096) -> None:
        self._entries: dict[str, tuple[VerificationKey, str]] = {}
        self._size = size

    def get(self, segment: str) -> tuple[VerificationKey, str] | None:
        return self._entries.get(segment)

    def put(self, segment: str, known: tuple[VerificationKey, str]) -> None:
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[segment] = known


def check_proof(
    value: str, *, method: str, url: str, now: int, rules: ProofRules, access_token: str | None = None, memo: KeyMemo | None = None
) -> Proof:
    """The proof `value` (a DPoP header) for a `method` request to `url` (already
    normalised: `normalised_url`), at `now`; with `access_token`, a resource
    request's proof, whose `ath` must be that token's hash (§7). ProofRefused
    otherwise. Not checked here: the jti's first use and the nonce (the caller's).
    `memo` remembers the headers judged (their algorithm check included: one memo per
    `rules`)."""
    if len(value) > MAX_PROOF_LENGTH:
        raise ProofRefused("malformed", "The DPoP proof is too long")
    try:
        token = jws.parse(value)
    except jws.MalformedJWS:
        raise ProofRefused("malformed", "The DPoP proof is not a signed JWT") from None
    segment = value[: value.index(".")]
    known = memo.get(segment) if memo is not None else None
    if known is None:
        header = token.header
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != PROOF_TYPE:  # §4.3 item 4
            raise ProofRefused("type", "The DPoP proof's typ must be dpop+jwt")
        key = _proof_key(header, rules)
        known = (key, thumbprint(key.public_key))
        if memo is not None:
            memo.put(segment, known)
    key, jkt = known
    alg = key.alg
    # Any valid s: other software makes proofs, and single use is keyed on the jti.
    if not jws.verify_signature(key, alg, token.signing_input, token.signature, low_s_only=False):  # §4.3 item 6
        raise ProofRefused("signature", "The DPoP proof's signature does not verify with its jwk")
    try:
        claims = token.payload_object()
    except jws.MalformedJWS:
        raise ProofRefused("malformed", "The DPoP proof's claims are not a JSON object") from None
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise ProofRefused("jti", "The DPoP proof needs a jti")
    if claims.get("htm") != method:  # §4.3 item 8; methods are case-sensitive (RFC 9110 §9.1)
        raise ProofRefused("htm", f"The DPoP proof's htm must be {method}")
    htu = claims.get("htu")
    if not isinstance(htu, str) or normalised_url(htu) != url:  # §4.3 item 9
        raise ProofRefused("htu", "The DPoP proof's htu is not this endpoint's URL")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise ProofRefused("iat", "The DPoP proof needs an iat")
    issued = int(iat)
    if issued > now + rules.leeway:  # §4.3 item 11
        raise ProofRefused("iat", "The DPoP proof is issued in the future")
    if issued < now - rules.iat_window - rules.leeway:
        raise ProofRefused("iat", "The DPoP proof is too old")
    if access_token is not None:  # §4.3 item 12, §7
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(ath.encode("utf-8", "replace"), access_token_hash(access_token).encode()):
            raise ProofRefused("ath", "The DPoP proof's ath is not this access token's hash")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise ProofRefused("nonce", "The DPoP proof's nonce must be a string")
    return Proof(jkt, jti, issued + rules.iat_window + rules.leeway + 1, nonce)


def _proof_key(header: Mapping[str, Any], rules: ProofRules) -> VerificationKey:
    """The proof's own public key (§4.2 `jwk`), pinned to its alg: asymmetric only,
    of the key's own type (RFC 8725 §3.1), never a private key (§4.3 item 7)."""
    alg = header.get("alg")
    alg = FULLY_SPECIFIED.get(alg, alg) if isinstance(alg, str) else None
    if alg not in rules.algorithms:  # none, HS256 and anything unknown land here (§4.3 item 5)
        raise ProofRefused("algorithm", "The DPoP proof's alg is not an accepted asymmetric algorithm")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise ProofRefused("key", "The DPoP proof needs a jwk")
    if PRIVATE_MEMBERS & set(jwk):
        raise ProofRefused("private_key", "The DPoP proof's jwk must be a public key")
    try:
        public = public_key_from_jwk(jwk)
    except UnusableKey:
        raise ProofRefused("key", "The DPoP proof's jwk is not a usable public key") from None
    if alg not in key_algorithms(public):
        raise ProofRefused("algorithm", "The DPoP proof's alg does not match its jwk")
    return VerificationKey("", alg, public)


REASONS = frozenset({"malformed", "type", "algorithm", "key", "private_key", "signature", "jti", "htm", "htu", "iat", "ath", "nonce", "replayed"})
