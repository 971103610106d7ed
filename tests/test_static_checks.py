"""The linters run with the tests: ruff on everything; mypy strict on core (pyproject's overrides), gradual on the
window and the CLI."""

from __future__ import annotations

import pathlib
import subprocess

import pytest
import tomllib

from tests.tools import installed_tool

ROOT = pathlib.Path(__file__).resolve().parents[1]
STRICT = ["workbench/core"]  # strict through pyproject's overrides for workbench.core.*
GRADUAL = ["workbench/gui", "workbench/cli"]
# The flags of mypy --strict that pyproject turns on for core (`strict = true` in an override would turn them on
# for every module checked, the window included).
STRICT_FLAGS = ("disallow_any_generics", "disallow_subclassing_any", "disallow_untyped_calls", "disallow_untyped_defs",
                "disallow_incomplete_defs", "check_untyped_defs", "disallow_untyped_decorators", "warn_unused_ignores",
                "warn_return_any", "no_implicit_reexport", "strict_equality", "extra_checks")


def _tool(name: str) -> str:
    exe = installed_tool(name)
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



def test_core_overrides_stay_strict():
    overrides = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    core = [o for o in overrides if "workbench.core.*" in o["module"]]
    assert len(core) == 1 and all(core[0].get(flag) is True for flag in STRICT_FLAGS), core
    assert not any(o.get("strict") for o in overrides), "strict = true in an override applies to every module"
