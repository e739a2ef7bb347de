"""The verified-token cache: a token this process has verified is answered from memory.

Keyed on the token's full text, compared whole by the dictionary: no other string (one
character off, or another spelling of the same token, which the jose layer refuses
anyway) can reach an entry. An entry holds only what verification established (the
verified payload bytes and the key that signed them, not the parsed claims: every
answer is a fresh parse of those bytes, which no caller can change, and an entry is a
handful of objects) and is valid until the token's ``exp``, never past it. What is answered from an entry is
still checked on every call by the verifier (tokensmith.verify.verifier): the key
must still be in the issuer's JWKS, the revocation check (when configured) runs, and
scopes are compared. A least-recently-used entry makes room when either bound, entry
count or bytes, would be passed.

Thread-safe: one lock around each dictionary operation, never held during I/O, so
asyncio tasks use it as they are (nothing in here awaits).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from tokensmith.jose.jwk import VerificationKey

#: Bytes an entry costs besides its token and payload text: object headers, the entry,
#: the LRU node (checked with tracemalloc, tests/verify/test_verify_cache.py).
ENTRY_OVERHEAD_BYTES = 512
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_BYTES = 32 * 1024 * 1024


class CachedToken:
    """What verification established about one token."""

    __slots__ = ("cost", "key", "payload", "valid_until")

    def __init__(self, payload: bytes, key: VerificationKey, valid_until: float, cost: int) -> None:
        self.payload = payload  # the verified payload, parsed again for each answer
        self.key = key  # the key that verified the signature
        self.valid_until = valid_until
        self.cost = cost


class VerifiedTokenCache:
    """Bounded LRU of verified tokens, by entry count and by (estimated) bytes."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_entries <= 0 or max_bytes <= 0:
            raise ValueError("max_entries and max_bytes must be positive")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The estimated bytes held: tokens, payloads and ENTRY_OVERHEAD_BYTES each."""
        return self._bytes

    @staticmethod
    def cost(token: str, payload: bytes) -> int:
        """What an entry is counted as (the verifier writes the same sum inline)."""
        return len(token) + len(payload) + ENTRY_OVERHEAD_BYTES

    def get(self, token: str, now: float) -> CachedToken | None:
        """The live entry for exactly this token text, or None (an expired one is dropped)."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if now >= entry.valid_until:
                del self._entries[token]
                self._bytes -= entry.cost
                return None
            self._entries.move_to_end(token)
            return entry

    def put(self, token: str, entry: CachedToken) -> None:
        if entry.cost > self.max_bytes:
            return
        with self._lock:
            entries = self._entries
            if token in entries:  # verified twice at once (two threads, two tasks)
                return
            while entries and (len(entries) >= self.max_entries or self._bytes + entry.cost > self.max_bytes):
                _, evicted = entries.popitem(last=False)
                self._bytes -= evicted.cost
            entries[token] = entry
            self._bytes += entry.cost

    def discard(self, token: str) -> None:
        with self._lock:
            entry = self._entries.pop(token, None)
            if entry is not None:
                self._bytes -= entry.cost

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
