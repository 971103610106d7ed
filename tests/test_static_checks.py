"""The linters run with the tests: ruff on everything, mypy on the modules already typed (a list that grows)."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
TYPED = ["workbench/core/fields.py", "workbench/core/recipe.py", "workbench/core/workflow/session.py",
         "workbench/core/train/threads.py", "workbench/core/data/samples.py", "workbench/gui/jobs.py",
         "workbench/gui/platform_check.py", "workbench/core/train/frozen_body.py",
         "workbench/core/train/distributed.py"]


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is a test dependency; install the test extras")
    return exe


def test_ruff_is_clean():
    done = subprocess.run([_tool("ruff"), "check", "workbench", "tests", "benchmarks", "packaging"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_typed_modules_pass_mypy():
    done = subprocess.run([_tool("mypy"), *TYPED], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
