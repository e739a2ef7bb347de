"""The benchmark's own environment, kept apart from tokensmith's dependencies:
.bench/venv (tokensmith installed editable, plus the peers, matplotlib, py-spy and
granian from bench/requirements.txt), wrk from Debian, and node-oidc-provider from
npm in .bench/oidc_provider. Each step runs again only when its inputs changed.

Runs with any Python 3.11+ (it is what `python bench/run.py` does first)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
STATE = REPO / ".bench"
VENV = STATE / "venv"
OIDC_SOURCE = BENCH_DIR / "peers" / "oidc_provider"
OIDC_DIR = STATE / "oidc_provider"


def _say(message: str) -> None:
    print(f"[bench setup] {message}", file=sys.stderr, flush=True)


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def _run(command: list[str], **kwargs: object) -> None:
    _say(" ".join(command))
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        STATE.mkdir(exist_ok=True)
        _run([sys.executable, "-m", "venv", str(VENV)])
        _run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    stamp = VENV / ".bench-installed"
    wanted = _digest(REPO / "pyproject.toml", BENCH_DIR / "requirements.txt")
    if not stamp.exists() or stamp.read_text() != wanted:
        _run([str(python), "-m", "pip", "install", "--quiet", "-e", str(REPO), "-r", str(BENCH_DIR / "requirements.txt")])
        stamp.write_text(wanted)
    return python


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if not shutil.which("apt-get"):
        raise SystemExit("wrk is missing and apt-get is not available: install wrk (https://github.com/wg/wrk)")
    _run(["apt-get", "update", "-qq"])
    _run(["apt-get", "install", "-y", "-qq", "wrk"])


def ensure_oidc_provider() -> bool:
    """Installs node-oidc-provider into .bench/oidc_provider; False when node or npm
    is missing (the peer is then reported as not run)."""
    if not (shutil.which("node") and shutil.which("npm")):
        return False
    OIDC_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "server.js"):
        shutil.copyfile(OIDC_SOURCE / name, OIDC_DIR / name)
    stamp = OIDC_DIR / ".bench-installed"
    wanted = _digest(OIDC_SOURCE / "package.json")
    if not stamp.exists() or stamp.read_text() != wanted or not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        _run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR)
        stamp.write_text(wanted)
    return True


def ensure_all() -> dict[str, bool]:
    ensure_wrk()
    ensure_venv()
    try:
        node_ok = ensure_oidc_provider()
    except subprocess.CalledProcessError as exc:
        _say(f"npm install failed ({exc}); node-oidc-provider will be reported as not run")
        node_ok = False
    return {"oidc_provider": node_ok}


if __name__ == "__main__":
    print(ensure_all())
