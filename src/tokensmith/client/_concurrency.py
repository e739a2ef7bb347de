"""Locks that are safe to share between threads and event loops."""

from __future__ import annotations

import asyncio
import threading
import weakref


class LoopLocalLock:
    """An ``asyncio.Lock`` per running event loop.

    ``asyncio.Lock`` binds itself to the loop that first waits on it, so a
    single instance breaks when one object (a verifier, an auth object) is
    used from several loops, e.g. across test cases or worker threads. Loops
    are held weakly, so a closed loop's lock disappears with it.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = asyncio.Lock()
                self._locks[loop] = lock
            return lock
