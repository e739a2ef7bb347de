"""Structured logging: one JSON object per line on stderr.

A line is formatted where it is logged and appended to an in-process buffer; a writer
thread hands the buffer to stderr in one write every `FLUSH_INTERVAL_SECONDS`, or
sooner once `WAKE_LINES` lines are waiting. Logging a line therefore never wakes a
thread (a queue hand-over per line costs a futex wake and a context switch on the
serving core, for every request), and a slow stderr never stalls the event loop:
only the writer waits for it. At exit the buffer is drained, so a clean shutdown
loses no line. Should stderr stall for so long that `MAX_PENDING_LINES` lines pile
up, whoever logs next waits for the writer rather than the process growing without
bound or dropping lines.

The access log of every request (`log_access`) skips `logging`'s LogRecord and
formatter: it queues the line's fields, and the writer makes of them the same JSON
object JsonFormatter would, in a batch, off the request's path.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from typing import IO, Any

import orjson

# Attributes every LogRecord has; anything else was passed through `extra=`.
# uvicorn's color_message repeats the message with terminal escapes.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

FLUSH_INTERVAL_SECONDS = 0.05
WAKE_LINES = 512
MAX_PENDING_LINES = 100_000

_stamp: tuple[int, str] = (-1, "")  # one tuple, read and replaced whole: safe across threads


def timestamp(created: float) -> str:
    """`2026-11-25T19:14:17.123Z`: UTC, milliseconds (the strftime part is made once a second)."""
    global _stamp
    second = int(created)
    cached_second, prefix = _stamp
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _stamp = (second, prefix)
    return f"{prefix}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items() if key not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except orjson.JSONEncodeError:
            # Past orjson's 254 levels (an audit event showing a too-deep claim stored
            # before the claim rules): the standard library writes the same line.
            return json.dumps(entry, default=str, ensure_ascii=False, separators=(",", ":"))


class LineSink:
    """Finished lines, written to a stream by a writer thread in batches."""

    def __init__(
        self,
        stream: IO[str],
        *,
        interval: float = FLUSH_INTERVAL_SECONDS,
        wake_lines: int = WAKE_LINES,
        max_pending: int = MAX_PENDING_LINES,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._wake_lines = wake_lines
        self._max_pending = max_pending
        # Finished lines, or an access line's fields (access_line): append and popleft
        # are thread-safe.
        self._lines: deque[bytes | tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._drained = threading.Condition()
        self._write_lock = threading.Lock()  # one writer at a time: the thread, flush(), close()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_thread()

    def _start_thread(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tokensmith-log-writer", daemon=True)
        self._thread.start()

    def put(self, line: bytes | tuple[Any, ...]) -> None:
        """Queue one finished line (with its newline), or the fields of an access line
        (access_line). Never waits, unless the writer is `max_pending` lines behind."""
        lines = self._lines
        lines.append(line)
        pending = len(lines)
        if pending >= self._wake_lines and not self._wake.is_set():
            self._wake.set()
        if pending > self._max_pending and not self._closed:
            self._wait_for_room()

    def wake(self) -> None:
        """Have the writer write what is queued now rather than at its next tick."""
        if not self._wake.is_set():
            self._wake.set()

    def _wait_for_room(self) -> None:
        self._wake.set()
        with self._drained:
            while len(self._lines) > self._max_pending and not self._closed and self._thread_alive():
                self._drained.wait(0.1)

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                continue

    def flush(self) -> None:
        """Write every line queued so far, now, from the calling thread."""
        with self._write_lock:
            lines = self._lines
            count = len(lines)
            if not count:
                return
            taken = [lines.popleft() for _ in range(count)]
            chunk = b"".join([item if isinstance(item, bytes) else _access_line_or_repr(item) for item in taken])
            try:
                self._write(chunk)
            except (OSError, ValueError):
                pass  # stderr closed or gone: nothing left to tell
        if count > self._max_pending // 2:
            with self._drained:
                self._drained.notify_all()

    def _write(self, chunk: bytes) -> None:
        stream = self._stream
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            binary.write(chunk)
            binary.flush()
        else:  # a text-only stream (a test harness's capture, say)
            stream.write(chunk.decode("utf-8", "replace"))
            stream.flush()

    def close(self) -> None:
        """Stop the writer and write what is left (at exit: no line is lost)."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout=5)
        self.flush()
        with self._drained:
            self._drained.notify_all()

    def after_fork(self) -> None:
        """In a forked child the writer thread does not exist: start a new one. The
        lines queued before the fork are the parent's to write."""
        self._lines = deque()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._drained = threading.Condition()
        if not self._closed:
            self._start_thread()


class SinkHandler(logging.Handler):
    """A logging handler that formats a record where it is logged and queues the line."""

    def __init__(self, sink: LineSink) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.sink.put(line.encode("utf-8", "replace") + b"\n")
        if record.levelno >= logging.WARNING:
            self.sink.wake()  # rare, and an operator may be watching for it

    def flush(self) -> None:
        self.sink.flush()


_sink: LineSink | None = None
access_log = logging.getLogger("tokensmith.access")
_INFO = logging.INFO
_APPEND_NEWLINE = orjson.OPT_APPEND_NEWLINE


def access_line(
    created: float, request_id: str, method: str, path: str, status: int, client_id: str | None, remote: str | None, latency_ms: float
) -> bytes:
    """The JSON line `access_log.info("request", extra=…)` writes through JsonFormatter."""
    return orjson.dumps(
        {"time": timestamp(created), "level": "info", "logger": "tokensmith.access", "event": "request",
         "request_id": request_id, "method": method, "path": path, "status": status, "client_id": client_id,
         "remote": remote, "latency_ms": latency_ms},
        default=str,
        option=_APPEND_NEWLINE,
    )  # fmt: skip


def _access_line_or_repr(fields: tuple[Any, ...]) -> bytes:
    try:
        return access_line(*fields)
    except Exception:
        names = ("time", "request_id", "method", "path", "status", "client_id", "remote", "latency_ms")
        entry = {**dict(zip(names, map(repr, fields), strict=False)), "logger": "tokensmith.access", "event": "request"}
        return orjson.dumps(entry, option=_APPEND_NEWLINE)


def log_access(
    request_id: str, method: str, path: str, status: int, client_id: str | None, remote: str | None, latency_ms: float
) -> None:
    """The access-log line of one request. With our configuration its fields are queued
    and the writer thread makes the line (access_line); otherwise it goes through
    `logging` like any other line."""
    if not access_log.isEnabledFor(_INFO):
        return
    sink = _sink
    if sink is None or access_log.handlers or not access_log.propagate:
        # Not our configuration (a library user, a test): the ordinary way.
        access_log.info(
            "request",
            extra={"request_id": request_id, "method": method, "path": path, "status": status,
                   "client_id": client_id, "remote": remote, "latency_ms": latency_ms},
        )  # fmt: skip
        return
    sink.put((time.time(), request_id, method, path, status, client_id, remote, latency_ms))


def _close_sink() -> None:
    if _sink is not None:
        _sink.close()


def _restart_after_fork() -> None:
    if _sink is not None:
        _sink.after_fork()


def configure_logging(level: str = "info") -> None:
    global _sink
    if _sink is None:
        _sink = LineSink(sys.stderr)
        atexit.register(_close_sink)
        os.register_at_fork(after_in_child=_restart_after_fork)
    handler = SinkHandler(_sink)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would repeat ours without the request id.
    logging.getLogger("uvicorn.access").disabled = True
