"""Random identifiers (token ids, request ids) from the operating system's CSPRNG,
fetched in 4 KiB blocks: one `os.urandom` call per block rather than one per
identifier. Each thread draws from its own block, and a forked child starts a new
one, so no two identifiers ever share bytes."""

from __future__ import annotations

import os
import threading

from tokensmith.jose import base64url

BLOCK_BYTES = 4096
_encode = base64url.encode  # one lookup per jti, on the issuing hot path


class _Pool(threading.local):
    def __init__(self) -> None:
        self.block = b""
        self.offset = 0


_pool = _Pool()


def _reset_after_fork() -> None:
    global _pool
    _pool = _Pool()


os.register_at_fork(after_in_child=_reset_after_fork)


def random_bytes(count: int) -> bytes:
    """`count` (at most BLOCK_BYTES) bytes no other call of this process gets."""
    pool = _pool
    start = pool.offset
    end = start + count
    if end > len(pool.block):
        pool.block = os.urandom(BLOCK_BYTES)
        start, end = 0, count
    pool.offset = end
    return pool.block[start:end]


def token_urlsafe(count: int) -> str:
    """As secrets.token_urlsafe(count): base64url of `count` random bytes, unpadded."""
    return _encode(random_bytes(count)).decode("ascii")


def token_hex(count: int) -> str:
    """As secrets.token_hex(count)."""
    return random_bytes(count).hex()
