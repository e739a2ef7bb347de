"""Token reuse: for a client that has it on (off by default), the token endpoints hand
back the client's last token for the same scopes and audience, instead of signing a
new one, while that token still has more than `TOKENSMITH_TOKEN_REUSE_THRESHOLD` of
its lifetime left (docs/configuration.md, "Token reuse").

The cache is in-process (one per worker process) and holds only tokens this process
signed. A token is handed back only while:

- it was signed for the same client, granted scopes (in the same order) and audience;
- the client's custom claims and lifetime are the ones it was built from, and the key
  that signed it is still the one signing (after a rotation every client gets a new
  token);
- more than the threshold of its lifetime (exp - iat) is left;
- it is not known to be revoked: a revocation this process made or heard of through
  Redis counts at once; otherwise the store's revocation list is asked again once the
  entry is `recheck_seconds` old (TOKENSMITH_CLIENT_CACHE_SECONDS, the same bound as
  any other change made elsewhere). When the store does not answer, a new token is
  signed instead.

Every response that carries the token carries its `jti`: revoking it revokes all of
them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.domain.clients import Client
from tokensmith.domain.lifetimes import Lifetime
from tokensmith.domain.tokens import IssuedToken, is_reusable
from tokensmith.store.availability import StoreGate, StoreUnavailable
from tokensmith.store.cache import RevokedTokens

ReuseKey = tuple[str, tuple[str, ...], str]


class _Entry:
    __slots__ = ("checked_at", "claims", "kid", "lifetime", "token")

    def __init__(self, token: IssuedToken, kid: str, claims: Mapping[str, Any], lifetime: Lifetime, checked_at: float) -> None:
        self.token = token
        self.kid = kid
        self.claims = claims
        self.lifetime = lifetime
        self.checked_at = checked_at


class TokenReuse:
    def __init__(
        self,
        threshold: float,
        *,
        is_revoked: Callable[[str], bool],
        revoked: RevokedTokens,
        gate: StoreGate,
        recheck_seconds: float,
        capacity: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self._is_revoked = is_revoked
        self._revoked = revoked
        self._gate = gate
        self._recheck = recheck_seconds
        self._capacity = capacity
        self._clock = clock
        self._entries: dict[ReuseKey, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def find(self, client: Client, scopes: tuple[str, ...], audience: str, kid: str, now: int) -> IssuedToken | None:
        """The token to hand back for this grant, or None (sign a new one)."""
        key = (client.client_id, scopes, audience)
        entry = self._entries.get(key)
        if entry is None:
            return None
        token = entry.token
        if (
            entry.kid != kid
            or not (entry.claims is client.claims or entry.claims == client.claims)
            or not (entry.lifetime is client.lifetime or entry.lifetime == client.lifetime)
            or not is_reusable(token, now, self.threshold)
            or token.jti in self._revoked
            # `clients revoke-tokens` since it was signed: introspection refuses it.
            or (client.tokens_not_before is not None and token.issued_at < client.tokens_not_before)
        ):
            self._drop(key, entry)
            return None
        if self._clock() - entry.checked_at >= self._recheck:
            try:
                revoked = await self._gate.call("revocation check", self._is_revoked, token.jti)
            except StoreUnavailable:
                return None  # cannot tell: a new token is always safe
            if revoked:
                self._revoked.add(token.jti, token.expires_at)
                self._drop(key, entry)
                return None
            entry.checked_at = self._clock()
        return token

    def keep(self, client: Client, scopes: tuple[str, ...], audience: str, kid: str, token: IssuedToken) -> None:
        """Remember a token just signed for this grant."""
        key = (client.client_id, scopes, audience)
        entries = self._entries
        entries.pop(key, None)  # re-inserted last: the oldest entries go first
        entries[key] = _Entry(token, kid, client.claims, client.lifetime, self._clock())
        if len(entries) > self._capacity:
            del entries[next(iter(entries))]

    def forget_client(self, client_id: str) -> None:
        for key in [key for key in self._entries if key[0] == client_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def _drop(self, key: ReuseKey, entry: _Entry) -> None:
        if self._entries.get(key) is entry:
            del self._entries[key]
