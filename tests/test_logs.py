"""The JSON log (tokensmith/logs.py): lines are queued where they are logged and
written in batches by a writer thread, so logging never wakes a thread per line and
never waits on stderr; every line still arrives, in order, and none is lost when
the process exits."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import threading
import time

from tokensmith.logs import JsonFormatter, LineSink, timestamp


class SlowStream(io.StringIO):
    """A text stream whose writes take `delay` seconds (a slow or blocked stderr)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.writes = 0

    def write(self, text: str) -> int:
        time.sleep(self.delay)
        self.writes += 1
        return super().write(text)


def test_lines_arrive_in_order_in_few_writes() -> None:
    stream = SlowStream(0.0)
    sink = LineSink(stream, interval=0.02)
    for index in range(1000):
        sink.put(b'{"n":%d}\n' % index)
    deadline = time.monotonic() + 5
    while stream.getvalue().count("\n") < 1000 and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    assert [json.loads(line)["n"] for line in stream.getvalue().splitlines()] == list(range(1000))
    assert stream.writes < 20  # batches, not one write per line


def test_logging_does_not_wait_for_a_slow_stderr() -> None:
    stream = SlowStream(0.5)
    sink = LineSink(stream, interval=0.01)
    sink.put(b"first\n")
    time.sleep(0.05)  # the writer is now inside its slow write
    started = time.perf_counter()
    for _ in range(1000):
        sink.put(b"line\n")
    assert time.perf_counter() - started < 0.25
    sink.close()
    assert stream.getvalue().count("\n") == 1001


def test_a_writer_far_behind_makes_loggers_wait_instead_of_growing_or_dropping() -> None:
    stream = SlowStream(0.05)
    sink = LineSink(stream, interval=0.01, max_pending=100)
    done = threading.Event()

    def produce() -> None:
        for _ in range(500):
            sink.put(b"x\n")
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    assert done.wait(10)
    sink.close()
    assert stream.getvalue().count("\n") == 500


def test_no_line_is_lost_at_exit() -> None:
    program = textwrap.dedent(
        """
        import logging
        from tokensmith.logs import configure_logging, log_access
        configure_logging("info")
        for index in range(5000):
            log_access(f"id{index}", "POST", "/v1/api/oauth/token", 200, "c", "127.0.0.1", 0.5)
        logging.getLogger("tokensmith").warning("last words", extra={"n": 1})
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert len(lines) == 5001
    assert [line["request_id"] for line in lines[:-1]] == [f"id{index}" for index in range(5000)]
    assert lines[-1]["event"] == "last words" and lines[-1]["level"] == "warning" and lines[-1]["n"] == 1


def test_access_line_is_the_line_the_logging_path_writes() -> None:
    """log_access builds the same object JsonFormatter makes of access_log.info(...)."""
    program = textwrap.dedent(
        """
        import logging
        from tokensmith import logs
        logs.configure_logging("info")
        fields = dict(request_id="abc", method="POST", path="/oauth2/token", status=401, client_id=None, remote="::1", latency_ms=1.25)
        logs.log_access(*fields.values())
        logs.access_log.info("request", extra=fields)
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    fast, slow = (json.loads(line) for line in done.stderr.splitlines())
    assert list(fast) == list(slow) == ["time", "level", "logger", "event", "request_id", "method", "path", "status", "client_id", "remote", "latency_ms"]
    assert {k: v for k, v in fast.items() if k != "time"} == {k: v for k, v in slow.items() if k != "time"}


def test_log_level_still_applies_to_access_lines() -> None:
    program = "from tokensmith import logs\nlogs.configure_logging('warning')\nlogs.log_access('a','POST','/',200,None,None,1.0)\n"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""


def test_timestamp_matches_the_formatter() -> None:
    import logging

    record = logging.makeLogRecord({"msg": "x"})
    formatted = json.loads(JsonFormatter().format(record))["time"]
    assert formatted == timestamp(record.created)
    assert timestamp(0.999) == "1970-01-01T00:00:00.999Z" and timestamp(1.0) == "1970-01-01T00:00:01.000Z"
