"""Prometheus multiprocess mode for `tokensmith serve --workers N`.

Each worker is its own process with its own counters; prometheus_client can add
them up if every worker writes its values to files in one directory, named by
PROMETHEUS_MULTIPROC_DIR before the workers start. The serve command makes a fresh
directory (or empties the one the operator named) and removes its own at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from tokensmith.config import Settings


def prepare_multiprocess_metrics(settings: Settings) -> Path | None:
    if settings.workers <= 1 or not settings.metrics_enabled:
        return None
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if named:
        directory = Path(named)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # values of an earlier run
            stale.unlink()
        return directory
    directory = Path(tempfile.mkdtemp(prefix="tokensmith-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    atexit.register(shutil.rmtree, directory, True)
    return directory
