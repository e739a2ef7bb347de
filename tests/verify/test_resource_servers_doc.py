"""docs/resource-servers.md as it is written: every Python block is either a complete
program (marked `<!-- snippet: FILE -->`) or a fragment (`<!-- fragment -->`); each
program is saved under its file name, started with the shell command the doc gives
right after it, and called with a token from a real tokensmith."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.other_side.conftest import fetch_token
from tests.support.processes import start_logged, stop_process, wait_until_healthy
from tests.support.server import free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "resource-servers.md"
AUDIENCE = "https://orders.example.com"  # the programs' default, as the doc uses it
METADATA = "/.well-known/oauth-protected-resource"
_BLOCK = re.compile(r"(?:<!-- (snippet: (?P<file>[\w.]+)|fragment) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)```", re.S)


def blocks() -> list[tuple[str | None, str, str, bool]]:
    """(file, language, code, marked) for every fenced block, in order."""
    return [(m["file"], m["lang"], m["code"], m.group(1) is not None) for m in _BLOCK.finditer(DOC.read_text())]


def programs() -> list[tuple[str, str, str]]:
    """(file, code, command) of each snippet, the command being the next sh block."""
    found, listed = [], blocks()
    for index, (file, _lang, code, _marked) in enumerate(listed):
        if file:
            command = next(c for _f, lang, c, _m in listed[index + 1 :] if lang == "sh")
            found.append((file, code, command.strip()))
    return found


def test_every_python_block_is_a_program_or_marked_as_a_fragment():
    python = [(file, code, marked) for file, lang, code, marked in blocks() if lang == "python"]

    assert python and all(marked for _file, _code, marked in python)
    for file, code, _marked in python:
        compile(code, file or "<fragment>", "exec")
    assert {file for file, _c, _cmd in programs()} == {"orders_fastapi.py", "orders_flask.py", "orders_django.py", "orders_starlette.py"}


def _command(documented: str, port: int) -> list[str]:
    """The documented command, run with this interpreter's tools on a free port."""
    words = shlex.split(documented.replace("8081", str(port)))
    tools = {"uvicorn": [sys.executable, "-m", "uvicorn"], "flask": [sys.executable, "-m", "flask"], "python": [sys.executable]}
    return tools[words[0]] + words[1:]


@pytest.fixture(scope="module")
def caller(tokensmith):
    return tokensmith.create_client("doc-caller", "--audience", AUDIENCE, scopes=("orders:read", "orders:write"))


@pytest.mark.parametrize(("file", "code", "command"), programs(), ids=[file for file, _c, _cmd in programs()])
def test_each_documented_program_runs_and_protects_its_routes(tmp_path, tokensmith, caller, file, code, command):
    (tmp_path / file).write_text(code)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENSMITH_", "ORDERS_", "DJANGO_", "FLASK_"))}
    env |= {"TOKENSMITH_ISSUER": tokensmith.issuer, "ORDERS_AUDIENCE": AUDIENCE}
    log = tmp_path / "program.log"
    process = start_logged(_command(command, port), log_path=log, cwd=tmp_path, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, name=file, health_url=base + METADATA, log_path=log)
        token = fetch_token(tokensmith, caller, "orders:read")

        granted = httpx.get(base + "/orders", headers={"Authorization": f"Bearer {token}"})
        refused = httpx.get(base + "/orders")
        document = httpx.get(base + METADATA).json()
    finally:
        stop_process(process)

    assert granted.status_code == 200, granted.text
    assert granted.json() == {"orders": [], "client_id": "doc-caller"}
    assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/json")
    assert refused.headers["www-authenticate"] == f'Bearer resource_metadata="{AUDIENCE}{METADATA}"'
    assert document["resource"] == AUDIENCE and document["authorization_servers"] == [tokensmith.issuer]
    assert document["scopes_supported"] == ["orders:read", "orders:write"]
    assert "Traceback" not in log.read_text()
