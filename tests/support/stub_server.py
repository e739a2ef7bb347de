"""A stub HTTP server for SDK tests: real HTTP on 127.0.0.1:<free port>, every request
recorded, every answer JSON. A subclass says what to answer in `respond`."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# status, JSON payload, extra response headers
Response = tuple[int, Any, dict[str, str]]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class StubHTTPServer:
    """Serves GET and POST from a daemon thread until `stop`. `backlog` is the listen
    queue (socketserver's default is 5)."""

    def __init__(self, *, backlog: int = 5) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                record = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with stub._lock:
                    stub.requests.append(record)
                status, payload, headers = stub.respond(record)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = _handle
            do_POST = _handle

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = backlog

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        self._stopped = False

    def respond(self, request: Recorded) -> Response:
        raise NotImplementedError

    def count(self, path: str | None = None) -> int:
        """Requests so far (to `path` only, if given)."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    def stop(self) -> None:
        """Shut down and free the port: afterwards connections are refused."""
        if not self._stopped:
            self._stopped = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
