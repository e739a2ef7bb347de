"""Structured logging: one JSON object per line on stderr, written by a background
thread so that a slow log sink never stalls a request."""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import queue
import sys
import time
from typing import Any

import orjson

# Attributes every LogRecord has; anything else was passed through `extra=`.
# uvicorn's color_message repeats the message with terminal escapes.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update((key, value) for key, value in vars(record).items() if key not in _STANDARD)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "info") -> None:
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    # The line is formatted where it is logged (the queue carries finished text, and a
    # traceback survives the hand-over); the thread only writes it.
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.setFormatter(JsonFormatter())
    sink = logging.StreamHandler(sys.stderr)
    sink.setFormatter(logging.Formatter("%(message)s"))
    listener = logging.handlers.QueueListener(records, sink)
    listener.start()
    atexit.register(listener.stop)
    root = logging.getLogger()
    root.handlers[:] = [enqueue]
    root.setLevel(level.upper())
    # uvicorn's own access log would repeat ours without the request id.
    logging.getLogger("uvicorn.access").disabled = True
