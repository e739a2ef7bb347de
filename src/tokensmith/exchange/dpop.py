"""A token request's DPoP proof (RFC 9449 §5): checked by the rules of domain/dpop.py
against this endpoint's URL, its nonce against the server's (§8, when nonces are
on), its jti once across every node (§11.1, the replay cache the client assertions
use), and the token it gets bound to the proof's key (`cnf.jkt`, `token_type` DPoP).

Consulted from exchange/sender_constraint.py only when the request carries a DPoP
header or the client's tokens must be DPoP-bound."""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tokensmith.domain.assertions import replay_key
from tokensmith.domain.clients import Client
from tokensmith.domain.dpop import KeyMemo, ProofRefused, ProofRules, check_proof, normalised_url
from tokensmith.domain.dpop_nonces import DpopNonces
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.sender_constraints import Confirmation, TokenBinding
from tokensmith.exchange.needs import FirstUse, Need

if TYPE_CHECKING:
    from tokensmith.exchange.flow import TokenRequest

NONCE_HEADER = "dpop-nonce"


@dataclass(frozen=True, slots=True)
class DpopChecks:
    """One node's: the rules, each token endpoint's URL as a proof's htu must name it
    (from the issuer, never the Host header: §4.3 item 9), and the nonces if on."""

    rules: ProofRules
    urls: Mapping[str, str]  # endpoint path → normalised URL
    nonces: DpopNonces | None = None
    memo: KeyMemo = field(default_factory=KeyMemo)  # the proof keys of the clients seen

    @classmethod
    def for_issuer(cls, issuer: str, paths: tuple[str, ...], rules: ProofRules, nonces: DpopNonces | None) -> DpopChecks:
        urls = {}
        for path in paths:
            url = normalised_url(issuer + path)
            if url is None:
                raise ValueError(f"the issuer {issuer!r} gives no URL for {path}")
            urls[path] = url
        return cls(rules, urls, nonces)

    def nonce_header(self, now: float) -> dict[str, str] | None:
        return {NONCE_HEADER: self.nonces.current(now)} if self.nonces is not None else None


def dpop_confirmation(request: TokenRequest, client: Client, checks: DpopChecks | None) -> Generator[Need, Any, Confirmation | None]:
    """The confirmation of the request's DPoP proof, or None without one (for a
    client whose tokens need not be bound). Refused: 400 invalid_dpop_proof, or
    use_dpop_nonce with a fresh DPoP-Nonce."""
    value = request.head.dpop
    if value is None:
        if client.token_binding is TokenBinding.DPOP:
            # §5.2 (dpop_bound_access_tokens): no proof, no token.
            raise TokensmithError(Problem.INVALID_DPOP_PROOF, "This client's tokens must be DPoP-bound: send a DPoP proof")
        return None
    if checks is None or request.path not in checks.urls:
        raise TokensmithError(Problem.INVALID_DPOP_PROOF, "DPoP proofs are not accepted here")
    now = time.time()
    try:
        proof = check_proof(
            value.decode("latin-1"), method="POST", url=checks.urls[request.path], now=int(now), rules=checks.rules, memo=checks.memo
        )
    except ProofRefused as refused:
        raise TokensmithError(Problem.INVALID_DPOP_PROOF, refused.message, headers=checks.nonce_header(now)) from None
    nonces = checks.nonces
    if nonces is not None and not nonces.accepts(proof.nonce, now):
        # §8: missing or stale, answered with the one to use (also when stale: §8.2).
        raise TokensmithError(Problem.USE_DPOP_NONCE, headers=checks.nonce_header(now))
    first: bool | None = yield FirstUse(replay_key("dpop:" + proof.jkt, proof.jti), proof.expires_at)
    if first is None:  # the replay cache cannot answer: refused for now, not accepted
        raise TokensmithError(Problem.UNAVAILABLE, "DPoP proofs cannot be checked for replay right now", retry_after=1)
    if not first:
        raise TokensmithError(Problem.INVALID_DPOP_PROOF, "The DPoP proof has been used before", headers=checks.nonce_header(now))
    return Confirmation({"jkt": proof.jkt}, "DPoP")
