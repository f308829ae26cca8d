"""Shared helpers for the repo-level stack configuration tests (tests/test_*.py).

A plain module, not conftest.py, so it cannot clash with the conftest of the
predictors/ or loadgen/ test suites when pytest collects them together.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def require_tool(name: str, package: str) -> str:
    """Path of a CLI the tests need. Missing is a failure, never a skip: CI installs it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not on PATH. These tests need it to check the stack config; "
            f"install it (Debian package `{package}`, as the Makefile/CI does) and re-run.",
            pytrace=False,
        )
    return path


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, (
        f"`{' '.join(proc.args)}` exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


def load_yaml(rel: str):
    with open(REPO / rel, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def env_example() -> dict[str, str]:
    """Variables set in .env.example (NAME=value lines)."""
    out: dict[str, str] = {}
    for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if m:
            value = m.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            out[m.group(1)] = value
    return out
