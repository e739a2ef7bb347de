"""Command-line tests run `python -m tokensmith` against a store of their own."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.server import Tokensmith


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Tokensmith:
    """A store shared by one module's tests, used through the command line only."""
    return Tokensmith(tmp_path_factory.mktemp("cli"))


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """A user error: non-zero exit, exactly one line on stderr, no traceback."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tokensmith: ")
    return lines[0]
