"""The linters run with the tests: ruff on everything; mypy strict on core (pyproject's overrides), gradual on the
window and the CLI. STRICT lists the parts of core already clean; it only grows, until it is all of core."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
STRICT = ["workbench/core/safety", "workbench/core/evaluate", "workbench/core/export", "workbench/core/data",
          "workbench/core/errors.py", "workbench/core/fields.py",
          "workbench/core/recipe.py", "workbench/core/desktop.py",
          "workbench/core/train/frozen_body.py", "workbench/core/train/distributed.py"]
GRADUAL = ["workbench/gui/jobs.py", "workbench/gui/platform_check.py"]


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is a test dependency; install the test extras")
    return exe


def _mypy(paths: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("mypy"), *paths], capture_output=True, text=True, cwd=ROOT)


def test_ruff_is_clean():
    done = subprocess.run([_tool("ruff"), "check", "workbench", "tests", "benchmarks", "packaging"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_core_passes_strict_mypy():
    done = _mypy(STRICT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_window_and_cli_pass_mypy():
    done = _mypy(GRADUAL)
    assert done.returncode == 0, done.stdout + done.stderr

