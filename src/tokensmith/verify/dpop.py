"""DPoP-bound tokens at the resource server (RFC 9449 §7): a token whose ``cnf``
names a key thumbprint (``jkt``) is accepted only as ``Authorization: DPoP <token>``
with a proof for this very request: signed by that key, ``htm``/``htu`` this request's
method and URL, ``ath`` the token's hash, fresh (``iat``), its ``jti`` not seen before
(a bounded in-memory cache, per verifier), and, when nonces are on, the nonce this
resource handed out (§9). The proof rules are the server's own (domain/dpop.py).

A bound token sent as Bearer is refused (§7.2: else a stolen token works as bearer),
and so is an unbound one sent as DPoP. Refusals challenge with ``DPoP`` (§7.1)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.domain.dpop import KeyMemo, ProofRefused, ProofRules, check_proof, normalised_url
from tokensmith.domain.dpop_nonces import DpopNonces
from tokensmith.verify.bearer import DPOP_ALGORITHMS
from tokensmith.verify.errors import DPoPRequired, InvalidDPoPProof, InvalidRequest, InvalidToken, UseDPoPNonce, VerifierUnavailable

DEFAULT_REPLAY_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class Presentation:
    """How a request presented its token: the scheme, the DPoP header (None without
    one), and the request's method and URL (as the proof's htm and htu name them)."""

    scheme: str  # "Bearer" or "DPoP"
    proof: str | None
    method: str
    url: str


def http_presentation(scheme: str, proofs: list[str], method: str, url: str) -> Presentation:
    """The presentation of a request whose DPoP header values are `proofs` (two are
    refused: §4.3 item 1; a comma-joined pair too, no proof has a comma)."""
    if len(proofs) > 1 or (proofs and "," in proofs[0]):
        raise InvalidRequest("the request carries more than one DPoP header")
    return Presentation(scheme, proofs[0] if proofs else None, method, url)


def asgi_presentation(scope: Mapping[str, Any], scheme: str, origin: str | None = None) -> Presentation:
    """The presentation of an ASGI request: its DPoP header and its URL from the
    scope (or from `origin`, the resource's public scheme://host[:port], behind a
    proxy that rewrites the Host)."""
    headers = scope.get("headers", ())
    proofs = [value.decode("latin-1") for name, value in headers if name.lower() == b"dpop"]
    path = (scope.get("root_path") or "") + (scope.get("path") or "/")
    if origin is None:
        host = next((value.decode("latin-1") for name, value in headers if name.lower() == b"host"), None)
        if host is None:
            server = scope.get("server") or ("localhost", None)
            host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
        origin = f"{scope.get('scheme', 'http')}://{host}"
    return http_presentation(scheme, proofs, str(scope.get("method", "GET")), origin.rstrip("/") + path)


class _SeenProofs:
    """jtis of proofs accepted, until their window ends. Full of live ones, it fails
    closed (503): forgetting one would let that proof be replayed."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, key: str, expires_at: int, now: float) -> bool:
        with self._lock:
            # Insertion order is nearly expiry order: every window is as long.
            while self._seen:
                oldest, expiry = next(iter(self._seen.items()))
                if expiry >= now:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            if len(self._seen) >= self._capacity:
                raise VerifierUnavailable("too many DPoP proofs in flight to check them for replay")
            self._seen[key] = expires_at
            return True


class DPoPChecker:
    """The resource server's DPoP rules: proof age (``iat_window``, ``leeway``), the
    replay memory, and server nonces when given a ``nonce_key`` (32 random bytes of
    this resource's own; nonces rotate every ``nonce_seconds``)."""

    def __init__(
        self,
        *,
        iat_window: int = 60,
        leeway: int = 5,
        algorithms: Iterable[str] = DPOP_ALGORITHMS,
        replay_entries: int = DEFAULT_REPLAY_ENTRIES,
        nonce_key: bytes | None = None,
        nonce_seconds: int = 300,
    ) -> None:
        self.algorithms = tuple(sorted(set(algorithms)))
        self.rules = ProofRules(frozenset(self.algorithms), iat_window, leeway)
        self._seen = _SeenProofs(replay_entries)
        self._memo = KeyMemo()
        self.nonces = DpopNonces(nonce_key, nonce_seconds) if nonce_key is not None else None

    def check(self, claims: Mapping[str, Any], token: str, presentation: Presentation | None, now: float | None = None) -> None:
        """Whether the token's presentation meets its binding (nothing for a bearer
        token presented as Bearer)."""
        cnf = claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
        scheme = presentation.scheme if presentation is not None else "Bearer"
        if jkt is None:
            if scheme == "DPoP":
                raise InvalidToken("the token is not DPoP-bound: present it as Bearer")
            return
        if presentation is None or scheme != "DPoP":
            raise InvalidDPoPProof("the token is DPoP-bound: present it as 'Authorization: DPoP' with a DPoP proof")
        if presentation.proof is None:
            raise InvalidDPoPProof("a DPoP proof is required with this token")
        url = normalised_url(presentation.url)
        if url is None:
            raise InvalidDPoPProof("the request URL cannot be compared with the proof's htu")
        moment = time.time() if now is None else now
        try:
            proof = check_proof(presentation.proof, method=presentation.method, url=url, now=int(moment), rules=self.rules, access_token=token, memo=self._memo)
        except ProofRefused as refused:
            raise InvalidDPoPProof(refused.message) from None
        if proof.jkt != jkt:
            raise InvalidDPoPProof("the DPoP proof is not signed by the token's key")
        if self.nonces is not None and not self.nonces.accepts(proof.nonce, moment):
            raise UseDPoPNonce("the DPoP proof must carry this resource's nonce", self.nonces.current(moment))
        if not self._seen.first_use(f"{jkt}\x00{proof.jti}", proof.expires_at, moment):
            raise InvalidDPoPProof("the DPoP proof has been used before")


def require_dpop(claims: Mapping[str, Any]) -> None:
    """For a resource that takes DPoP-bound tokens only: the token's own binding was
    checked by the verifier; here a token without one is refused."""
    cnf = claims.get("cnf")
    if not (isinstance(cnf, dict) and isinstance(cnf.get("jkt"), str)):
        raise DPoPRequired("this resource takes DPoP-bound tokens only")
