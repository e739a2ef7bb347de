"""Paths and small helpers shared by the benchmark modules."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
STATE = REPO / ".bench"  # gitignored: virtual environment, node modules, scratch
VENV = STATE / "venv"
VENV_PYTHON = VENV / "bin" / "python"
VENV_BIN = VENV / "bin"
WRK_DIR = BENCH_DIR / "wrk"
DOCS = REPO / "docs"

# The load generator and the server never share a core (except where a row says so).
LOADGEN_CPU = "0"
SERVER_CPU = "1"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command_output(*command: str) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout or result.stderr).strip()


def load_average() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    """What the run ran on, for the report."""
    cpu_model = ""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu_model:
                cpu_model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    memory_kib = 0
    try:
        match = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        memory_kib = int(match[1]) if match else 0
    except OSError:
        pass
    versions = {}
    probe = (
        "import sys, cryptography, jwt, starlette, uvicorn, orjson;"
        "from cryptography.hazmat.backends.openssl.backend import backend;"
        "import json; print(json.dumps({'python': sys.version.split()[0], 'cryptography': cryptography.__version__,"
        "'openssl': backend.openssl_version_text(), 'pyjwt': jwt.__version__, 'starlette': starlette.__version__,"
        "'uvicorn': uvicorn.__version__, 'orjson': orjson.__version__}))"
    )
    try:
        versions = json.loads(command_output(str(VENV_PYTHON), "-c", probe) or "{}")
    except json.JSONDecodeError:
        versions = {}
    wrk_version = command_output("wrk", "--version").splitlines()
    return {
        "cpu_model": cpu_model,
        "cpus": os.cpu_count(),
        "cpu_flags_of_note": sorted(flags & {"aes", "avx", "avx2", "avx512f", "sha_ni", "adx", "bmi2", "hypervisor"}),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "node": command_output("node", "--version"),
        "wrk": " ".join(wrk_version[0].split()[:2]) if wrk_version else "",
        **versions,
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def have(program: str) -> bool:
    return shutil.which(program) is not None


def replace_section(path: Path, heading: str, text: str, empty: str) -> None:
    """Replaces the section of a Markdown document that starts with `heading` (a
    `## ` line) up to the next `## ` heading, or appends it; `empty` is the document
    to start from when the file does not exist. The rest is left as it is."""
    current = path.read_text() if path.exists() else empty
    start = current.find(f"\n{heading}\n")
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        following = current.find("\n## ", start + len(heading) + 2)
        tail = current[following:] if following != -1 else "\n"
        updated = current[: start + 1] + text.rstrip("\n") + "\n" + tail
    path.write_text(updated)


def ops_rate(batch: Callable[[], int], seconds: float) -> dict[str, float]:
    """Operations per second of `batch` (which does some and says how many), called
    until `seconds` have passed; cpu_share below 1 means something else ran on this
    core meanwhile. The caller warms up first."""
    count = 0
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        count += batch()
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - started
    cpu = time.process_time() - cpu_started
    return {"ops_per_s": count / elapsed, "ops_per_cpu_s": count / cpu, "count": count, "seconds": elapsed, "cpu_share": cpu / elapsed}


def publish(name: str, results: Any, section: str, render: Callable[[Any, str], str], *, write_docs: bool) -> None:
    """Keeps `results` in .bench/NAME.json and, unless told not to, writes their section
    (`render(results, when)`) into docs/benchmarks.md, the rest of it left as it is."""
    STATE.mkdir(exist_ok=True)
    (STATE / f"{name}.json").write_text(json.dumps(results, indent=2))
    if write_docs:
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
        replace_section(DOCS / "benchmarks.md", section, render(results, when), "# Benchmarks\n")
