"""A TCP forwarder that a test puts between a node and a service (PostgreSQL,
Redis) and then breaks, to see what the node does when the service goes away.

Two ways to break it:
- `cut()`: the service is gone. Open connections are reset, new ones are accepted
  and reset at once (what a crashed server or a closed port looks like).
- `blackhole()`: the network is gone. Open connections stop carrying data and new
  ones are accepted but never answered: nothing fails, everything just waits (what a
  partition or a dead host looks like, the harder case for timeouts).
`restore()` ends either: the connections held during the outage are reset, and new
ones are forwarded again.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

_LINGER_RESET = struct.pack("ii", 1, 0)  # close with RST, not FIN


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class TcpForwarder:
    FORWARD, CUT, BLACKHOLE = "forward", "cut", "blackhole"

    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((listen_host, 0))
        self._listener.settimeout(0.1)
        self.host, self.port = self._listener.getsockname()[:2]
        self._mode = self.FORWARD
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._held: set[socket.socket] = set()  # connections made during a black hole
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"forwarder:{self.port}", daemon=True)
        self._thread.start()

    @property
    def mode(self) -> str:
        return self._mode

    def cut(self) -> None:
        with self._lock:
            self._mode = self.CUT
            doomed = list(self._open | self._held)
            self._open.clear()
            self._held.clear()
        for sock in doomed:
            _reset(sock)

    def blackhole(self) -> None:
        with self._lock:
            self._mode = self.BLACKHOLE

    def restore(self) -> None:
        with self._lock:
            previous, self._mode = self._mode, self.FORWARD
            doomed = list(self._held)
            self._held.clear()
            if previous == self.BLACKHOLE:
                # Frozen connections have lost data in flight: end them.
                doomed += list(self._open)
                self._open.clear()
        for sock in doomed:
            _reset(sock)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self.cut()
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                downstream, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            mode = self._mode
            if mode == self.CUT:
                _reset(downstream)
                continue
            if mode == self.BLACKHOLE:
                with self._lock:
                    self._held.add(downstream)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                _reset(downstream)
                continue
            upstream.settimeout(None)
            downstream.settimeout(None)
            with self._lock:
                self._open.update((downstream, upstream))
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self._mode == self.BLACKHOLE and not self._stopped.is_set():
                    time.sleep(0.02)  # hold the data: the other side waits forever
                with self._lock:
                    alive = sink in self._open
                if not alive:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                pair_open = source in self._open or sink in self._open
                self._open.discard(source)
                self._open.discard(sink)
            if pair_open:
                for sock in (source, sink):
                    _close(sock)
