"""Server-provided DPoP nonces (RFC 9449 §8) without a store: a nonce is an HMAC of
the current time window's number under a key every node derives from the same
key-encryption key (domain/key_encryption.py), so any node accepts any node's nonce
and nothing is written. The current and the previous window's nonces are accepted:
a nonce stays good between one and two periods, and a proof that carries one was
made no earlier than that (§11.2: nonces bound a proof's age by the server's clock,
not the client's)."""

from __future__ import annotations

import hashlib
import hmac

from tokensmith.jose import base64url

NONCE_BYTES = 16  # 128 bits: never guessed within a window


class DpopNonces:
    __slots__ = ("_cache", "_key", "_period")

    def __init__(self, key: bytes, period: int) -> None:
        if period < 1:
            raise ValueError("the nonce period must be at least a second")
        self._key = key
        self._period = period
        self._cache: tuple[int, str] = (-1, "")  # the last window's number and nonce

    def _of(self, window: int) -> str:
        cached_window, cached = self._cache
        if window == cached_window:
            return cached
        mac = hmac.new(self._key, b"dpop-nonce\x00" + window.to_bytes(8, "big"), hashlib.sha256).digest()
        # base64url is within the NQCHAR a nonce may hold (§8.1).
        nonce = base64url.encode_text(mac[:NONCE_BYTES])
        if window > cached_window:
            self._cache = (window, nonce)
        return nonce

    def current(self, now: float) -> str:
        """The nonce to hand out now (DPoP-Nonce)."""
        return self._of(int(now) // self._period)

    def accepts(self, nonce: str | None, now: float) -> bool:
        """Whether `nonce` is this or the previous window's."""
        if nonce is None:
            return False
        window = int(now) // self._period
        sent = nonce.encode("utf-8", "replace")  # compare_digest takes ASCII str only
        return hmac.compare_digest(sent, self._of(window).encode()) or hmac.compare_digest(sent, self._of(window - 1).encode())
