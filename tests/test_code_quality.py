"""The code stays ruff- and mypy-clean: part of the test command so a regression fails CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    result = _run(ruff, "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean() -> None:
    """The package, its tests and the benchmark scripts, in one run with pyproject's [tool.mypy] settings."""
    result = _run(sys.executable, "-m", "mypy", "dualsign", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr
