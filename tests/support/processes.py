"""Server processes for tests: started with their output in a log file, waited for
until their health check answers, and stopped with SIGTERM (SIGKILL if they hang)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def start_logged(command: list[str], *, log_path: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Starts `command` with its stdout and stderr appended to `log_path`."""
    log = open(log_path, "ab")
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_healthy(
    process: subprocess.Popen[bytes], *, name: str, health_url: str, log_path: Path, timeout: float = 30.0, verify: Any = True
) -> None:
    """Returns once `health_url` answers 200. Failing (the process exited, or `timeout`
    passed), the AssertionError names the process by `name` and carries its log; the
    process is left as it is, for the caller to stop. `verify`: httpx's, for an https
    health_url (the test CA's file, or an SSLContext)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited: {log_path.read_text()}")
        try:
            if httpx.get(health_url, timeout=1, verify=verify).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{name} did not come up: {log_path.read_text()}")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 15 s; nothing if it is not running."""
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
